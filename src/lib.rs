//! kms-key: AWS KMS keys as code.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backend;
pub mod policy;
pub mod spec;
pub mod validation;

pub use spec::{KeySpec, KeyState, KeyUsage, KmsKeySpec, KmsKeySpecBuilder, Origin};
pub use validation::{
    ErrorCode, FieldPath, ValidationError, ValidationErrors, Warning, WarningCode,
};
