//! Rust client for Tidepool.
//!
//! - [`pda`]: every program-derived address.
//! - [`ix`]: one builder per instruction, producing a ready `Instruction`.
//! - [`decode`]: account and return-data decoding.
//! - [`math`]: the program's own math (re-exported, not rewritten).
#![allow(clippy::too_many_arguments)]

pub mod decode;
pub mod ix;
pub mod pda;

pub use tidepool;
pub use tidepool::math;
pub use tidepool::state::{Config, Market, MarketParams, OracleGuards, Pool, PoolParams};
pub use tidepool::valuation::PoolValueView;
pub use tidepool::ID as PROGRAM_ID;
