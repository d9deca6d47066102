//! A position's life against its market and pool: fee crediting, fee settlement into
//! collateral, open and close, and the margin checks. The formulas themselves live in
//! `math/` and on the state types.

use anchor_lang::prelude::*;

use crate::error::TidepoolError;
use crate::events::BadDebtAbsorbed;
use crate::math::oracle::OraclePrice;
use crate::math::position::{
    base_rounding, cap_funding_received, owed_usd_to_tokens, pnl_usd, settle_close,
    signed_usd_to_tokens, size_base_for,
};
use crate::math::pricing::within_acceptable;
use crate::math::valuation::{notional_usd, tokens_to_usd};
use crate::math::{add_signed, bps_of, to_i64, to_u64, Rounding, SafeMath, BPS_DENOMINATOR};
use crate::state::{Market, Pool, Position, PositionHealth};

/// Credit `fees` (already taken from a trader) to the protocol and the LPs.
/// Returns the protocol's part (rounded down; the LPs keep the remainder).
pub fn credit_fees(pool: &mut Pool, fees: u64) -> Result<u64> {
    let protocol = bps_of(
        fees,
        pool.params.protocol_fee_share_bps as u64,
        Rounding::Down,
    )?;
    let lp = fees.safe_sub(protocol)?;
    pool.protocol_fees_owed = pool.protocol_fees_owed.safe_add(protocol)?;
    pool.lp_balance = pool.lp_balance.safe_add(lp)?;
    pool.cumulative_lp_fees = pool.cumulative_lp_fees.safe_add(lp)?;
    Ok(protocol)
}

/// Move a position's accrued borrow fee and funding into (or out of) its collateral and
/// reset its snapshots to the market's current indices. The borrow fee goes to the LPs and
/// the protocol; funding goes through the LP balance, which pays it on to the other side
/// when those positions settle. Fails when the collateral does not cover what is owed.
/// Returns `(borrow fee, funding)` in tokens.
pub fn settle_fees(
    pool: &mut Pool,
    market: &mut Market,
    position: &mut Position,
    settlement: &OraclePrice,
) -> Result<(u64, i128)> {
    let (borrow, funding) = position.owed_tokens(market, settlement, pool.settlement_decimals)?;
    // Funding received (capped at the reserve by `owed_tokens`) counts against the reserve:
    // the position's maximum payout (collateral + reserve) stays where it was, and the
    // reserves fall with the LP balance.
    let received = to_u64(funding.min(0).unsigned_abs())?;
    let due = (borrow as i128).safe_add(funding)?;
    require!(
        due <= position.collateral as i128,
        TidepoolError::PositionUnderwater
    );
    market.remove_position(position)?;
    position.reserved = position.reserved.safe_sub(received)?;
    pool.total_reserved = pool.total_reserved.safe_sub(received)?;
    position.collateral = add_signed(position.collateral, -due)?;
    position.borrow_snapshot = market.cumulative_borrow_index;
    position.funding_snapshot = market.side(position.is_long()).cumulative_funding_index;
    market.insert_position(position, pool.settlement_decimals)?;

    pool.total_collateral = add_signed(pool.total_collateral, -due)?;
    credit_fees(pool, borrow)?;
    pool.lp_balance = add_signed(pool.lp_balance, funding)?;
    Ok((borrow, funding))
}

/// Pool utilization in bps (reserved / LP balance).
pub fn pool_utilization(pool: &Pool) -> Result<u64> {
    Ok(pool.utilization_bps()?)
}

/// Health valued against the trader (marked at its close fill price) with the margin
/// ratios of now; fails unless equity covers the initial margin.
pub fn require_initial_margin(
    pool: &Pool,
    market: &Market,
    position: &Position,
    price: &OraclePrice,
    settlement: &OraclePrice,
) -> Result<PositionHealth> {
    let mark = market.fill_price(price, !position.is_long())?;
    let ratios = market.margin_ratios(
        price,
        settlement,
        pool,
        position.is_long(),
        position.entry_notional_usd,
    )?;
    let health = position.health(market, mark, ratios, settlement, pool.settlement_decimals)?;
    require!(
        health.meets_initial_margin(),
        TidepoolError::InsufficientMargin
    );
    Ok(health)
}

/// What an open or increase did.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOutcome {
    /// Fill price, `expo = -9`.
    pub fill_price: u64,
    /// Added size, base units.
    pub size_base: u64,
    /// Open fee, tokens (taken from the collateral).
    pub open_fee: u64,
    /// Profit reserved for the added size, tokens.
    pub reserve: u64,
    /// Borrow fee and funding settled from the existing collateral first, tokens.
    pub borrow_fee_settled: u64,
    pub funding_settled: i64,
}

/// Open or increase `position` by `size_usd` with `collateral_in` more tokens, in memory:
/// fees settled, fill at the spread price, fee and reserve booked, caps and utilization
/// checked. The caller checks the initial margin and moves the tokens. The view
/// `quote_open_position` runs the same function on copies.
#[allow(clippy::too_many_arguments)]
pub fn apply_open(
    pool: &mut Pool,
    market: &mut Market,
    position: &mut Position,
    size_usd: u64,
    collateral_in: u64,
    acceptable_price: u64,
    price: &OraclePrice,
    settlement: &OraclePrice,
    now: i64,
) -> Result<OpenOutcome> {
    require!(size_usd > 0, TidepoolError::ZeroSize);
    let is_long = position.is_long();
    let decimals = pool.settlement_decimals;
    let (borrow_fee_settled, funding_settled) = if position.size_base == 0 {
        position.borrow_snapshot = market.cumulative_borrow_index;
        position.funding_snapshot = market.side(is_long).cumulative_funding_index;
        (0, 0)
    } else {
        settle_fees(pool, market, position, settlement)?
    };

    let fill_price = market.fill_price(price, is_long)?;
    require!(
        within_acceptable(fill_price, acceptable_price, is_long),
        TidepoolError::PriceSlippage
    );
    let size_base = size_base_for(size_usd, fill_price, is_long)?;
    require!(size_base > 0, TidepoolError::ZeroSize);
    let p = market.params;
    let open_fee = owed_usd_to_tokens(
        bps_of(size_usd, p.open_fee_bps as u64, Rounding::Up)?,
        settlement,
        decimals,
    )?;
    let reserve = owed_usd_to_tokens(
        bps_of(size_usd, p.max_profit_factor_bps as u64, Rounding::Up)?,
        settlement,
        decimals,
    )?;
    let collateral_total = position.collateral.safe_add(collateral_in)?;
    require!(
        collateral_total > open_fee,
        TidepoolError::InsufficientCollateral
    );
    require!(
        position.entry_notional_usd.safe_add(size_usd)? >= p.min_position_usd,
        TidepoolError::PositionTooSmall
    );

    // Open interest caps, and the skew cap unless the trade reduces the skew.
    let (long_before, short_before) = (
        market.long.open_interest_usd,
        market.short.open_interest_usd,
    );
    let (long_after, short_after) = if is_long {
        (long_before.safe_add(size_usd)?, short_before)
    } else {
        (long_before, short_before.safe_add(size_usd)?)
    };
    let cap = if is_long {
        p.max_long_open_interest_usd
    } else {
        p.max_short_open_interest_usd
    };
    require!(
        (if is_long { long_after } else { short_after }) <= cap,
        TidepoolError::OpenInterestCapExceeded
    );
    // New risk stops on a side whose traders already hold what the pool's PnL cap allows.
    require!(
        market.profit_stress_bps(is_long, price, settlement, pool)? < BPS_DENOMINATOR,
        TidepoolError::PoolProfitCapReached
    );
    // The skew cap: the market's own, and the pool's net-exposure share of its LP balance
    // (settlement tokens valued at the low end of their price).
    let skew_after = long_after.abs_diff(short_after);
    let exposure_cap = tokens_to_usd(
        bps_of(
            pool.lp_balance,
            pool.params.max_net_exposure_bps as u64,
            Rounding::Down,
        )?,
        settlement.low(),
        decimals,
        Rounding::Down,
    )?;
    require!(
        skew_after <= p.max_skew_usd.min(exposure_cap)
            || skew_after <= long_before.abs_diff(short_before),
        TidepoolError::SkewCapExceeded
    );

    market.remove_position(position)?;
    if position.size_base == 0 {
        let side = market.side_mut(is_long);
        side.position_count = side.position_count.safe_add(1)?;
    }
    position.size_base = position.size_base.safe_add(size_base)?;
    position.entry_notional_usd = position.entry_notional_usd.safe_add(size_usd)?;
    position.collateral = collateral_total - open_fee;
    position.reserved = position.reserved.safe_add(reserve)?;
    position.last_increase_time = now;
    position.last_update_time = now;
    market.insert_position(position, decimals)?;

    // The fee leaves the collateral (it may exceed the new collateral on an increase).
    pool.total_collateral = pool
        .total_collateral
        .safe_add(collateral_in)?
        .safe_sub(open_fee)?;
    credit_fees(pool, open_fee)?;
    pool.total_reserved = pool.total_reserved.safe_add(reserve)?;
    require!(
        (pool.total_reserved as u128) * (BPS_DENOMINATOR as u128)
            <= (pool.params.max_utilization_bps as u128) * (pool.lp_balance as u128),
        TidepoolError::MaxUtilizationExceeded
    );
    Ok(OpenOutcome {
        fill_price,
        size_base,
        open_fee,
        reserve,
        borrow_fee_settled,
        funding_settled: to_i64(funding_settled)?,
    })
}

/// What a decrease or close did.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecreaseOutcome {
    /// Fill price, `expo = -9`.
    pub fill_price: u64,
    /// Closed entry notional, USD (`expo = -6`).
    pub size_usd: u64,
    /// Closed size, base units.
    pub size_base: u64,
    /// Realized PnL, tokens (capped at the released reserve; no profit inside the hold).
    pub pnl: i64,
    pub close_fee: u64,
    pub borrow_fee: u64,
    pub funding: i64,
    /// Tokens for the trader (paid out, or kept as collateral by a partial liquidation).
    pub payout: u64,
    pub protocol_fee: u64,
    /// Tokens for the keeper that closed it (liquidation, trigger order, deleveraging).
    pub keeper_fee: u64,
    pub bad_debt: u64,
    /// The whole position was closed.
    pub closed: bool,
    /// Part of `close_fee + borrow_fee` not collected: what the trader's gross (collateral
    /// + PnL − funding) did not cover. The trader's result is `pnl − funding − close_fee −
    /// borrow_fee + fees_unpaid − keeper_fee + bad_debt` on the released collateral.
    pub fees_unpaid: u64,
}

impl DecreaseOutcome {
    /// The `BadDebtAbsorbed` event a close owes when it left the LPs a loss beyond the
    /// position's collateral (`pool` after the close), else none.
    pub fn bad_debt_event(
        &self,
        pool: &Account<Pool>,
        market: Pubkey,
        position: Pubkey,
    ) -> Option<BadDebtAbsorbed> {
        (self.bad_debt > 0).then(|| BadDebtAbsorbed {
            pool: pool.key(),
            market,
            position,
            amount: self.bad_debt,
            total_bad_debt: pool.bad_debt,
        })
    }
}

/// What a keeper earns for a close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeeperFee {
    None,
    /// bps of the closed notional at the fill (liquidation).
    BpsOfNotional(u16),
    /// A flat USD amount (`expo = -6`) (trigger orders, deleveraging).
    FlatUsd(u64),
}

/// Decrease `position` by `size_usd` of entry notional (all of it when `size_usd` reaches
/// the position's) at the trader's request: the close fill price, checked against
/// `acceptable_price`. The view `quote_decrease_position` runs the same function on copies.
#[allow(clippy::too_many_arguments)]
pub fn apply_decrease(
    pool: &mut Pool,
    market: &mut Market,
    position: &mut Position,
    size_usd: u64,
    acceptable_price: u64,
    price: &OraclePrice,
    settlement: &OraclePrice,
    now: i64,
) -> Result<DecreaseOutcome> {
    let fill_price = market.fill_price(price, !position.is_long())?;
    require!(
        within_acceptable(fill_price, acceptable_price, !position.is_long()),
        TidepoolError::PriceSlippage
    );
    apply_close(
        pool,
        market,
        position,
        size_usd,
        fill_price,
        KeeperFee::None,
        true,
        settlement,
        now,
    )
}

/// Close `size_usd` of entry notional (all of it when it reaches the position's) at
/// `fill_price`, in memory: PnL realized (capped at the released reserve, no profit inside
/// the minimum hold when `enforce_min_hold`), fees and the keeper's fee collected, reserve
/// and collateral released, books updated. The caller moves the tokens and closes the
/// account. Every close in the program goes through here.
#[allow(clippy::too_many_arguments)]
pub fn apply_close(
    pool: &mut Pool,
    market: &mut Market,
    position: &mut Position,
    size_usd: u64,
    fill_price: u64,
    keeper_fee: KeeperFee,
    enforce_min_hold: bool,
    settlement: &OraclePrice,
    now: i64,
) -> Result<DecreaseOutcome> {
    require!(size_usd > 0, TidepoolError::ZeroSize);
    let is_long = position.is_long();
    let decimals = pool.settlement_decimals;
    let closed = size_usd >= position.entry_notional_usd;

    // Whole-position fees: folded into the close when closing in full (so an underwater
    // position can still be closed), settled into the collateral first otherwise.
    let (borrow_fee, funding) = if closed {
        position.owed_tokens(market, settlement, decimals)?
    } else {
        settle_fees(pool, market, position, settlement)?
    };
    let (size_usd, size_base, collateral, reserve) = if closed {
        (
            position.entry_notional_usd,
            position.size_base,
            position.collateral,
            position.reserved,
        )
    } else {
        let whole = position.entry_notional_usd;
        require!(
            whole - size_usd >= market.params.min_position_usd,
            TidepoolError::RemainingPositionTooSmall
        );
        (
            size_usd,
            // The closed base rounds for the pool: a long sells less, a short buys back more.
            Position::portion_rounded(position.size_base, size_usd, whole, base_rounding(is_long))?
                .min(position.size_base),
            Position::portion(position.collateral, size_usd, whole)?,
            Position::portion(position.reserved, size_usd, whole)?,
        )
    };
    require!(size_base > 0, TidepoolError::ZeroSize);

    let mut pnl = pnl_usd(is_long, size_base, size_usd, fill_price, true)?;
    if enforce_min_hold && position.in_min_hold(market, now) {
        pnl = pnl.min(0);
    }
    let pnl = signed_usd_to_tokens(pnl, settlement, decimals, true)?.min(reserve as i128);
    let closed_notional = notional_usd(size_base, fill_price, Rounding::Up)?;
    let close_fee = owed_usd_to_tokens(
        bps_of(
            closed_notional,
            market.params.close_fee_bps as u64,
            Rounding::Up,
        )?,
        settlement,
        decimals,
    )?;
    let keeper_fee_usd = match keeper_fee {
        KeeperFee::None => 0,
        KeeperFee::BpsOfNotional(bps) => bps_of(closed_notional, bps as u64, Rounding::Up)?,
        KeeperFee::FlatUsd(usd) => usd,
    };
    let keeper_fee_due = owed_usd_to_tokens(keeper_fee_usd, settlement, decimals)?;
    let (funding_due, fees_due): (i128, u64) = if closed {
        (
            cap_funding_received(pnl, funding, reserve),
            borrow_fee.safe_add(close_fee)?,
        )
    } else {
        (0, close_fee)
    };
    let s = settle_close(
        collateral,
        pnl,
        funding_due,
        fees_due,
        keeper_fee_due,
        pool.params.protocol_fee_share_bps,
    )?;

    market.remove_position(position)?;
    if closed {
        let side = market.side_mut(is_long);
        side.position_count = side.position_count.safe_sub(1)?;
    }
    position.size_base = position.size_base.safe_sub(size_base)?;
    position.entry_notional_usd = position.entry_notional_usd.safe_sub(size_usd)?;
    position.collateral = position.collateral.safe_sub(collateral)?;
    position.reserved = position.reserved.safe_sub(reserve)?;
    position.last_update_time = now;
    market.insert_position(position, decimals)?;

    pool.total_collateral = pool.total_collateral.safe_sub(collateral)?;
    pool.total_reserved = pool.total_reserved.safe_sub(reserve)?;
    pool.lp_balance = add_signed(pool.lp_balance, s.lp_delta)?;
    pool.protocol_fees_owed = pool.protocol_fees_owed.safe_add(s.protocol_fee)?;
    pool.cumulative_lp_fees = pool
        .cumulative_lp_fees
        .safe_add(s.fees_collected - s.protocol_fee)?;
    pool.bad_debt = pool.bad_debt.safe_add(s.bad_debt)?;

    Ok(DecreaseOutcome {
        fill_price,
        size_usd,
        size_base,
        pnl: to_i64(pnl)?,
        close_fee,
        borrow_fee,
        funding: to_i64(if closed { funding_due } else { funding })?,
        payout: s.payout,
        protocol_fee: s.protocol_fee,
        keeper_fee: s.keeper_fee,
        bad_debt: s.bad_debt,
        closed,
        fees_unpaid: fees_due.safe_sub(s.fees_collected)?,
    })
}

/// Keep `amount` of a partially closed position's payout as its collateral (a partial
/// liquidation pays nothing out: the realized loss and fees came out of the collateral).
pub fn rebook_as_collateral(
    pool: &mut Pool,
    market: &mut Market,
    position: &mut Position,
    amount: u64,
) -> Result<()> {
    market.remove_position(position)?;
    position.collateral = position.collateral.safe_add(amount)?;
    market.insert_position(position, pool.settlement_decimals)?;
    // `apply_close` counted the payout as leaving the vault; it stays, as collateral.
    pool.total_collateral = pool.total_collateral.safe_add(amount)?;
    Ok(())
}
