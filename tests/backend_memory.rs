//! The conformance suite on [`InMemoryBackend`], twice: with the defaults, and in another
//! account and Region (the cases must not assume either). The strict reference passes every
//! case: nothing is marked lax here.

#[macro_use]
mod conformance;

use kms_key::backend::memory::InMemoryBackend;

conformance_suite!(memory, async { InMemoryBackend::new() }, lax: []);

conformance_suite!(
    memory_elsewhere,
    async {
        InMemoryBackend::builder()
            .account_id("444455556666")
            .region("eu-central-1")
            .seed(42)
            .build()
    },
    lax: []
);
