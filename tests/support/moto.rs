//! A `moto_server` process for tests of the AWS wire path.
//!
//! ```ignore
//! mod support;
//! use support::moto;
//!
//! // One server per test binary, started on first use; a fresh backend per test.
//! let backend = moto::backend();
//!
//! // A private server (an account nobody else touches), killed when dropped.
//! let server = moto::MotoServer::start();
//! server.reset();
//! let backend = server.backend();
//! ```
//!
//! The shared server is used by tests running in parallel: a test on it must create its own
//! keys and never assume an empty account (or call `reset`). A test that needs an empty
//! account starts a private server.
//!
//! A missing `moto_server` fails the test with the install command; it never skips. Set
//! `MOTO_SERVER` to use another executable than the `moto_server` on `PATH`.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kms::config::{Credentials, SharedCredentialsProvider};
use kms_key::backend::aws::AwsBackend;

/// How to install the pinned moto.
pub const INSTALL: &str = "python3 -m pip install 'moto[server]==5.2.5'";
/// The account moto puts every key in.
pub const ACCOUNT_ID: &str = "123456789012";
/// The Region the backends built here call.
pub const REGION: &str = "us-east-1";
/// How long moto may take to answer after it is started: importing moto is slow, and on a
/// busy two-core machine slower still.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How often to try another port when the one picked was taken before moto could bind it.
const PORT_ATTEMPTS: usize = 3;

/// The one server of this test binary, started by [`MotoServer::shared`].
static SHARED: OnceLock<MotoServer> = OnceLock::new();

/// A running `moto_server` on a loopback port. Killed when dropped; the shared one (which a
/// `static` never drops) is killed by a watchdog when the test process exits.
pub struct MotoServer {
    child: Child,
    watchdog: Child,
    port: u16,
    log: PathBuf,
}

impl MotoServer {
    /// Starts a private server and waits until it answers.
    ///
    /// # Panics
    ///
    /// When `moto_server` cannot be started (with the install command), or does not answer
    /// within a minute (with its log).
    pub fn start() -> Self {
        let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
        let mut last_log = String::new();
        for _ in 0..PORT_ATTEMPTS {
            let port = free_port();
            let log = std::env::temp_dir()
                .join(format!("kms-key-moto-{}-{port}.log", std::process::id()));
            // moto logs every request: into a file, as a pipe nobody reads would fill and
            // block it.
            let log_file = File::create(&log).expect("create the moto log file");
            let spawned = Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("clone the moto log file"))
                .stderr(log_file)
                .spawn();
            let child = match spawned {
                Ok(child) => child,
                Err(e) => {
                    let _ = std::fs::remove_file(&log);
                    panic!(
                        "cannot start `{program}` ({e}): moto is needed for the AWS wire tests. \
                         Install it with: {INSTALL} (or set MOTO_SERVER to its path)"
                    )
                }
            };
            let watchdog = match watchdog(child.id(), &log) {
                Ok(watchdog) => watchdog,
                Err(e) => {
                    let mut child = child;
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("cannot start the moto watchdog (sh): {e}");
                }
            };
            let mut server = Self {
                child,
                watchdog,
                port,
                log,
            };
            match server.wait_until_ready() {
                Ok(()) => return server,
                // Someone took the port between our probe and moto's bind: try another.
                Err(log) if log.contains("Address already in use") => last_log = log,
                Err(log) => panic!(
                    "`{program}` did not answer on port {port} within {START_TIMEOUT:?}; \
                     its output:\n{log}\n(install the pinned version with: {INSTALL})"
                ),
            }
        }
        panic!("moto_server found no free port in {PORT_ATTEMPTS} attempts:\n{last_log}")
    }

    /// The server of this test binary, started on first use and shared by all its tests.
    ///
    /// # Panics
    ///
    /// As [`MotoServer::start`].
    pub fn shared() -> &'static Self {
        SHARED.get_or_init(Self::start)
    }

    /// The port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The endpoint URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An AWS configuration for this server: static test credentials, Region
    /// [`REGION`], the server's endpoint.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "moto",
            )))
            .endpoint_url(self.endpoint())
            .build()
    }

    /// A new backend for this server (as a caller builds one: [`AwsBackend::from_conf`]).
    ///
    /// Build one per test: an SDK client keeps connections tied to the Tokio runtime that
    /// opened them, and every `#[tokio::test]` has its own runtime.
    pub fn backend(&self) -> AwsBackend {
        AwsBackend::from_conf(&self.sdk_config())
    }

    /// Deletes everything on the server (`POST /moto-api/reset`). Only for a private server:
    /// on the shared one it would delete other tests' keys under their feet.
    ///
    /// # Panics
    ///
    /// When moto does not answer 200.
    pub fn reset(&self) {
        let status = self
            .request("POST", "/moto-api/reset")
            .expect("POST /moto-api/reset");
        assert_eq!(status, 200, "POST /moto-api/reset answered HTTP {status}");
    }

    /// Polls until the server answers an HTTP request; `Err(log)` when it exited or did not
    /// answer in time.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("(exited with {status})\n{}", self.read_log()));
            }
            // Any HTTP answer means werkzeug is serving; GET / does not change anything.
            if self.request("GET", "/").is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(self.read_log())
    }

    /// Sends a bodiless HTTP/1.1 request and answers the status code.
    fn request(&self, method: &str, path: &str) -> std::io::Result<u16> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n",
            self.port
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        // "HTTP/1.1 200 OK"
        answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {answer:?}")))
    }

    fn read_log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Errors mean the process is gone already, which is what we want.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A port that was free a moment ago (the kernel's pick for port 0).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// A shell loop that kills `moto_pid` (and removes its log) once this test process is
/// gone: the shared server lives in a `static`, which Rust never drops, and a panicking or
/// aborted test binary must not leave moto running either.
fn watchdog(moto_pid: u32, log: &Path) -> std::io::Result<Child> {
    Command::new("sh")
        .args([
            "-c",
            r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -9 "$2"; rm -f "$3""#,
            "moto-watchdog",
            &std::process::id().to_string(),
            &moto_pid.to_string(),
        ])
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// A new backend on this test binary's shared server: the constructor expression to hand to
/// backend-generic test suites.
pub fn backend() -> AwsBackend {
    MotoServer::shared().backend()
}
