pub mod add_collateral;
pub mod decrease_position;
pub mod open_position;
pub mod owner_position;
pub mod remove_collateral;
pub mod set_trigger_orders;

pub use add_collateral::*;
pub use decrease_position::*;
pub use open_position::*;
pub use owner_position::*;
pub use remove_collateral::*;
pub use set_trigger_orders::*;
