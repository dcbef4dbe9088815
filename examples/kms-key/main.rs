//! `kms-key`: the example command line over the kms-key crate.
//!
//! ```text
//! cargo run --example kms-key -- validate FILE [--json]
//! cargo run --example kms-key -- plan FILE [--key-id ID | --name NAME] [--restore] [--concurrency N] [--json]
//! cargo run --example kms-key -- apply FILE [--key-id ID | --name NAME] [--restore] [--concurrency N] [--json]
//! cargo run --example kms-key -- import KEY_ID [--json]
//! cargo run --example kms-key -- destroy (--key-id ID | --name NAME) [--window DAYS]
//! ```
//!
//! The backend is the in-memory KMS persisted in `.kms-key/state.json` (`--state PATH`), or
//! AWS KMS with `--aws` or `--endpoint-url URL` (also `AWS_ENDPOINT_URL`), using the standard
//! region and credential chain. Every call goes through a rate limiter at KMS's published
//! request quotas (CreateKey 5/s, ...), whichever the backend.
//!
//! `plan` and `apply` work on every key of the file at once (`--concurrency`, default 16): the
//! logical names are resolved by one scan of the account, each key gets its own result, and
//! progress is printed on stderr as keys finish.
//!
//! Exit status: 0 done, 1 invalid input or refused plan, 2 backend failure.

mod input;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use kms_key::backend::KmsBackend;
use kms_key::backend::memory::InMemoryBackend;
use kms_key::backend::rate_limit::RateLimited;
use kms_key::fleet::{Fleet, FleetEntry, FleetError};
use kms_key::spec::DeletionWindow;
use kms_key::{Budget, ReconcileOptions, Reconciler, RetryPolicy, Target};

use crate::input::{Inputs, load};
use crate::output::{Report, exit_for};

#[derive(Debug, Parser)]
#[command(name = "kms-key", version, about = "Manage AWS KMS keys as code", long_about = None)]
struct Cli {
    /// The in-memory KMS state file (when not talking to AWS).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        default_value = ".kms-key/state.json"
    )]
    state: PathBuf,
    /// Talk to AWS KMS (standard region and credential chain).
    #[arg(long, global = true)]
    aws: bool,
    /// Talk to a KMS-compatible endpoint (moto, LocalStack) instead; implies --aws.
    #[arg(long, global = true, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    endpoint_url: Option<String>,
    /// In-memory KMS only: an IAM principal (ARN) that exists, so policies may name it
    /// (repeatable; remembered in the state file). The account root always exists.
    #[arg(long = "known-principal", global = true, value_name = "ARN")]
    known_principals: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a spec file without calling KMS.
    Validate {
        /// A spec JSON file or a Terraform JSON configuration (*.tf.json).
        file: PathBuf,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what apply would change.
    Plan(RunArgs),
    /// Make the live keys match the file.
    Apply(RunArgs),
    /// Print a spec file that matches a live key (its plan is empty).
    Import {
        /// The key id or ARN.
        key_id: String,
        /// Print {"key_id": ..., "spec": ...} instead of the bare spec file.
        #[arg(long)]
        json: bool,
    },
    /// Schedule a key's deletion (never immediate).
    Destroy {
        #[command(flatten)]
        target: RequiredTargetArgs,
        /// Days before KMS deletes the key (7-30).
        #[arg(
            long,
            value_name = "DAYS",
            default_value_t = 30,
            allow_negative_numbers = true
        )]
        window: i64,
    },
}

/// What `plan` and `apply` take.
#[derive(Debug, Args)]
struct RunArgs {
    /// A spec JSON file or a Terraform JSON configuration (*.tf.json).
    file: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
    /// Restore a key that is pending deletion (CancelKeyDeletion) instead of refusing.
    #[arg(long)]
    restore: bool,
    /// Create a new key even though a key with the same name is pending deletion (that
    /// one stays scheduled for deletion, with the data encrypted under it).
    #[arg(long, conflicts_with = "restore")]
    new_key: bool,
    /// Keys worked on at once (at least 1).
    #[arg(
        long,
        value_name = "N",
        default_value_t = Fleet::DEFAULT_CONCURRENCY,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
    )]
    concurrency: usize,
    /// Print machine-readable JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[group(multiple = false)]
struct TargetArgs {
    /// Target an existing key by id or ARN (never creates).
    #[arg(long, value_name = "ID")]
    key_id: Option<String>,
    /// The logical name (default: the file's stem, or each resource name of a .tf.json).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct RequiredTargetArgs {
    /// The key id or ARN.
    #[arg(long, value_name = "ID")]
    key_id: Option<String>,
    /// The logical name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

/// Where keys live for this run, and how to persist them afterwards.
struct Backend {
    dyn_backend: Arc<dyn KmsBackend>,
    memory: Option<(Arc<InMemoryBackend>, PathBuf)>,
    /// Held while the in-memory state is in use: two runs on one file would lose writes.
    _lock: Option<StateLock>,
}

/// An exclusive lock on a state file: `<state>.lock`, created atomically, removed on drop.
struct StateLock(PathBuf);

impl StateLock {
    fn acquire(state: &std::path::Path) -> Result<Self, String> {
        if let Some(dir) = state.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let mut name = state.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                use std::io::Write as _;
                let _ = writeln!(f, "{}", std::process::id());
                Ok(Self(path))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                Err(format!(
                    "another kms-key run (pid {}) is using {}; wait for it, or delete {} if no run is active",
                    holder.trim(),
                    state.display(),
                    path.display()
                ))
            }
            Err(e) => Err(format!("cannot lock {}: {e}", path.display())),
        }
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A seed for a new store's key ids, so two fresh state files do not hand out the same ids.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

impl Backend {
    /// Opens the backend; `writes`: the command may change keys, so the in-memory state is
    /// locked for the run (reads need no lock: the state file is replaced atomically).
    async fn open(cli: &Cli, writes: bool) -> Result<Self, String> {
        if cli.aws || cli.endpoint_url.is_some() {
            return open_aws(cli.endpoint_url.as_deref()).await;
        }
        let lock = if writes {
            Some(StateLock::acquire(&cli.state)?)
        } else {
            None
        };
        let memory = if cli.state.exists() {
            InMemoryBackend::load(&cli.state).map_err(|e| e.to_string())?
        } else {
            InMemoryBackend::builder().seed(fresh_seed()).build()
        };
        memory.add_known_principals(cli.known_principals.iter().cloned());
        let memory = Arc::new(memory);
        Ok(Self {
            dyn_backend: Arc::new(RateLimited::kms_defaults(memory.clone())),
            memory: Some((memory, cli.state.clone())),
            _lock: lock,
        })
    }

    /// A reconciler for this backend. In memory, a principal that is not known never appears by
    /// waiting, so IAM propagation is not waited for there.
    fn reconciler(&self) -> Reconciler {
        let r = Reconciler::new(self.dyn_backend.clone());
        if self.memory.is_some() {
            r.with_retry_policy(RetryPolicy::default().propagation(Budget::NONE))
        } else {
            r
        }
    }

    /// Persists the in-memory store, whatever happened: partial changes are real changes.
    fn save(&self) -> Result<(), String> {
        let Some((m, path)) = &self.memory else {
            return Ok(());
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        m.save(path).map_err(|e| e.to_string())
    }
}

#[cfg(feature = "aws")]
async fn open_aws(endpoint: Option<&str>) -> Result<Backend, String> {
    use kms_key::backend::aws::AwsBackend;
    let aws = match endpoint {
        Some(url) => AwsBackend::from_env_with_endpoint(url).await,
        None => AwsBackend::from_env().await,
    };
    if aws.region().is_none() {
        return Err(
            "no AWS Region is configured: set AWS_REGION (or a region in your AWS profile)"
                .to_owned(),
        );
    }
    Ok(Backend {
        dyn_backend: Arc::new(RateLimited::kms_defaults(aws)),
        memory: None,
        _lock: None,
    })
}

#[cfg(not(feature = "aws"))]
async fn open_aws(_endpoint: Option<&str>) -> Result<Backend, String> {
    Err("this build has no AWS backend: rebuild with the `aws` feature (on by default)".to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap exits 2 on a usage error, but 2 here means a backend failure: a bad command
            // line is invalid input (1). --help and --version keep clap's 0.
            let _ = e.print();
            return ExitCode::from(if e.exit_code() == 0 { 0 } else { 1 });
        }
    };
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .init();
    }
    match run(cli).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    if (cli.aws || cli.endpoint_url.is_some()) && !cli.known_principals.is_empty() {
        eprintln!(
            "error: --known-principal declares principals to the in-memory KMS only; AWS knows its own (drop it, or drop --aws / --endpoint-url)"
        );
        return Ok(ExitCode::from(1));
    }
    match &cli.command {
        Command::Validate { file, json } => {
            let report = match load(file, None).and_then(|i| i.check_names().map(|()| i)) {
                Ok(inputs) => Report::valid(&inputs),
                Err(errors) => Report::invalid(&errors),
            };
            report.print_validate(*json);
            Ok(ExitCode::from(if report.ok() { 0 } else { 1 }))
        }
        Command::Plan(args) => {
            let (inputs, _backend, fleet, mut out) = match prepare(&cli, args, "plan").await? {
                Ok(ready) => ready,
                Err(code) => return Ok(code),
            };
            match fleet
                .plan(entries(&inputs, &args.target), |e| out.on_plan(e))
                .await
            {
                Ok(report) => Ok(out.finish_plan(&report)),
                Err(FleetError::Index(e)) => Ok(out.finish_all_failed(&e)),
                Err(e) => Err(e.to_string()),
            }
        }
        Command::Apply(args) => {
            let (inputs, backend, fleet, mut out) = match prepare(&cli, args, "apply").await? {
                Ok(ready) => ready,
                Err(code) => return Ok(code),
            };
            // Plan every key first, as Terraform does: if any key's plan is refused (or cannot
            // be made), nothing is written, and the plans say why.
            let planned = match fleet
                .plan(entries(&inputs, &args.target), |e| out.on_plan_for_apply(e))
                .await
            {
                Ok(report) => report,
                Err(FleetError::Index(e)) => return Ok(out.finish_all_failed(&e)),
                Err(e) => return Err(e.to_string()),
            };
            if !planned.is_success() {
                return Ok(out.finish_refused(&planned));
            }
            let index_calls = planned.index_calls.clone();
            let plans = planned
                .results
                .into_iter()
                .filter_map(|r| r.result.ok())
                .collect();
            let report = fleet.apply_plans(plans, |e| out.on_apply(e)).await;
            // Saved whatever happened: partial changes are real changes.
            backend.save()?;
            Ok(out.finish_apply(&report, &index_calls))
        }
        Command::Import { key_id, json } => {
            let backend = Backend::open(&cli, false).await?;
            let reconciler = backend.reconciler();
            match reconciler.import(key_id).await {
                Ok(spec) => {
                    output::print_import(key_id, &spec, *json);
                    if let Ok(meta) = backend.dyn_backend.list_resource_tags(key_id, None).await
                        && let Some(t) = meta
                            .tags
                            .iter()
                            .find(|t| t.key == kms_key::spec::OWNERSHIP_TAG_KEY)
                    {
                        eprintln!(
                            "note: this key carries the logical name {:?}: apply the spec with --name {} (or --key-id {key_id})",
                            t.value, t.value
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(exit_for(&e))
                }
            }
        }
        Command::Destroy { target, window } => {
            let Some(window) = u8::try_from(*window).ok().and_then(DeletionWindow::new) else {
                eprintln!("error: --window: {window} days is outside the 7 to 30 days KMS allows");
                return Ok(ExitCode::from(1));
            };
            let t = match (&target.key_id, &target.name) {
                (Some(id), _) => Target::key_id(id),
                (None, Some(n)) => Target::name(n),
                (None, None) => unreachable!("clap requires one"),
            };
            let backend = Backend::open(&cli, true).await?;
            let reconciler = backend.reconciler();
            let r = reconciler.destroy(&t, window).await;
            backend.save()?;
            match r {
                Ok(d) if d.scheduled => {
                    println!(
                        "{t}: key {} scheduled for deletion in {} days{}",
                        d.key_id,
                        window.days(),
                        d.deletion_date
                            .map(|d| format!(" (on {d})"))
                            .unwrap_or_default()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Ok(d) => {
                    let id = match &t {
                        Target::Name(_) => format!(" (key {})", d.key_id),
                        _ => String::new(),
                    };
                    println!("{t}{id} was already pending deletion; nothing to do");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(exit_for(&e))
                }
            }
        }
    }
}

/// Reads FILE and opens the backend for `plan` (read only) or `apply` (locks the state);
/// `Ok(Err(code))` when the input is refused (already reported).
async fn prepare(
    cli: &Cli,
    args: &RunArgs,
    verb: &'static str,
) -> Result<Result<(Inputs, Backend, Fleet, output::Run), ExitCode>, String> {
    let Some(inputs) = load_or_report(&args.file, args.target.name.as_deref(), args.json) else {
        return Ok(Err(ExitCode::from(1)));
    };
    if let Err(code) = check_key_id(&inputs, &args.target) {
        return Ok(Err(code));
    }
    if args.target.key_id.is_none()
        && let Err(errors) = inputs.check_names()
    {
        Report::invalid(&errors).print_validate(args.json);
        return Ok(Err(ExitCode::from(1)));
    }
    let backend = Backend::open(cli, verb == "apply").await?;
    let options = ReconcileOptions::restore(args.restore).with_new_key_while_pending(args.new_key);
    let fleet = fleet(&backend, options, args.concurrency);
    let out = output::Run::new(verb, args.json, &inputs, backend.memory.is_some());
    Ok(Ok((inputs, backend, fleet, out)))
}

fn load_or_report(file: &std::path::Path, name: Option<&str>, json: bool) -> Option<Inputs> {
    match load(file, name) {
        Ok(inputs) => Some(inputs),
        Err(errors) => {
            Report::invalid(&errors).print_validate(json);
            None
        }
    }
}

/// `--key-id` names one key, so the file must describe exactly one. A mismatch is invalid
/// input (exit 1), reported before any backend is opened.
fn check_key_id(inputs: &Inputs, target: &TargetArgs) -> Result<(), ExitCode> {
    if target.key_id.is_some() && inputs.keys.len() != 1 {
        eprintln!(
            "error: --key-id targets one key, but the file describes {}; use --name to pick one",
            inputs.keys.len()
        );
        return Err(ExitCode::from(1));
    }
    Ok(())
}

fn fleet(backend: &Backend, options: ReconcileOptions, concurrency: usize) -> Fleet {
    // The backend is already rate limited (see Backend::open).
    Fleet::new(backend.reconciler())
        .concurrency(concurrency)
        .options(options)
}

fn entries(inputs: &Inputs, target: &TargetArgs) -> Vec<FleetEntry> {
    inputs
        .keys
        .iter()
        .map(|k| FleetEntry::new(target_for(target, &k.name), k.spec.clone()))
        .collect()
}

fn target_for(args: &TargetArgs, name: &str) -> Target {
    match &args.key_id {
        Some(id) => Target::key_id(id),
        None => Target::name(name),
    }
}
