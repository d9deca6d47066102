use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use super::owner_position::*;
use crate::constants::pause;
use crate::engine::token::pay_into_vault;
use crate::error::TidepoolError;
use crate::events::{emit, CollateralChanged};
use crate::math::{to_i64, SafeMath};

/// Add collateral to a position. Needs no price: it only makes the position safer.
#[event_cpi]
#[derive(Accounts)]
pub struct AddCollateral<'info> {
    pub trader: OwnerPosition<'info>,
    #[account(mut, dup,
        constraint = funding_account.key() != trader.vault.key() @ TidepoolError::VaultAsUserAccount,
        constraint = funding_account.mint == trader.pool.settlement_mint @ TidepoolError::InvalidMint,
        constraint = funding_account.owner == trader.owner.key() @ TidepoolError::InvalidTokenOwner)]
    pub funding_account: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

impl AddCollateral<'_> {
    pub fn validate(&self) -> Result<()> {
        self.trader.require_active(pause::COLLATERAL)
    }
}

pub fn add_collateral(ctx: Context<AddCollateral>, amount: u64) -> Result<()> {
    ctx.accounts.validate()?;
    require!(amount > 0, TidepoolError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let position_key = ctx.accounts.trader.position.key();
    let market_key = ctx.accounts.trader.market.key();
    let pool_key = ctx.accounts.trader.pool.key();
    let a = &mut *ctx.accounts;
    let t = &mut a.trader;
    t.market.remove_position(&t.position)?;
    t.position.collateral = t.position.collateral.safe_add(amount)?;
    t.position.last_update_time = now;
    t.market
        .insert_position(&mut t.position, t.pool.settlement_decimals)?;
    t.pool.total_collateral = t.pool.total_collateral.safe_add(amount)?;
    pay_into_vault(
        &a.token_program,
        &a.funding_account,
        &t.vault,
        t.owner.to_account_info(),
        amount,
    )?;
    let event = CollateralChanged {
        pool: pool_key,
        market: market_key,
        position: position_key,
        owner: t.owner.key(),
        delta: to_i64(amount as i128)?,
        borrow_fee_settled: 0,
        funding_settled: 0,
        total_collateral: t.position.collateral,
    };
    emit(&ctx.accounts.event_authority, &event)?;
    Ok(())
}
