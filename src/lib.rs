//! AWS KMS keys as code: a typed, validated [`KmsKeySpec`] and a [`Reconciler`] that makes a
//! live key match it with the fewest API calls, through any [`KmsBackend`](backend::KmsBackend).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use kms_key::backend::memory::InMemoryBackend;
//! use kms_key::{KmsKeySpec, Reconciler, Target};
//!
//! let spec = KmsKeySpec::from_json(r#"{"deletionWindowInDays": 10, "description": "KMS key 1"}"#)?;
//! let reconciler = Reconciler::new(Arc::new(InMemoryBackend::new()));
//!
//! let first = reconciler.reconcile(&spec, &Target::name("a")).await?;
//! assert!(first.created);
//! let second = reconciler.reconcile(&spec, &Target::name("a")).await?;
//! assert!(second.writes().is_empty());
//! # Ok(()) }
//! ```
//!
//! Data flows one way: [`spec`] (desired state) → [`plan`] (a pure diff against an
//! [`observed`] key) → calls made by [`reconcile`] through a [`backend`].
//!
//! - [`spec`]: [`KmsKeySpec`], its builder, validation, serde (Terraform and CDKTF names) and
//!   Terraform JSON configurations.
//! - [`policy`]: key policy documents: validation, canonical form, equivalence by meaning, lint.
//! - [`plan`]: the ordered [`Change`]s between a spec and a live key, and why a plan is refused.
//! - [`reconcile`]: observe → plan → apply, identity by logical name, destroy, import, retries.
//! - [`backend`]: the [`KmsBackend`](backend::KmsBackend) trait, the in-memory KMS and (feature
//!   `aws`) the AWS backend.
//!
//! Feature `aws` (default): `backend::aws::AwsBackend` on `aws-sdk-kms`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The README's examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod backend;
pub mod fleet;
pub mod observed;
pub mod plan;
pub mod policy;
pub mod reconcile;
pub mod retry;
pub mod spec;
pub mod validation;

pub use fleet::{Fleet, FleetEntry, FleetError, FleetEvent, FleetReport};
pub use plan::{Change, Plan, PlanError};
pub use reconcile::{
    NameIndex, Outcome, ReconcileError, ReconcileOptions, Reconciler, ResolvedName, Target,
};
pub use retry::{Budget, RetryPolicy};
pub use spec::{KeySpec, KeyState, KeyUsage, KmsKeySpec, KmsKeySpecBuilder, Origin};
pub use validation::{
    ErrorCode, FieldPath, ValidationError, ValidationErrors, Warning, WarningCode,
};
