//! kms-key: AWS KMS keys as code.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

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
