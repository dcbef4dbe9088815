//! API calls and wall time per scenario against the in-memory backend with 20 ms of injected
//! latency per call: this crate versus a replay of the calls Terraform's AWS provider makes for
//! the same scenario (`aws_kms_key`, internal/service/kms/key.go and tags_gen.go), and a fleet
//! create on the quota-enforcing backend.
//!
//! # Clocks
//! The tables run on Tokio's paused clock (virtual time): each injected latency and each sleep
//! advances the clock by exactly its length, and CPU time does not count. Both sides of every
//! comparison run on that same clock. The criterion group `scenarios_real_time` then times this
//! crate's side on the real clock. With `KMS_KEY_BENCH_REAL_TIME=1` the Terraform replay and a
//! 50-key quota-bound fleet also run once on the real clock (about 70 s of sleeping).
//!
//! # The Terraform replay
//! A scripted list of backend calls and sleeps, following the provider's source: polls use its
//! `WaitUntil` (`StateChangeConf` with `ContinuousTargetOccurence`: consecutive matching reads,
//! `MinTimeout` apart). The in-memory backend answers the new state at once, so every read
//! matches and each poll makes its fewest reads. A plan/refresh before an update or destroy
//! reads the four facets (DescribeKey, GetKeyPolicy, GetKeyRotationStatus, ListResourceTags),
//! as the provider's Read does. A second, smaller table replays the provider as issue 6
//! summarizes it (only the policy and tag polls after a create and the state poll after a
//! disable), which makes fewer polls than the source does.

use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group};
use kms_key::backend::memory::InMemoryBackend;
use kms_key::backend::rate_limit::Quotas;
use kms_key::backend::{CreateKeyRequest, ErrorKind, KmsBackend, Operation, Tag};
use kms_key::fleet::{Fleet, FleetEntry};
use kms_key::spec::DeletionWindow;
use kms_key::{KmsKeySpec, ReconcileOptions, Reconciler, ResolvedName, Target};
use tokio::runtime::Runtime;
use tokio::time::Instant;

use Operation::*;

const LATENCY: Duration = Duration::from_millis(20);
const ROLE: &str = "arn:aws:iam::111122223333:role/AppRole";
const NAME: &str = "orders";

fn policy(actions: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"App","Effect":"Allow","Principal":{{"AWS":"{ROLE}"}},"Action":[{actions}],"Resource":"*"}}]}}"#
    )
}

const ACTIONS: &str = r#""kms:Encrypt","kms:Decrypt""#;
const ACTIONS_CHANGED: &str = r#""kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*""#;
const DESCRIPTION: &str = "orders data key";
const DESCRIPTION_CHANGED: &str = "orders data key (v2)";

/// Create with policy, tags and rotation.
fn spec() -> KmsKeySpec {
    KmsKeySpec::builder()
        .description(DESCRIPTION)
        .policy(policy(ACTIONS))
        .enable_key_rotation(true)
        .tag("team", "orders")
        .tag("env", "prod")
        .build()
        .expect("valid")
}

/// Change description + policy + disable.
fn changed() -> KmsKeySpec {
    spec()
        .to_builder()
        .description(DESCRIPTION_CHANGED)
        .policy(policy(ACTIONS_CHANGED))
        .is_enabled(false)
        .build()
        .expect("valid")
}

fn backend() -> InMemoryBackend {
    InMemoryBackend::builder()
        .known_principals([ROLE])
        .latency(LATENCY)
        .build()
}

fn runtime(paused: bool) -> Runtime {
    let mut b = tokio::runtime::Builder::new_current_thread();
    b.enable_all();
    if paused {
        b.start_paused(true);
    }
    b.build().expect("runtime")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    Create,
    Noop,
    Change,
    Destroy,
}

impl Scenario {
    const ALL: [Scenario; 4] = [
        Scenario::Create,
        Scenario::Noop,
        Scenario::Change,
        Scenario::Destroy,
    ];

    fn label(self) -> &'static str {
        match self {
            Scenario::Create => "create with policy, tags, rotation",
            Scenario::Noop => "no-op",
            Scenario::Change => "change description + policy + disable",
            Scenario::Destroy => "destroy",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Scenario::Create => "create",
            Scenario::Noop => "noop",
            Scenario::Change => "change",
            Scenario::Destroy => "destroy",
        }
    }

    /// The fewest calls the KMS API allows: the reads that observe every facet the spec
    /// manages (none for a key known not to exist yet) plus one write per call KMS needs.
    fn minimum(self) -> usize {
        match self {
            // CreateKey (description, policy, tags inside) + EnableKeyRotation.
            Scenario::Create => 2,
            // DescribeKey, GetKeyPolicy, GetKeyRotationStatus, ListResourceTags.
            Scenario::Noop => 4,
            // The four reads + PutKeyPolicy, UpdateKeyDescription, DisableKey.
            Scenario::Change => 7,
            // ScheduleKeyDeletion alone (it refuses unknown keys and keys already pending).
            Scenario::Destroy => 1,
        }
    }
}

/// A key made from `spec()` the way this crate makes it; the call log is cleared after.
async fn existing(kms: &InMemoryBackend) -> String {
    let r = Reconciler::new(Arc::new(kms.clone()));
    let id = r
        .reconcile(&spec(), &Target::name(NAME))
        .await
        .expect("created")
        .key_id;
    kms.clear_calls();
    id
}

/// The key id the scenario starts from (`None` for a create).
async fn setup(kms: &InMemoryBackend, s: Scenario) -> Option<String> {
    match s {
        Scenario::Create => None,
        _ => Some(existing(kms).await),
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ours {
    /// The default path: a create by logical name (with its look-up), others by key id.
    Default,
    /// A create whose name is known to be on no key (`ResolvedName::absent`).
    Resolved,
}

async fn ours(kms: &InMemoryBackend, s: Scenario, key: Option<String>, how: Ours) {
    let r = Reconciler::new(Arc::new(kms.clone()));
    match s {
        Scenario::Create if how == Ours::Resolved => {
            let o = r
                .reconcile_resolved(
                    &spec(),
                    &ResolvedName::absent(NAME),
                    &ReconcileOptions::default(),
                )
                .await
                .expect("created");
            assert!(o.created);
        }
        Scenario::Create => {
            let o = r
                .reconcile(&spec(), &Target::name(NAME))
                .await
                .expect("created");
            assert!(o.created);
        }
        Scenario::Noop => {
            let o = r
                .reconcile(&spec(), &Target::key_id(key.expect("key")))
                .await
                .expect("no-op");
            assert!(o.changes.is_empty());
        }
        Scenario::Change => {
            let o = r
                .reconcile(&changed(), &Target::key_id(key.expect("key")))
                .await
                .expect("changed");
            assert_eq!(o.changes.len(), 3);
        }
        Scenario::Destroy => {
            let d = r
                .destroy(&Target::key_id(key.expect("key")), DeletionWindow::DEFAULT)
                .await
                .expect("destroyed");
            assert!(d.scheduled);
        }
    }
}

// ---- the Terraform replay --------------------------------------------------------------------

/// One step of the provider's call sequence.
#[derive(Clone, Copy, Debug)]
enum Step {
    Call(Operation),
    /// `reads` consecutive matching reads of `op`, `gap` apart (`WaitUntil` with
    /// `ContinuousTargetOccurence = reads`, `MinTimeout = gap`).
    Poll {
        op: Operation,
        reads: u32,
        gap: Duration,
    },
}

/// The provider's Read: findKeyInfo.
const READ: [Step; 4] = [
    Step::Call(DescribeKey),
    Step::Call(GetKeyPolicy),
    Step::Call(GetKeyRotationStatus),
    Step::Call(ListResourceTags),
];

/// Which description of the provider the replay follows.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Replay {
    /// The provider's source, as read (every wait it makes).
    Source,
    /// Issue 6's summary of it: after a create, the policy and tag polls; after a disable, the
    /// state poll; none of the rotation and description polls the source also makes.
    IssueSummary,
}

fn terraform_steps(s: Scenario, replay: Replay) -> Vec<Step> {
    let mut steps = terraform_source_steps(s);
    if replay == Replay::IssueSummary {
        steps.retain(|step| {
            !matches!(
                (s, step),
                (
                    Scenario::Create,
                    Step::Poll {
                        op: GetKeyRotationStatus,
                        ..
                    }
                ) | (Scenario::Change, Step::Poll { reads: 5, .. })
            )
        });
    }
    steps
}

fn terraform_source_steps(s: Scenario) -> Vec<Step> {
    let secs = Duration::from_secs;
    let mut steps = Vec::new();
    match s {
        // resourceKeyCreate: CreateKey; updateKeyRotationEnabled (EnableKeyRotation, then
        // waitKeyRotationEnabledPropagated: 5 reads, 1 s); waitKeyPolicyPropagated (5, 1 s);
        // waitTagsPropagated (5, 1 s); then resourceKeyRead.
        Scenario::Create => {
            steps.push(Step::Call(CreateKey));
            steps.push(Step::Call(EnableKeyRotation));
            steps.push(Step::Poll {
                op: GetKeyRotationStatus,
                reads: 5,
                gap: secs(1),
            });
            steps.push(Step::Poll {
                op: GetKeyPolicy,
                reads: 5,
                gap: secs(1),
            });
            steps.push(Step::Poll {
                op: ListResourceTags,
                reads: 5,
                gap: secs(1),
            });
            steps.extend(READ);
        }
        // terraform plan refreshes the resource; nothing differs.
        Scenario::Noop => steps.extend(READ),
        // Refresh; resourceKeyUpdate: updateKeyDescription (+ waitKeyDescriptionPropagated:
        // DescribeKey, 5 reads, 2 s); updateKeyPolicy (+ waitKeyPolicyPropagated: 5, 1 s);
        // updateKeyEnabled(false) last (+ waitKeyStatePropagated: DescribeKey, 15 reads, 2 s);
        // then resourceKeyRead.
        Scenario::Change => {
            steps.extend(READ);
            steps.push(Step::Call(UpdateKeyDescription));
            steps.push(Step::Poll {
                op: DescribeKey,
                reads: 5,
                gap: secs(2),
            });
            steps.push(Step::Call(PutKeyPolicy));
            steps.push(Step::Poll {
                op: GetKeyPolicy,
                reads: 5,
                gap: secs(1),
            });
            steps.push(Step::Call(DisableKey));
            steps.push(Step::Poll {
                op: DescribeKey,
                reads: 15,
                gap: secs(2),
            });
            steps.extend(READ);
        }
        // Refresh; resourceKeyDelete: ScheduleKeyDeletion, then waitKeyDeleted (DescribeKey
        // until the key reads as pending deletion: one read here).
        Scenario::Destroy => {
            steps.extend(READ);
            steps.push(Step::Call(ScheduleKeyDeletion));
            steps.push(Step::Call(DescribeKey));
        }
    }
    steps
}

fn terraform_create_request() -> CreateKeyRequest {
    let mut r = CreateKeyRequest::new();
    r.description = Some(DESCRIPTION.to_owned());
    r.policy = Some(policy(ACTIONS));
    r.tags = vec![Tag::new("env", "prod"), Tag::new("team", "orders")];
    r
}

async fn terraform_call(kms: &InMemoryBackend, key: &mut Option<String>, op: Operation) {
    let id = || key.clone().expect("key");
    match op {
        CreateKey => {
            *key = Some(
                kms.create_key(terraform_create_request())
                    .await
                    .expect("created")
                    .key_id,
            );
        }
        EnableKeyRotation => kms
            .enable_key_rotation(&id(), None)
            .await
            .expect("rotation"),
        DescribeKey => drop(kms.describe_key(&id()).await.expect("described")),
        GetKeyPolicy => drop(kms.get_key_policy(&id()).await.expect("policy")),
        GetKeyRotationStatus => drop(kms.get_key_rotation_status(&id()).await.expect("status")),
        ListResourceTags => drop(kms.list_resource_tags(&id(), None).await.expect("tags")),
        UpdateKeyDescription => kms
            .update_key_description(&id(), DESCRIPTION_CHANGED)
            .await
            .expect("description"),
        PutKeyPolicy => kms
            .put_key_policy(&id(), &policy(ACTIONS_CHANGED), false)
            .await
            .expect("policy"),
        DisableKey => kms.disable_key(&id()).await.expect("disabled"),
        ScheduleKeyDeletion => drop(
            kms.schedule_key_deletion(&id(), Some(30))
                .await
                .expect("scheduled"),
        ),
        other => unreachable!("not in any scenario: {other}"),
    }
}

async fn terraform(kms: &InMemoryBackend, s: Scenario, replay: Replay, mut key: Option<String>) {
    for step in terraform_steps(s, replay) {
        match step {
            Step::Call(op) => terraform_call(kms, &mut key, op).await,
            Step::Poll { op, reads, gap } => {
                for i in 0..reads {
                    terraform_call(kms, &mut key, op).await;
                    if i + 1 < reads {
                        tokio::time::sleep(gap).await;
                    }
                }
            }
        }
    }
}

// ---- measuring -------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Ours(Ours),
    Terraform(Replay),
}

/// One run of one side of a scenario on a fresh backend: (calls, elapsed).
fn run(rt: &Runtime, s: Scenario, side: Side) -> (Vec<Operation>, Duration) {
    rt.block_on(async {
        let kms = backend();
        let key = setup(&kms, s).await;
        let t0 = Instant::now();
        match side {
            Side::Ours(how) => ours(&kms, s, key, how).await,
            Side::Terraform(replay) => terraform(&kms, s, replay, key).await,
        }
        let elapsed = t0.elapsed();
        let calls: Vec<Operation> = kms.calls().iter().map(|c| c.operation()).collect();
        assert!(
            kms.calls().iter().all(|c| c.outcome().is_ok()),
            "{s:?} {side:?}"
        );
        (calls, elapsed)
    })
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn scenario_table(paused: bool) {
    let rt = runtime(paused);
    let clock = if paused {
        "virtual time (paused Tokio clock)"
    } else {
        "real time"
    };
    println!("\nscenarios, 20 ms per call, {clock}");
    println!(
        "| scenario | ours: calls | ours: time | Terraform replay: calls | Terraform replay: time | calls ratio | time ratio | fewest calls KMS allows |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut checks = Vec::new();
    for s in Scenario::ALL {
        let (ours_calls, ours_t) = run(&rt, s, Side::Ours(Ours::Default));
        let (tf_calls, tf_t) = run(&rt, s, Side::Terraform(Replay::Source));
        println!(
            "| {} | {} | {} | {} | {} | {:.1}× | {:.1}× | {} |",
            s.label(),
            ours_calls.len(),
            secs(ours_t),
            tf_calls.len(),
            secs(tf_t),
            tf_calls.len() as f64 / ours_calls.len() as f64,
            tf_t.as_secs_f64() / ours_t.as_secs_f64(),
            s.minimum()
        );
        if paused {
            println!(
                "|  | {} | | {} | | | | |",
                ops(&ours_calls),
                steps(&terraform_steps(s, Replay::Source))
            );
        }
        checks.push((s, ours_calls.len(), ours_t, tf_calls.len(), tf_t));
        if s == Scenario::Create {
            let (c, t) = run(&rt, s, Side::Ours(Ours::Resolved));
            println!(
                "| create, name known absent (`reconcile_resolved`) | {} | {} | {} | {} | {:.1}× | {:.1}× | {} |",
                c.len(),
                secs(t),
                tf_calls.len(),
                secs(tf_t),
                tf_calls.len() as f64 / c.len() as f64,
                tf_t.as_secs_f64() / t.as_secs_f64(),
                s.minimum()
            );
            if paused {
                println!("|  | {} | | | | | | |", ops(&c));
            }
        }
    }
    if paused {
        for (s, ours_n, ours_t, tf_n, tf_t) in checks {
            let fewest = ours_n <= s.minimum();
            println!(
                "target: {}: fewest calls ({} vs {}): {}",
                s.label(),
                ours_n,
                s.minimum(),
                if fewest { "PASS" } else { "MISS" }
            );
            if s == Scenario::Create {
                let calls = tf_n as f64 / ours_n as f64;
                let time = tf_t.as_secs_f64() / ours_t.as_secs_f64();
                println!(
                    "target: create-with-policy-tags-rotation ≥ 5× fewer calls ({calls:.1}×) and ≥ 10× less time ({time:.1}×) than the Terraform replay: {}",
                    if calls >= 5.0 && time >= 10.0 {
                        "PASS"
                    } else {
                        "MISS"
                    }
                );
            }
        }
        summary_table(&rt);
    }
}

/// The replay as issue 6 summarizes the provider (fewer polls than its source makes), for the
/// scenarios where the two differ.
fn summary_table(rt: &Runtime) {
    println!(
        "\nTerraform replay as summarized in issue 6 (no rotation poll after a create, no description or policy poll in an update), virtual time"
    );
    println!(
        "| scenario | ours: calls | ours: time | replay: calls | replay: time | calls ratio | time ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for s in [Scenario::Create, Scenario::Change] {
        let (ours_calls, ours_t) = run(rt, s, Side::Ours(Ours::Default));
        let (tf_calls, tf_t) = run(rt, s, Side::Terraform(Replay::IssueSummary));
        println!(
            "| {} | {} | {} | {} | {} | {:.1}× | {:.1}× |",
            s.label(),
            ours_calls.len(),
            secs(ours_t),
            tf_calls.len(),
            secs(tf_t),
            tf_calls.len() as f64 / ours_calls.len() as f64,
            tf_t.as_secs_f64() / ours_t.as_secs_f64(),
        );
        println!(
            "|  | | | {} | | | |",
            steps(&terraform_steps(s, Replay::IssueSummary))
        );
    }
}

/// The replay's steps, for the table: reads of a poll as `Op×n/gap`, the Read as `Read(4)`.
fn steps(steps: &[Step]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        let read = steps[i..].len() >= READ.len()
            && steps[i..i + READ.len()]
                .iter()
                .zip(READ)
                .all(|(a, b)| matches!((a, b), (Step::Call(x), Step::Call(y)) if *x == y));
        if read {
            out.push("Read(4)".to_owned());
            i += READ.len();
            continue;
        }
        out.push(match steps[i] {
            Step::Call(op) => op.to_string(),
            Step::Poll { op, reads, gap } => format!("{op}×{reads}/{}s", gap.as_secs()),
        });
        i += 1;
    }
    out.join(", ")
}

fn ops(calls: &[Operation]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < calls.len() {
        let mut j = i;
        while j < calls.len() && calls[j] == calls[i] {
            j += 1;
        }
        out.push(if j - i > 1 {
            format!("{}×{}", calls[i], j - i)
        } else {
            calls[i].to_string()
        });
        i = j;
    }
    out.join(", ")
}

// ---- fleet against the quota-enforcing backend ------------------------------------------------

struct FleetRun {
    elapsed: Duration,
    succeeded: usize,
    failed_throttled: usize,
    throttled_calls: usize,
    calls: usize,
}

fn fleet_create(rt: &Runtime, n: usize, limited: bool) -> FleetRun {
    rt.block_on(async {
        let kms = InMemoryBackend::builder()
            .latency(LATENCY)
            .enforce_quotas(Quotas::kms_defaults())
            .build();
        let fleet = if limited {
            Fleet::rate_limited(kms.clone())
        } else {
            Fleet::new(Reconciler::new(Arc::new(kms.clone())))
        };
        let entries: Vec<FleetEntry> = (0..n)
            .map(|i| {
                FleetEntry::named(
                    format!("key-{i:04}"),
                    KmsKeySpec::builder()
                        .description(format!("key {i}"))
                        .enable_key_rotation(true)
                        .tag("team", "platform")
                        .build()
                        .expect("valid"),
                )
            })
            .collect();
        let report = fleet.apply(entries, |_| {}).await.expect("fleet");
        FleetRun {
            elapsed: report.elapsed,
            succeeded: report.succeeded(),
            failed_throttled: report
                .failures()
                .filter(|(_, e)| e.backend_kind() == Some(ErrorKind::Throttled))
                .count(),
            throttled_calls: kms
                .calls()
                .iter()
                .filter(|c| c.outcome() == Err(ErrorKind::Throttled))
                .count(),
            calls: kms.calls().len(),
        }
    })
}

fn fleet_table(paused: bool, sizes: &[usize]) {
    let rt = runtime(paused);
    let clock = if paused {
        "virtual time (paused Tokio clock)"
    } else {
        "real time"
    };
    println!(
        "\nfleet create on the quota-enforcing in-memory backend (CreateKey 5/s), 20 ms per call, concurrency 16, {clock}; each key: CreateKey + EnableKeyRotation"
    );
    println!(
        "| keys | rate limiter | time | quota bound N/5 s | vs bound | keys created | throttled calls | throttling errors surfaced | calls |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        for limited in [true, false] {
            let r = fleet_create(&rt, n, limited);
            let bound = n as f64 / 5.0;
            let off = (r.elapsed.as_secs_f64() - bound) / bound * 100.0;
            println!(
                "| {n} | {} | {} | {bound:.0} s | {off:+.1}% | {} | {} | {} | {} |",
                if limited {
                    "RateLimited (default)"
                } else {
                    "none (retries only)"
                },
                secs(r.elapsed),
                r.succeeded,
                r.throttled_calls,
                r.failed_throttled,
                r.calls
            );
            if limited {
                println!(
                    "target: fleet create of {n} keys within 10% of N/5 s ({off:+.1}%) with zero throttling errors ({}): {}",
                    r.failed_throttled,
                    if off.abs() <= 10.0 && r.failed_throttled == 0 && r.succeeded == n {
                        "PASS"
                    } else {
                        "MISS"
                    }
                );
            }
        }
    }
}

// ---- criterion: our side on the real clock ----------------------------------------------------

fn real_time(c: &mut Criterion) {
    let rt = runtime(false);
    let mut group = c.benchmark_group("scenarios_real_time");
    group.sample_size(20);
    for s in Scenario::ALL {
        group.bench_function(format!("ours/{}", s.id()), |b| {
            b.iter_batched(
                || {
                    let kms = backend();
                    let key = rt.block_on(setup(&kms, s));
                    (kms, key)
                },
                |(kms, key)| {
                    rt.block_on(ours(&kms, s, key, Ours::Default));
                    kms
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, real_time);

fn main() {
    let listing = std::env::args().any(|a| a == "--list" || a == "--test");
    if !listing {
        scenario_table(true);
        fleet_table(true, &[100, 500]);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    if !listing && std::env::var_os("KMS_KEY_BENCH_REAL_TIME").is_some_and(|v| v == "1") {
        scenario_table(false);
        fleet_table(false, &[50]);
    }
}
