use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use super::owner_position::*;
use crate::constants::pause;
use crate::engine::marks::mark_market;
use crate::engine::marks::require_pegged;
use crate::engine::position::{require_initial_margin, settle_fees};
use crate::engine::token::pay_from_vault;
use crate::error::TidepoolError;
use crate::events::{emit, CollateralChanged};
use crate::math::{to_i64, SafeMath};

/// Remove collateral from a position while its equity, valued against the owner, still
/// covers the initial margin.
#[event_cpi]
#[derive(Accounts)]
pub struct RemoveCollateral<'info> {
    pub trader: OwnerPosition<'info>,
    /// Receives the collateral (any holder).
    #[account(mut, dup,
        constraint = receiving_account.key() != trader.vault.key() @ TidepoolError::VaultAsUserAccount,
        constraint = receiving_account.mint == trader.pool.settlement_mint @ TidepoolError::InvalidMint)]
    pub receiving_account: Box<Account<'info, TokenAccount>>,
    /// CHECK: the market's Pyth price, validated by `engine::marks::read_price`.
    pub price_update: UncheckedAccount<'info>,
    /// CHECK: the settlement token's Pyth price, validated by `engine::marks::read_price`.
    pub settlement_price_update: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

impl RemoveCollateral<'_> {
    pub fn validate(&self) -> Result<()> {
        self.trader.require_active(pause::COLLATERAL)
    }
}

pub fn remove_collateral(ctx: Context<RemoveCollateral>, amount: u64) -> Result<()> {
    ctx.accounts.validate()?;
    require!(amount > 0, TidepoolError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let position_key = ctx.accounts.trader.position.key();
    let market_key = ctx.accounts.trader.market.key();
    let pool_key = ctx.accounts.trader.pool.key();
    let a = &mut *ctx.accounts;
    let t = &mut a.trader;

    let (price, settlement) = mark_market(
        &mut t.pool,
        &mut t.market,
        &a.price_update,
        &a.settlement_price_update,
        now,
    )?;
    require_pegged(&t.pool, &settlement)?;
    let (borrow, funding) = settle_fees(&mut t.pool, &mut t.market, &mut t.position, &settlement)?;

    require!(
        amount < t.position.collateral,
        TidepoolError::InsufficientCollateral
    );
    t.market.remove_position(&t.position)?;
    t.position.collateral -= amount;
    t.position.last_update_time = now;
    t.market
        .insert_position(&mut t.position, t.pool.settlement_decimals)?;
    t.pool.total_collateral = t.pool.total_collateral.safe_sub(amount)?;
    require_initial_margin(&t.pool, &t.market, &t.position, &price, &settlement)?;
    pay_from_vault(
        &a.token_program,
        &t.vault,
        &a.receiving_account,
        t.pool.to_account_info(),
        &t.pool,
        amount,
    )?;
    let event = CollateralChanged {
        pool: pool_key,
        market: market_key,
        position: position_key,
        owner: t.owner.key(),
        delta: -to_i64(amount as i128)?,
        borrow_fee_settled: borrow,
        funding_settled: to_i64(funding)?,
        total_collateral: t.position.collateral,
    };
    emit(&ctx.accounts.event_authority, &event)?;
    Ok(())
}
