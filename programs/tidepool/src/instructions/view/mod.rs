//! Read-only instructions that answer through return data; simulate them.

pub mod get_pool_value;

pub use get_pool_value::*;
