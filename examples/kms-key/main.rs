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
use kms_key::fleet::{Fleet, FleetEntry};
use kms_key::spec::DeletionWindow;
use kms_key::{ReconcileOptions, Reconciler, Target};

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
    Plan {
        /// A spec JSON file or a Terraform JSON configuration (*.tf.json).
        file: PathBuf,
        #[command(flatten)]
        target: TargetArgs,
        /// Plan restoring a key that is pending deletion instead of refusing.
        #[arg(long)]
        restore: bool,
        /// Keys worked on at once.
        #[arg(long, value_name = "N", default_value_t = Fleet::DEFAULT_CONCURRENCY)]
        concurrency: usize,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make the live keys match the file.
    Apply {
        /// A spec JSON file or a Terraform JSON configuration (*.tf.json).
        file: PathBuf,
        #[command(flatten)]
        target: TargetArgs,
        /// Restore a key that is pending deletion (CancelKeyDeletion) instead of refusing.
        #[arg(long)]
        restore: bool,
        /// Keys worked on at once.
        #[arg(long, value_name = "N", default_value_t = Fleet::DEFAULT_CONCURRENCY)]
        concurrency: usize,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
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
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        window: u8,
    },
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
}

impl Backend {
    async fn open(cli: &Cli) -> Result<Self, String> {
        if cli.aws || cli.endpoint_url.is_some() {
            return open_aws(cli.endpoint_url.as_deref()).await;
        }
        let memory = InMemoryBackend::load_or_new(&cli.state).map_err(|e| e.to_string())?;
        let memory = Arc::new(memory);
        Ok(Self {
            dyn_backend: Arc::new(RateLimited::kms_defaults(memory.clone())),
            memory: Some((memory, cli.state.clone())),
        })
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
    Ok(Backend {
        dyn_backend: Arc::new(RateLimited::kms_defaults(aws)),
        memory: None,
    })
}

#[cfg(not(feature = "aws"))]
async fn open_aws(_endpoint: Option<&str>) -> Result<Backend, String> {
    Err("this build has no AWS backend: rebuild with the `aws` feature (on by default)".to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
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
    match &cli.command {
        Command::Validate { file, json } => {
            let report = match load(file, None) {
                Ok(inputs) => Report::valid(&inputs),
                Err(errors) => Report::invalid(&errors),
            };
            report.print_validate(*json);
            Ok(ExitCode::from(if report.ok() { 0 } else { 1 }))
        }
        Command::Plan {
            file,
            target,
            restore,
            concurrency,
            json,
        } => {
            let Some(inputs) = load_or_report(file, target.name.as_deref(), *json) else {
                return Ok(ExitCode::from(1));
            };
            check_key_id(&inputs, target)?;
            let backend = Backend::open(&cli).await?;
            let fleet = fleet(&backend, *restore, *concurrency);
            let mut out = output::Run::new("plan", *json, names(&inputs));
            let report = fleet
                .plan(entries(&inputs, target), |e| out.on_plan(e))
                .await
                .map_err(|e| e.to_string())?;
            Ok(out.finish_plan(&report))
        }
        Command::Apply {
            file,
            target,
            restore,
            concurrency,
            json,
        } => {
            let Some(inputs) = load_or_report(file, target.name.as_deref(), *json) else {
                return Ok(ExitCode::from(1));
            };
            check_key_id(&inputs, target)?;
            let backend = Backend::open(&cli).await?;
            let fleet = fleet(&backend, *restore, *concurrency);
            let mut out = output::Run::new("apply", *json, names(&inputs));
            let report = fleet
                .apply(entries(&inputs, target), |e| out.on_apply(e))
                .await;
            // Saved whatever happened: partial changes are real changes.
            backend.save()?;
            let report = report.map_err(|e| e.to_string())?;
            Ok(out.finish_apply(&report))
        }
        Command::Import { key_id, json } => {
            let backend = Backend::open(&cli).await?;
            let reconciler = Reconciler::new(backend.dyn_backend.clone());
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
            let Some(window) = DeletionWindow::new(*window) else {
                eprintln!("error: --window: {window} days is outside the 7 to 30 days KMS allows");
                return Ok(ExitCode::from(1));
            };
            let t = match (&target.key_id, &target.name) {
                (Some(id), _) => Target::key_id(id),
                (None, Some(n)) => Target::name(n),
                (None, None) => unreachable!("clap requires one"),
            };
            let backend = Backend::open(&cli).await?;
            let reconciler = Reconciler::new(backend.dyn_backend.clone());
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
                    println!(
                        "{t}: key {} was already pending deletion; nothing to do",
                        d.key_id
                    );
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

fn load_or_report(file: &std::path::Path, name: Option<&str>, json: bool) -> Option<Inputs> {
    match load(file, name) {
        Ok(inputs) => Some(inputs),
        Err(errors) => {
            Report::invalid(&errors).print_validate(json);
            None
        }
    }
}

fn check_key_id(inputs: &Inputs, target: &TargetArgs) -> Result<(), String> {
    if target.key_id.is_some() && inputs.keys.len() != 1 {
        return Err(format!(
            "--key-id targets one key, but the file describes {}; use --name to pick one",
            inputs.keys.len()
        ));
    }
    Ok(())
}

fn fleet(backend: &Backend, restore: bool, concurrency: usize) -> Fleet {
    // The backend is already rate limited (see Backend::open).
    Fleet::new(Reconciler::new(backend.dyn_backend.clone()))
        .concurrency(concurrency)
        .options(ReconcileOptions::restore(restore))
}

fn names(inputs: &Inputs) -> Vec<String> {
    inputs.keys.iter().map(|k| k.name.clone()).collect()
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
