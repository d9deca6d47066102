//! Account layouts. Every account is Borsh with a fixed size (no vectors), a version
//! byte and a reserved tail; sizes are asserted at compile time so that the offsets the
//! clients rely on cannot drift silently.

pub mod config;
pub mod layout;
pub mod lp_request;
pub mod market;
pub mod params;
pub mod pool;
pub mod position;

pub use config::*;
pub use lp_request::*;
pub use market::*;
pub use params::*;
pub use pool::*;
pub use position::*;

/// Compile-time equality of two sizes.
#[macro_export]
macro_rules! const_assert_size {
    ($ty:ty, $size:expr) => {
        const _: () = assert!(
            8 + <$ty as anchor_lang::Space>::INIT_SPACE == $size,
            "account size changed: update the constant and the documented offsets"
        );
    };
}
