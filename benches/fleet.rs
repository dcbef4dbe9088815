//! Reconcile at scale on the in-memory backend (no latency, no rate limiter): a fleet no-op over
//! 10,000 existing keys and a fleet create of 10,000 keys, on a current-thread Tokio runtime
//! (one core). What is timed is the whole run: the name scan, every key's reads, plans and
//! writes, and the in-memory backend's own work.
//!
//! After the criterion groups, the binary checks the target (no-op reconcile of 10,000 keys
//! under 1 s) with its own timed runs and prints PASS or MISS with the figure.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group};
use kms_key::backend::memory::InMemoryBackend;
use kms_key::fleet::{Fleet, FleetEntry};
use kms_key::{KmsKeySpec, Reconciler, Target};
use tokio::runtime::Runtime;

const N: usize = 10_000;
const ROLE: &str = "arn:aws:iam::111122223333:role/AppRole";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn new_backend() -> InMemoryBackend {
    InMemoryBackend::builder().known_principals([ROLE]).build()
}

/// A typical managed key: description, a two-statement policy, rotation, three tags.
fn spec(i: usize) -> KmsKeySpec {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"App","Effect":"Allow","Principal":{{"AWS":"{ROLE}"}},"Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*"}}]}}"#
    );
    KmsKeySpec::builder()
        .description(format!("service {i} data key"))
        .policy(policy)
        .enable_key_rotation(true)
        .tag("team", "platform")
        .tag("env", "prod")
        .tag("service", format!("svc-{i}"))
        .build()
        .expect("valid")
}

fn named_entries(specs: &[KmsKeySpec]) -> Vec<FleetEntry> {
    specs
        .iter()
        .enumerate()
        .map(|(i, s)| FleetEntry::named(format!("key-{i:05}"), s.clone()))
        .collect()
}

fn fleet(backend: &InMemoryBackend) -> Fleet {
    Fleet::new(Reconciler::new(Arc::new(backend.clone())))
}

/// A backend holding the N keys of `specs`, made by a fleet run, and the ids in entry order.
fn populated(rt: &Runtime, specs: &[KmsKeySpec]) -> (InMemoryBackend, Vec<String>) {
    let backend = new_backend();
    let report = rt
        .block_on(fleet(&backend).apply(named_entries(specs), |_| {}))
        .expect("fleet");
    assert_eq!(report.succeeded(), specs.len());
    let ids = report
        .results
        .iter()
        .map(|r| r.result.as_ref().expect("created").key_id.clone())
        .collect();
    backend.clear_calls();
    (backend, ids)
}

fn scale(c: &mut Criterion) {
    let rt = runtime();
    let specs: Vec<KmsKeySpec> = (0..N).map(spec).collect();
    let (backend, ids) = populated(&rt, &specs);
    let by_id: Vec<FleetEntry> = ids
        .iter()
        .zip(&specs)
        .map(|(id, s)| FleetEntry::new(Target::key_id(id), s.clone()))
        .collect();

    let mut group = c.benchmark_group("fleet_10000");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function("noop_named", |b| {
        b.iter_batched(
            || {
                backend.clear_calls();
                named_entries(&specs)
            },
            |entries| {
                let report = rt.block_on(fleet(&backend).apply(entries, |_| {})).unwrap();
                assert_eq!(report.succeeded(), N);
                report
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("noop_by_key_id", |b| {
        b.iter_batched(
            || {
                backend.clear_calls();
                by_id.clone()
            },
            |entries| {
                let report = rt.block_on(fleet(&backend).apply(entries, |_| {})).unwrap();
                assert_eq!(report.succeeded(), N);
                report
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("create_named", |b| {
        b.iter_batched(
            || (new_backend(), named_entries(&specs)),
            |(fresh, entries)| {
                let report = rt.block_on(fleet(&fresh).apply(entries, |_| {})).unwrap();
                assert_eq!(report.succeeded(), N);
                (report, fresh)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, scale);

/// The best of 3 timed no-op runs over N named keys, with the calls of one run.
fn noop_check() -> (Duration, usize) {
    let rt = runtime();
    let specs: Vec<KmsKeySpec> = (0..N).map(spec).collect();
    let (backend, _) = populated(&rt, &specs);
    let mut best = Duration::MAX;
    let mut calls = 0;
    for _ in 0..3 {
        backend.clear_calls();
        let entries = named_entries(&specs);
        let t0 = Instant::now();
        let report = rt.block_on(fleet(&backend).apply(entries, |_| {})).unwrap();
        best = best.min(t0.elapsed());
        assert!(
            report
                .results
                .iter()
                .all(|r| r.result.as_ref().unwrap().changes.is_empty())
        );
        calls = backend.calls().len();
    }
    (best, calls)
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let (t, calls) = noop_check();
    println!(
        "target: no-op reconcile of {N} named keys on the in-memory backend < 1 s: {} ({:.0} ms, {calls} calls, {:.1} µs per key)",
        if t < Duration::from_secs(1) {
            "PASS"
        } else {
            "MISS"
        },
        t.as_secs_f64() * 1e3,
        t.as_secs_f64() * 1e6 / N as f64
    );
}
