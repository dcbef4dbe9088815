//! The conformance suite on [`InMemoryBackend`], twice: with the defaults, and in another
//! account and Region (the cases must not assume either).
//!
//! Cases that need real policy semantics (the lockout check, principal existence) wait for the
//! policy module: on this branch `KeyPolicy` is a stub whose `allows` is always true and whose
//! `aws_principals` is always empty.

#[macro_use]
mod conformance;

use kms_key::backend::memory::InMemoryBackend;

conformance_suite!(memory, async { InMemoryBackend::new() }, lax: [
    create_key_refuses_policy_that_locks_out_the_caller => "needs the policy module (stub on this branch)",
    put_key_policy_refuses_policy_that_locks_out_the_caller => "needs the policy module (stub on this branch)",
    create_key_refuses_unknown_principal => "needs the policy module (stub on this branch)",
    put_key_policy_refuses_unknown_principal => "needs the policy module (stub on this branch)",
]);

conformance_suite!(
    memory_elsewhere,
    async {
        InMemoryBackend::builder()
            .account_id("444455556666")
            .region("eu-central-1")
            .seed(42)
            .build()
    },
    lax: [
        create_key_refuses_policy_that_locks_out_the_caller => "needs the policy module (stub on this branch)",
        put_key_policy_refuses_policy_that_locks_out_the_caller => "needs the policy module (stub on this branch)",
        create_key_refuses_unknown_principal => "needs the policy module (stub on this branch)",
        put_key_policy_refuses_unknown_principal => "needs the policy module (stub on this branch)",
    ]
);
