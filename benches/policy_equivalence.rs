//! Policy equivalence: parse both sides and compare, on the shared benchmark pairs (to put beside
//! the Go library Terraform uses: 88 µs, 377 ms, 98 ms) and on generated policies of growing
//! size (to show the cost grows as n log n, not n²).
//!
//! Both sides go through `KeyPolicy::parse_observed`: the `.b.json` files (68 KB pretty-printed)
//! and even the compact 145-statement ones (32,826 bytes) are over KMS's 32,768-byte limit that
//! the strict `KeyPolicy::parse` enforces.

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
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

criterion_group!(benches, pairs, scaling);
criterion_main!(benches);
