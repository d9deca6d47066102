pub mod accept_admin;
pub mod create_market;
pub mod create_pool;
pub mod initialize;
pub mod set_pause_flags;
pub mod transfer_admin;
pub mod update_market_params;
pub mod update_pool_params;

pub use accept_admin::*;
pub use create_market::*;
pub use create_pool::*;
pub use initialize::*;
pub use set_pause_flags::*;
pub use transfer_admin::*;
pub use update_market_params::*;
pub use update_pool_params::*;
