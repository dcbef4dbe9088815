//! kms-key: AWS KMS keys as code.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod backend;
pub mod policy;
pub mod spec;
pub mod validation;
