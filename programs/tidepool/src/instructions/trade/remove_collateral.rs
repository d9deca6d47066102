use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::{pause, CONFIG_ADDRESS, POSITION_SEED};
use crate::engine::marks::mark_market;
use crate::engine::marks::require_pegged;
use crate::engine::position::{require_initial_margin, settle_fees};
use crate::engine::token::pay_from_vault;
use crate::error::TidepoolError;
use crate::events::CollateralChanged;
use crate::math::{to_i64, SafeMath};
use crate::state::{Config, Market, Pool, Position};

/// Remove collateral from a position while its equity, valued against the owner, still
/// covers the initial margin.
#[event_cpi]
#[derive(Accounts)]
pub struct RemoveCollateral<'info> {
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
    /// Receives the collateral (any holder).
    #[account(mut, dup,
        constraint = receiving_account.key() != vault.key() @ TidepoolError::VaultAsUserAccount,
        constraint = receiving_account.mint == pool.settlement_mint @ TidepoolError::InvalidMint)]
    pub receiving_account: Box<Account<'info, TokenAccount>>,
    /// CHECK: the market's Pyth price, validated by `engine::marks::read_price`.
    pub price_update: UncheckedAccount<'info>,
    /// CHECK: the settlement token's Pyth price, validated by `engine::marks::read_price`.
    pub settlement_price_update: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

impl RemoveCollateral<'_> {
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

pub fn remove_collateral(ctx: Context<RemoveCollateral>, amount: u64) -> Result<()> {
    ctx.accounts.validate()?;
    require!(amount > 0, TidepoolError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let position_key = ctx.accounts.position.key();
    let market_key = ctx.accounts.market.key();
    let pool_key = ctx.accounts.pool.key();
    let a = &mut *ctx.accounts;

    let (price, settlement) = mark_market(
        &mut a.pool,
        &mut a.market,
        &a.price_update,
        &a.settlement_price_update,
        now,
    )?;
    require_pegged(&a.pool, &settlement)?;
    let (borrow, funding) = settle_fees(&mut a.pool, &mut a.market, &mut a.position, &settlement)?;

    require!(
        amount < a.position.collateral,
        TidepoolError::InsufficientCollateral
    );
    a.market.remove_position(&a.position)?;
    a.position.collateral -= amount;
    a.position.last_update_time = now;
    a.market
        .insert_position(&mut a.position, a.pool.settlement_decimals)?;
    a.pool.total_collateral = a.pool.total_collateral.safe_sub(amount)?;
    require_initial_margin(&a.pool, &a.market, &a.position, &price, &settlement)?;
    pay_from_vault(
        &a.token_program,
        &a.vault,
        &a.receiving_account,
        a.pool.to_account_info(),
        &a.pool,
        amount,
    )?;
    let event = CollateralChanged {
        pool: pool_key,
        market: market_key,
        position: position_key,
        owner: a.owner.key(),
        delta: -to_i64(amount as i128)?,
        borrow_fee_settled: borrow,
        funding_settled: to_i64(funding)?,
        total_collateral: a.position.collateral,
    };
    emit_cpi!(event);
    Ok(())
}
