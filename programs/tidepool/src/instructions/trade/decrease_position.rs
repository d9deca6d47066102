use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use super::owner_position::*;
use crate::constants::pause;
use crate::engine::marks::mark_market;
use crate::engine::position::apply_decrease;
use crate::engine::token::pay_from_vault;
use crate::error::TidepoolError;
use crate::events::{emit, PositionDecreased};

/// Decrease or close a position. Closing returns the account's rent to the owner.
#[event_cpi]
#[derive(Accounts)]
pub struct DecreasePosition<'info> {
    pub trader: OwnerPosition<'info>,
    /// Receives the payout (any holder).
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

impl DecreasePosition<'_> {
    pub fn validate(&self) -> Result<()> {
        self.trader.require_active(pause::DECREASE)
    }
}

/// `size_usd`: entry notional to close, USD (`expo = -6`); at least the position's closes
/// it in full. `acceptable_price` (`expo = -9`): the lowest fill closing a long, the highest
/// closing a short. `min_amount_out`: the least payout accepted, tokens.
pub fn decrease_position(
    ctx: Context<DecreasePosition>,
    size_usd: u64,
    acceptable_price: u64,
    min_amount_out: u64,
) -> Result<()> {
    ctx.accounts.validate()?;
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

    let o = apply_decrease(
        &mut t.pool,
        &mut t.market,
        &mut t.position,
        size_usd,
        acceptable_price,
        &price,
        &settlement,
        now,
    )?;
    require!(o.payout >= min_amount_out, TidepoolError::SlippageExceeded);
    pay_from_vault(
        &a.token_program,
        &t.vault,
        &a.receiving_account,
        t.pool.to_account_info(),
        &t.pool,
        o.payout,
    )?;
    let p = &t.position;
    let event = PositionDecreased {
        pool: pool_key,
        market: market_key,
        position: position_key,
        owner: p.owner,
        side: p.side,
        size_usd: o.size_usd,
        size_base: o.size_base,
        fill_price: o.fill_price,
        pnl: o.pnl,
        close_fee: o.close_fee,
        borrow_fee: o.borrow_fee,
        funding: o.funding,
        payout: o.payout,
        protocol_fee: o.protocol_fee,
        bad_debt: o.bad_debt,
        fees_unpaid: o.fees_unpaid,
        closed: o.closed,
        remaining_size_base: p.size_base,
        remaining_collateral: p.collateral,
        remaining_reserved: p.reserved,
    };
    let bad_debt = o.bad_debt_event(&t.pool, market_key, position_key);
    if o.closed {
        t.position.close(t.owner.to_account_info())?;
    }
    emit(&ctx.accounts.event_authority, &event)?;
    if let Some(e) = bad_debt {
        emit(&ctx.accounts.event_authority, &e)?;
    }
    Ok(())
}
