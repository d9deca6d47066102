use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::{pause, CONFIG_ADDRESS, POSITION_SEED};
use crate::engine::token::pay_into_vault;
use crate::error::TidepoolError;
use crate::events::CollateralChanged;
use crate::math::{to_i64, SafeMath};
use crate::state::{Config, Market, Pool, Position};

/// Add collateral to a position. Needs no price: it only makes the position safer.
#[event_cpi]
#[derive(Accounts)]
pub struct AddCollateral<'info> {
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
    #[account(mut, dup,
        constraint = funding_account.key() != vault.key() @ TidepoolError::VaultAsUserAccount,
        constraint = funding_account.mint == pool.settlement_mint @ TidepoolError::InvalidMint,
        constraint = funding_account.owner == owner.key() @ TidepoolError::InvalidTokenOwner)]
    pub funding_account: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

impl AddCollateral<'_> {
    pub fn validate(&self) -> Result<()> {
        pause::require_active(
            pause::COLLATERAL,
            &[
                self.config.pause_flags,
                self.pool.pause_flags,
                self.market.pause_flags,
            ],
        )?;
        Ok(())
    }
}

pub fn add_collateral(ctx: Context<AddCollateral>, amount: u64) -> Result<()> {
    ctx.accounts.validate()?;
    require!(amount > 0, TidepoolError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let position_key = ctx.accounts.position.key();
    let market_key = ctx.accounts.market.key();
    let pool_key = ctx.accounts.pool.key();
    let a = &mut *ctx.accounts;
    a.market.remove_position(&a.position)?;
    a.position.collateral = a.position.collateral.safe_add(amount)?;
    a.position.last_update_time = now;
    a.market
        .insert_position(&mut a.position, a.pool.settlement_decimals)?;
    a.pool.total_collateral = a.pool.total_collateral.safe_add(amount)?;
    pay_into_vault(
        &a.token_program,
        &a.funding_account,
        &a.vault,
        a.owner.to_account_info(),
        amount,
    )?;
    let event = CollateralChanged {
        pool: pool_key,
        market: market_key,
        position: position_key,
        owner: a.owner.key(),
        delta: to_i64(amount as i128)?,
        borrow_fee_settled: 0,
        funding_settled: 0,
        total_collateral: a.position.collateral,
    };
    emit_cpi!(event);
    Ok(())
}
