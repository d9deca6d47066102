pub mod refresh_market;

pub use refresh_market::*;
