//! Read-only instructions that answer through return data; simulate them.

pub mod get_pool_value;
pub mod get_position_health;
pub mod quote_decrease_position;
pub mod quote_open_position;

pub use get_pool_value::*;
pub use get_position_health::*;
pub use quote_decrease_position::*;
pub use quote_open_position::*;

use anchor_lang::prelude::*;

/// Hand a view's answer back. On chain, Anchor's generated handler already publishes the
/// handler's return value with `set_return_data`; off chain (the native runtime used by
/// the tests and the simulator) that call is a no-op, so the same bytes go to the
/// runtime through its syscall stub. Either way the caller sees identical return data.
pub(crate) fn answer<T: AnchorSerialize>(value: T) -> Result<T> {
    #[cfg(not(target_os = "solana"))]
    {
        let mut data = Vec::with_capacity(256);
        value.serialize(&mut data)?;
        solana_sysvar::program_stubs::sol_set_return_data(&data);
    }
    Ok(value)
}
