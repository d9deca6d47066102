use anchor_lang::prelude::*;

use crate::constants::{pause, CONFIG_ADDRESS};
use crate::error::TidepoolError;
use crate::events::{emit, PauseFlagsSet};
use crate::state::{Config, Market, Pool};

/// Sets the pause flags of the most specific target given: the market when a market is
/// passed (with its pool), else the pool when a pool is passed, else the whole protocol.
#[event_cpi]
#[derive(Accounts)]
pub struct SetPauseFlags<'info> {
    pub admin: Signer<'info>,
    #[account(mut, dup, address = CONFIG_ADDRESS,
        has_one = admin @ TidepoolError::Unauthorized)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, dup)]
    pub pool: Option<Box<Account<'info, Pool>>>,
    #[account(mut, dup)]
    pub market: Option<Box<Account<'info, Market>>>,
}

pub fn set_pause_flags(ctx: Context<SetPauseFlags>, flags: u16) -> Result<()> {
    require!(flags & !pause::ALL == 0, TidepoolError::InvalidPauseFlags);
    let accounts = &mut *ctx.accounts;
    let (target, previous_flags) = match (&mut accounts.pool, &mut accounts.market) {
        (Some(pool), Some(market)) => {
            require_keys_eq!(market.pool, pool.key(), TidepoolError::MarketPoolMismatch);
            let previous = market.pause_flags;
            market.pause_flags = flags;
            (market.key(), previous)
        }
        (None, Some(_)) => return err!(TidepoolError::MissingPool),
        (Some(pool), None) => {
            let previous = pool.pause_flags;
            pool.pause_flags = flags;
            (pool.key(), previous)
        }
        (None, None) => {
            let previous = accounts.config.pause_flags;
            accounts.config.pause_flags = flags;
            (accounts.config.key(), previous)
        }
    };
    emit(
        &ctx.accounts.event_authority,
        &PauseFlagsSet {
            target,
            previous_flags,
            flags,
        },
    )?;
    Ok(())
}
