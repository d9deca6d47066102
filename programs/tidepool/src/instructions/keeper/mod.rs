pub mod auto_deleverage;
pub mod execute_trigger_order;
pub mod keeper_close;
pub mod liquidate;
pub mod refresh_market;

pub use auto_deleverage::*;
pub use execute_trigger_order::*;
pub use keeper_close::*;
pub use liquidate::*;
pub use refresh_market::*;
