use anchor_lang::prelude::*;

use crate::engine::marks::mark_market;
use crate::engine::marks::require_pegged;
use crate::engine::position::{apply_open, pool_utilization, OpenOutcome};
use crate::error::TidepoolError;
use crate::state::{Market, Pool, Position, PositionHealth, Side};

/// View: what `open_position` would do now, computed by the same code on copies.
#[derive(Accounts)]
pub struct QuoteOpenPosition<'info> {
    pub pool: Box<Account<'info, Pool>>,
    #[account(has_one = pool @ TidepoolError::MarketPoolMismatch)]
    pub market: Box<Account<'info, Market>>,
    /// The position to increase, if any.
    #[account(has_one = market @ TidepoolError::InvalidPosition)]
    pub position: Option<Box<Account<'info, Position>>>,
    /// CHECK: the market's Pyth price, validated by `engine::marks::read_price`.
    pub price_update: UncheckedAccount<'info>,
    /// CHECK: the settlement token's Pyth price, validated by `engine::marks::read_price`.
    pub settlement_price_update: UncheckedAccount<'info>,
}

/// Answer of `quote_open_position`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenQuote {
    pub outcome: OpenOutcome,
    /// The position afterwards, marked at its close fill price.
    pub health: PositionHealth,
    /// Whether `open_position` would pass its initial-margin check.
    pub meets_initial_margin: bool,
    /// Highest leverage the margin allows now, `expo = -4`.
    pub max_leverage_bps: u64,
    /// Pool utilization afterwards, bps.
    pub utilization_bps: u64,
}

pub fn quote_open_position(
    ctx: Context<QuoteOpenPosition>,
    side: Side,
    size_usd: u64,
    collateral: u64,
) -> Result<OpenQuote> {
    let now = Clock::get()?.unix_timestamp;
    let mut pool: Pool = (**ctx.accounts.pool).clone();
    let mut market: Market = (**ctx.accounts.market).clone();
    let mut position = match &ctx.accounts.position {
        Some(p) => {
            require!(p.side == side, TidepoolError::InvalidPosition);
            (***p).clone()
        }
        None => Position::empty(side, Pubkey::default(), ctx.accounts.market.key(), now),
    };
    let (price, settlement) = mark_market(
        &mut pool,
        &mut market,
        &ctx.accounts.price_update,
        &ctx.accounts.settlement_price_update,
        now,
    )?;
    require_pegged(&pool, &settlement)?;
    let any_price = if side.is_long() { u64::MAX } else { 0 };
    let outcome = apply_open(
        &mut pool,
        &mut market,
        &mut position,
        size_usd,
        collateral,
        any_price,
        &price,
        &settlement,
        now,
    )?;
    let utilization_bps = pool_utilization(&pool)?;
    let ratios = market.margin_ratios(
        &price,
        &settlement,
        &pool,
        side.is_long(),
        position.entry_notional_usd,
    )?;
    let mark = market.fill_price(&price, !side.is_long())?;
    let health = position.health(&market, mark, ratios, &settlement, pool.settlement_decimals)?;
    super::answer(OpenQuote {
        outcome,
        health,
        meets_initial_margin: health.meets_initial_margin(),
        max_leverage_bps: ratios.max_leverage_bps(),
        utilization_bps,
    })
}
