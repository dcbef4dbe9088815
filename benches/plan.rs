//! Plan computation: `plan(spec, observed)` alone (pure, no I/O), for a create, a no-op against
//! a fully observed key (policy equivalence included), and an update with four changes.
//!
//! The observed key is read once from the in-memory backend (as a reconcile would), then the
//! pure function is timed.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use kms_key::backend::memory::InMemoryBackend;
use kms_key::observed::ObservedKey;
use kms_key::plan::{PlanOptions, plan};
use kms_key::{KmsKeySpec, Reconciler, Target};

const POLICY: &str = r#"{"Version":"2012-10-17","Id":"key-policy","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Sid":"Use","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:role/KeyUser","arn:aws:iam::111122223333:role/AppRole"]},"Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],"Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}]}"#;

fn spec(description: &str, enabled: bool) -> KmsKeySpec {
    KmsKeySpec::builder()
        .description(description)
        .policy(POLICY)
        .enable_key_rotation(true)
        .rotation_period_in_days(180)
        .is_enabled(enabled)
        .tag("team", "orders")
        .tag("env", "prod")
        .tag("cost-center", "1234")
        .build()
        .expect("valid")
}

/// The key as a reconcile observes it after creating it from `spec`.
fn observed(spec: &KmsKeySpec) -> ObservedKey {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let backend = InMemoryBackend::builder()
            .known_principals([
                "arn:aws:iam::111122223333:role/KeyUser",
                "arn:aws:iam::111122223333:role/AppRole",
            ])
            .build();
        let r = Reconciler::new(Arc::new(backend));
        r.reconcile(spec, &Target::name("orders"))
            .await
            .expect("created");
        let planned = r
            .plan(spec, &Target::name("orders"))
            .await
            .expect("planned");
        assert!(planned.plan().is_empty());
        planned.observed().cloned().expect("exists")
    })
}

fn plans(c: &mut Criterion) {
    let desired = spec("Application data key for the orders service", true);
    let live = observed(&desired);
    let changed = {
        // Description, tags (a changed value and a new tag) and disable: three calls.
        let b = KmsKeySpec::builder()
            .description("Orders data key (v2)")
            .policy(POLICY)
            .enable_key_rotation(true)
            .rotation_period_in_days(180)
            .is_enabled(false)
            .tag("team", "orders")
            .tag("env", "staging")
            .tag("cost-center", "1234")
            .tag("owner", "alice");
        b.build().expect("valid")
    };
    let options = PlanOptions::named("orders");
    assert_eq!(
        plan(&desired, Some(&live), &options)
            .unwrap()
            .changes()
            .len(),
        0
    );
    assert_eq!(
        plan(&changed, Some(&live), &options)
            .unwrap()
            .changes()
            .len(),
        3
    );

    let mut group = c.benchmark_group("plan");
    group.bench_function("create", |b| {
        b.iter(|| plan(black_box(&desired), None, &options))
    });
    group.bench_function("noop_policy_tags_rotation", |b| {
        b.iter(|| plan(black_box(&desired), Some(black_box(&live)), &options))
    });
    group.bench_function("update_description_tags_disable", |b| {
        b.iter(|| plan(black_box(&changed), Some(black_box(&live)), &options))
    });
    group.finish();
}

criterion_group!(benches, plans);
criterion_main!(benches);
