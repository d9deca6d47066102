//! Test harness: the Tidepool program inside the real Solana runtime (solana-program-test),
//! with the real SPL Token program and Pyth `PriceUpdateV2` accounts.
//!
//! The program runs natively as a builtin here. Where the Solana SBF toolchain exists,
//! `cargo build-sbf` followed by `SBF_OUT_DIR=target/deploy cargo test -p tidepool-tests`
//! runs the very same tests against the compiled `tidepool.so` instead (see [`env`]).

// solana-program-test 3.x marks its API "unstable" by deprecation; it is the official
// harness and the one this project pins.
#![allow(deprecated)]

pub mod env;
pub mod invariants;
pub mod pyth;
pub mod setup;

pub use env::*;
pub use invariants::*;
pub use pyth::*;
pub use setup::*;
