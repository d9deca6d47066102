//! The engine between the instructions and the math: what an instruction does to its
//! accounts, written once. `instructions/` hold the accounts structs and call in here;
//! `math/` holds the pure formulas these apply (drift's `controller/` is the model).
//!
//! - `marks`: validated oracle prices, and a market brought up to now with them;
//! - `position`: fees, opening and closing, margin checks;
//! - `pool_value`: a pool's markets and prices loaded from the remaining accounts, valued;
//! - `token`: every token movement (vault payouts and deposits, LP share mint and burn).

pub mod marks;
pub mod pool_value;
pub mod position;
pub mod token;
