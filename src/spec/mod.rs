//! The desired state of one KMS key: [`KmsKeySpec`], its builder and its validation.

mod enums;
mod values;

pub use enums::{KeySpec, KeyState, KeyUsage, Origin, UnknownValue};
pub use values::*;
