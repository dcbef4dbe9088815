//! Running the `kms-key` example CLI (examples/kms-key) as a child process.
//!
//! ```ignore
//! mod support;
//! use support::cli::{Workdir, seed};
//!
//! let dir = Workdir::new("apply_creates");          // a fresh, empty working directory
//! let out = dir.run(&["apply", &seed("a.json"), "--json"]);
//! assert_eq!(out.code, 0);
//! ```
//!
//! # Where the binary comes from
//!
//! The example is built into `target/<profile>/examples/kms-key`, next to the `deps/`
//! directory that holds this test executable, so it is found from
//! [`std::env::current_exe`]: `deps/..` → `examples/kms-key`.
//!
//! Plain `cargo test` builds examples, but `cargo test --test cli` (any target selection)
//! does not, and would run whatever binary an earlier build left there. So before the first
//! run, each test binary runs `cargo build --profile test --example kms-key` once, with the
//! features this test binary was built with. After a plain `cargo test` that is a no-op
//! (same profile, same features: the artifacts are shared); after `--test cli` it builds
//! just the example. The path cargo reports for the executable must be the one next to the
//! test executable, or the test fails saying so.
//!
//! # Environment of the child
//!
//! Every `AWS_*` variable of the test process is removed (an `AWS_ENDPOINT_URL` would send
//! the in-memory tests to AWS; an `AWS_PROFILE` would pick up someone's credentials), and so
//! is `RUST_LOG` (its tracing output would land in the stderr the tests compare). AWS runs
//! get only what [`Workdir::run_aws`] sets: static test credentials, Region `us-east-1`,
//! config and credential files that do not exist (a developer's `~/.aws` never applies) and
//! no instance metadata lookups (no real network).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

/// The Region of every AWS run (moto's keys live in it).
pub const REGION: &str = "us-east-1";

/// `examples/seed/<name>`, resolved from the crate root so the tests run from any directory.
pub fn seed(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/seed")
        .join(name)
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

/// What one run of the CLI did.
#[derive(Debug)]
pub struct Output {
    /// The exit status (panics at construction if the child was killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// One successful first attempt, as `api_calls` lists it once [`without_durations`] ran.
pub fn call(operation: &str, key_id: Option<&str>) -> Value {
    json!({"operation": operation, "key_id": key_id, "attempt": 1, "error": null})
}

/// Removes every `api_calls[].duration_ms` (a measured time, so never an exact value) after
/// checking that it is a time: a non-negative number of milliseconds.
pub fn without_durations(mut v: Value) -> Value {
    fn strip(calls: &mut Vec<Value>) {
        for c in calls {
            let ms = c
                .as_object_mut()
                .expect("an api_calls entry is an object")
                .remove("duration_ms")
                .expect("every api_calls entry has duration_ms");
            assert!(ms.as_f64().is_some_and(|ms| ms >= 0.0), "duration_ms {ms}");
        }
    }
    if let Some(calls) = v.get_mut("index_calls").and_then(Value::as_array_mut) {
        strip(calls);
    }
    for key in v["keys"].as_array_mut().expect("a keys array") {
        if let Some(calls) = key.get_mut("api_calls").and_then(Value::as_array_mut) {
            strip(calls);
        }
    }
    v
}

#[track_caller]
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.code, code,
        "exit code; stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

/// A fresh working directory for one test; the CLI's default state file
/// (`.kms-key/state.json`) lands in it.
pub struct Workdir {
    path: PathBuf,
}

impl Workdir {
    /// `CARGO_TARGET_TMPDIR/cli/<name>`, emptied first. Named (not random) so that reruns
    /// reuse it instead of piling up directories, and the state a failed test left behind
    /// stays there to look at. Names must be unique across the tests of all binaries.
    pub fn new(name: &str) -> Self {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("cli")
            .join(name);
        match std::fs::remove_dir_all(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("cannot empty {}: {e}", path.display()),
        }
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory, as a string argument.
    pub fn file(&self, name: &str) -> String {
        self.path
            .join(name)
            .to_str()
            .expect("a UTF-8 path")
            .to_owned()
    }

    /// Writes `text` into `name` in the directory; answers its path.
    pub fn write(&self, name: &str, text: &str) -> String {
        let path = self.file(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        path
    }

    /// Runs the CLI in this directory with the in-memory backend (no AWS variables at all).
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    /// Runs the CLI in this directory with static test credentials for an AWS endpoint
    /// (pass `--endpoint-url` in `args`).
    pub fn run_aws(&self, args: &[&str]) -> Output {
        let missing = self.file("no-such-aws-file");
        self.run_with(
            args,
            &[
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
                ("AWS_REGION", REGION),
                ("AWS_CONFIG_FILE", &missing),
                ("AWS_SHARED_CREDENTIALS_FILE", &missing),
                ("AWS_EC2_METADATA_DISABLED", "true"),
            ],
        )
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new(binary());
        command
            .args(args)
            .current_dir(&self.path)
            .stdin(Stdio::null())
            .env_remove("RUST_LOG");
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        command.envs(env.iter().copied());
        let out = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
        Output {
            code: out
                .status
                .code()
                .unwrap_or_else(|| panic!("kms-key {args:?} was killed: {}", out.status)),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// Variables cargo sets for the test process (besides `CARGO_PKG_*` and `CARGO_BIN_EXE_*`).
const CARGO_RUNTIME_VARS: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

/// The example binary, built (or found fresh) once per test binary; see the module docs.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build_example)
}

fn build_example() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in <target>/<profile>/deps");
    let expected = profile_dir
        .join("examples")
        .join(format!("kms-key{}", std::env::consts::EXE_SUFFIX));

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let mut command = Command::new(&cargo);
    command
        .args(["build", "--profile", "test", "--example", "kms-key"])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    // Cargo sets these for the test process, describing this package; a cargo started with
    // them sees changed inputs: ring's build script tracks CARGO_MANIFEST_DIR, so the nested
    // build would rebuild ring and the AWS SDK above it (and the next outer build would
    // rebuild them back).
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if CARGO_RUNTIME_VARS.contains(&name.as_ref())
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
        {
            command.env_remove(name.as_ref());
        }
    }
    // Exactly the features this test binary was built with (`default` counts: it is part of
    // the artifacts' fingerprint), so that the build reuses the test run's artifacts.
    if !cfg!(feature = "default") {
        command.arg("--no-default-features");
    }
    if cfg!(feature = "aws") {
        command.args(["--features", "aws"]);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{cargo} build --example kms-key`: {e}"));
    assert!(
        out.status.success(),
        "`cargo build --example kms-key` failed ({}); its diagnostics are above",
        out.status
    );
    let built = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "kms-key")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported no executable for the kms-key example");
    assert_eq!(
        built, expected,
        "cargo built the example elsewhere than next to this test executable \
         (another --target-dir or --target than this test run's?)"
    );
    built
}
