//! Pure fixed-point math: no Anchor types, no accounts, no I/O.
//!
//! The program, the Rust client, the keeper and the simulator all call these functions,
//! so there is exactly one implementation of every price, share and valuation formula.
//! Every division states its rounding direction; the direction always favours the pool.

pub mod margin;
pub mod oracle;
pub mod position;
pub mod precision;
pub mod pricing;
pub mod rates;
pub mod safe;
pub mod shares;
pub mod valuation;
pub mod volatility;

pub use precision::*;
pub use safe::*;
