use anchor_lang::prelude::*;
use anchor_spl::token::TokenAccount;

use crate::constants::{pause, CONFIG_ADDRESS, POSITION_SEED};
use crate::error::TidepoolError;
use crate::state::{Config, Market, Pool, Position};

/// The owner's side of an existing position, shared by `decrease_position`,
/// `add_collateral` and `remove_collateral`: the owner (signer; gets the account's rent back
/// when the position closes), the config, the pool and market it trades on, the position at
/// the owner's PDA, and the pool's vault. Each instruction adds what differs: the owner's
/// token account and, where it needs them, the prices.
#[derive(Accounts)]
pub struct OwnerPosition<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(address = CONFIG_ADDRESS)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, dup)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, dup, has_one = pool @ TidepoolError::MarketPoolMismatch)]
    pub market: Box<Account<'info, Market>>,
    #[account(mut, dup,
        seeds = [POSITION_SEED, market.key().as_ref(), owner.key().as_ref(), &[position.side.seed()]],
        bump = position.bump,
        has_one = owner @ TidepoolError::InvalidPosition,
        has_one = market @ TidepoolError::InvalidPosition)]
    pub position: Box<Account<'info, Position>>,
    #[account(mut, dup, address = pool.vault @ TidepoolError::InvalidVault)]
    pub vault: Box<Account<'info, TokenAccount>>,
}

impl OwnerPosition<'_> {
    /// Refuse `operation` (a `pause` flag) when the protocol, the pool or the market has
    /// paused it.
    pub fn require_active(&self, operation: u16) -> Result<()> {
        pause::require_active(
            operation,
            &[
                self.config.pause_flags,
                self.pool.pause_flags,
                self.market.pause_flags,
            ],
        )
    }
}
