//! Policy equivalence: parse both sides and compare, on the shared benchmark pairs (to put beside
//! the Go library Terraform uses: 88 µs, 377 ms, 98 ms) and on generated policies of growing
//! size (to show the cost grows as n log n, not n²).
//!
//! Both sides go through `KeyPolicy::parse_observed`: the `.b.json` files (68 KB pretty-printed)
//! and even the compact 145-statement ones (32,826 bytes) are over KMS's 32,768-byte limit that
//! the strict `KeyPolicy::parse` enforces.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};
use kms_key::policy::KeyPolicy;
use serde_json::{Value, json};

fn load(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/data/policies")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_and_compare(a: &str, b: &str) -> bool {
    let a = KeyPolicy::parse_observed(a).expect("a parses");
    let b = KeyPolicy::parse_observed(b).expect("b parses");
    a.equivalent(&b)
}

fn pairs(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy_equivalence");
    for (name, expected) in [
        ("a_1KB_true", true),
        ("b145_true", true),
        ("b145_effectdiff_false", false),
    ] {
        let a = load(&format!("{name}.a.json"));
        let b = load(&format!("{name}.b.json"));
        assert_eq!(parse_and_compare(&a, &b), expected, "{name}");
        group.throughput(Throughput::Bytes((a.len() + b.len()) as u64));
        group.bench_function(name, |bench| {
            bench.iter(|| {
                let answer = parse_and_compare(black_box(&a), black_box(&b));
                debug_assert_eq!(answer, expected);
                answer
            });
        });
    }
    group.finish();
}

/// A policy of `n` role statements plus the root one. `reordered`: statements and lists
/// reversed, one-element lists as plain strings, pretty-printed (like the `.b.json` files).
fn generated(n: usize, reordered: bool) -> String {
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Principal": {"AWS": ["arn:aws:iam::111122223333:root"]},
        "Action": ["kms:*"],
        "Resource": ["*"],
    })];
    for i in 0..n {
        let mut actions = vec!["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"];
        if reordered {
            actions.reverse();
        }
        let one = |s: String| if reordered { json!(s) } else { json!([s]) };
        statements.push(json!({
            "Sid": format!("Role{i}"),
            "Effect": "Allow",
            "Principal": {"AWS": one(format!("arn:aws:iam::111122223333:role/r{i}"))},
            "Action": actions,
            "Resource": one("*".to_owned()),
            "Condition": {"StringEquals": {"kms:CallerAccount": one("111122223333".to_owned())}},
        }));
    }
    if reordered {
        statements.reverse();
    }
    let doc = json!({"Version": "2012-10-17", "Id": "key-policy", "Statement": statements});
    if reordered {
        serde_json::to_string_pretty(&doc).expect("serializes")
    } else {
        Value::to_string(&doc)
    }
}

fn scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy_equivalence_scaling");
    for n in [10, 100, 1000] {
        let a = generated(n, false);
        let b = generated(n, true);
        assert!(parse_and_compare(&a, &b), "generated {n}");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &(a, b), |bench, (a, b)| {
            bench.iter(|| parse_and_compare(black_box(a), black_box(b)));
        });
    }
    group.finish();
}

/// Time per parse-and-compare of a pair: the best of 5 runs of at least 200 ms each.
fn measured(a: &str, b: &str) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < Duration::from_millis(200) {
            black_box(parse_and_compare(black_box(a), black_box(b)));
            n += 1;
        }
        best = best.min(start.elapsed() / n);
    }
    best
}

criterion_group!(benches, pairs, scaling);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    // The targets, with the answer checked: under 20 µs for the 1 KB pair and under
    // 1 ms for the 32 KB pairs (the peer: 88 µs, 377 ms and 98 ms).
    for (name, expected, target) in [
        ("a_1KB_true", true, Duration::from_micros(20)),
        ("b145_true", true, Duration::from_millis(1)),
        ("b145_effectdiff_false", false, Duration::from_millis(1)),
    ] {
        let a = load(&format!("{name}.a.json"));
        let b = load(&format!("{name}.b.json"));
        let right = parse_and_compare(&a, &b) == expected;
        let took = measured(&a, &b);
        println!(
            "target: policy equivalence {name} < {target:?} with the right answer ({expected}): {} ({took:?})",
            if right && took < target {
                "PASS"
            } else {
                "MISS"
            }
        );
    }
    // Growth: time per statement should stay flat (n log n at worst), not grow with n.
    let per_statement: Vec<(usize, Duration)> = [10usize, 100, 1000]
        .into_iter()
        .map(|n| {
            (
                n,
                measured(&generated(n, false), &generated(n, true)) / n as u32,
            )
        })
        .collect();
    let (_, small) = per_statement[0];
    let (_, large) = per_statement[2];
    println!(
        "target: policy equivalence grows slower than n^2 (per-statement cost at n=1000 within 10x of n=10): {} ({})",
        if large < small * 10 { "PASS" } else { "MISS" },
        per_statement
            .iter()
            .map(|(n, d)| format!("n={n}: {d:?}/statement"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
