//! The in-memory KMS: the strict reference backend. STUB.
