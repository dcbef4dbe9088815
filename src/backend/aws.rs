//! The AWS backend on aws-sdk-kms. STUB.
