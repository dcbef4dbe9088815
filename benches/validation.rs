//! Spec validation throughput: building and validating a `KmsKeySpec` (specs per second, one
//! core), with and without a policy, from the builder and from JSON, and with every rule broken.
//!
//! After the criterion groups, the binary checks the target (≥ 1,000,000 typical specs per
//! second on one core) with its own timed loop and prints PASS or MISS with the figure.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use kms_key::KmsKeySpec;
use kms_key::spec::{KeySpec, KeyUsage};

const TARGET_SPECS_PER_SECOND: f64 = 1_000_000.0;

fn policy_1kb() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/policies/a_1KB_true.a.json");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A typical key without a policy: description, spec and usage, rotation with a period, a
/// deletion window and three tags.
fn typical() -> Result<KmsKeySpec, kms_key::ValidationErrors> {
    KmsKeySpec::builder()
        .description(black_box("Application data key for the orders service"))
        .key_spec(KeySpec::SymmetricDefault)
        .key_usage(KeyUsage::EncryptDecrypt)
        .enable_key_rotation(true)
        .rotation_period_in_days(black_box(180))
        .deletion_window_in_days(black_box(14))
        .tag("team", "orders")
        .tag("env", "prod")
        .tag("cost-center", "1234")
        .build()
}

const TYPICAL_JSON: &str = r#"{"description":"Application data key for the orders service","key_spec":"SYMMETRIC_DEFAULT","key_usage":"ENCRYPT_DECRYPT","enable_key_rotation":true,"rotation_period_in_days":180,"deletion_window_in_days":14,"tags":{"team":"orders","env":"prod","cost-center":"1234"}}"#;

fn validation(c: &mut Criterion) {
    let policy = policy_1kb();
    assert!(typical().is_ok());
    let mut group = c.benchmark_group("validation");
    group.throughput(Throughput::Elements(1));
    group.bench_function("builder_minimal", |b| {
        b.iter(|| KmsKeySpec::builder().build())
    });
    group.bench_function("builder_typical", |b| b.iter(typical));
    group.bench_function("builder_typical_with_1KB_policy", |b| {
        b.iter(|| {
            KmsKeySpec::builder()
                .description("Application data key for the orders service")
                .enable_key_rotation(true)
                .tag("team", "orders")
                .policy(black_box(policy.as_str()))
                .build()
        })
    });
    group.bench_function("from_json_typical", |b| {
        b.iter(|| KmsKeySpec::from_json(black_box(TYPICAL_JSON)))
    });
    let invalid = || {
        KmsKeySpec::builder()
            .key_spec(KeySpec::Rsa2048)
            .enable_key_rotation(true)
            .rotation_period_in_days(black_box(30))
            .deletion_window_in_days(black_box(3))
            .tag("aws:reserved", "x")
            .tag("bad*char", "y")
            .build()
    };
    assert_eq!(invalid().map_err(|e| e.errors().len()).err(), Some(6));
    group.bench_function("builder_invalid_6_errors", |b| b.iter(invalid));
    group.finish();
}

/// Typical specs validated per second on this thread: the best of 5 one-second runs.
fn measured_rate() -> f64 {
    let mut best = 0.0f64;
    for _ in 0..5 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(1) {
            for _ in 0..1000 {
                black_box(typical()).expect("valid");
            }
            n += 1000;
        }
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    best
}

criterion_group!(benches, validation);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let rate = measured_rate();
    println!(
        "target: validation >= {TARGET_SPECS_PER_SECOND:.0} typical specs/s on one core: {} ({rate:.0} specs/s, {:.0} ns per spec)",
        if rate >= TARGET_SPECS_PER_SECOND {
            "PASS"
        } else {
            "MISS"
        },
        1e9 / rate
    );
}
