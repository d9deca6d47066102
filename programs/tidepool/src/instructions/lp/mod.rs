pub mod deposit_liquidity;
pub mod withdraw_liquidity;

pub use deposit_liquidity::*;
pub use withdraw_liquidity::*;
