//! Test harness: the Tidepool program inside an embedded Solana runtime (`tidepool-runtime`,
//! on LiteSVM), with the real SPL Token program and Pyth `PriceUpdateV2` accounts.
//!
//! The program runs natively as a builtin here. When `SBF_OUT_DIR` (or `BPF_OUT_DIR`) holds
//! `tidepool.so` (`./scripts/sbf.sh` builds it), the very same tests run against the
//! compiled program instead (see [`env`]).

pub mod cluster;
pub mod env;
pub mod invariants;
pub mod pyth;
pub mod sequences;
pub mod setup;

pub use cluster::{keeper_config, ChainView, InProcess};
pub use env::*;
pub use invariants::*;
pub use pyth::*;
pub use setup::*;
