use anchor_lang::prelude::*;
use tidepool_layout::{Fixed, FixedAccount};

use super::{MarketParams, Pool, Position};
use crate::math::margin::{
    margin_ratios, realized_volatility, MarginParams, MarginRatios, Volatility,
};
use crate::math::oracle::OraclePrice;
use crate::math::position::{borrow_owed_usd, funding_owed_usd};
use crate::math::pricing::{execution_price, spread_bps};
use crate::math::rates::{borrow_rate_bps, funding_delta, index_delta, INDEX_PRECISION};
use crate::math::valuation::{side_pnl_tokens, MarketExposure, SideExposure, Valuation};
use crate::math::volatility::{squared_log_return, update_variance};
use crate::math::{cast, mul_div, to_u64, MathResult, Rounding, SafeMath, BPS_DENOMINATOR};

/// What one position adds to its side's aggregates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contribution {
    pub size_base: u64,
    pub entry_notional_usd: u64,
    pub collateral: u64,
    pub reserved: u64,
    pub borrow_snapshot: u128,
    pub funding_snapshot: i128,
}

/// Aggregates of one side (long or short) of a market. With the snapshot sums, the fees
/// and funding a whole side owes follow without visiting its positions:
/// `Σ Nᵢ (index − snapᵢ) = index × Σ Nᵢ − Σ Nᵢ snapᵢ`.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace, Fixed,
)]
pub struct SideState {
    /// Σ position sizes, base units (`expo = -9`).
    pub open_interest_base: u64,
    /// Σ entry notionals, USD (`expo = -6`).
    pub open_interest_usd: u64,
    /// Σ collateral, settlement base units.
    pub total_collateral: u64,
    /// Σ reserved profit, settlement base units.
    pub total_reserved: u64,
    /// Number of open positions on this side.
    pub position_count: u32,
    /// Cumulative funding index of this side (`INDEX_PRECISION`), USD owed per USD of entry
    /// notional; falls when the side receives funding.
    pub cumulative_funding_index: i128,
    /// Σ entry notional × borrow index snapshot (`expo = -18`).
    pub borrow_snapshot_sum: u128,
    /// Σ entry notional × funding index snapshot (`expo = -18`).
    pub funding_snapshot_sum: i128,
    /// Bankruptcy and profit-cap price bounds over this side's positions.
    pub bounds: PriceBounds,
    pub padding: [u8; 20],
}

/// A position's bankruptcy price (where its loss equals its collateral) and profit-cap
/// price (where its profit equals its reserve), `expo = -9`; 0 when there is none.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace, Fixed,
)]
pub struct BoundPrices {
    pub bankrupt: u64,
    pub capped: u64,
}

impl BoundPrices {
    /// The bound over two sets of positions: for longs the highest bankruptcy and the
    /// lowest cap price, for shorts the lowest bankruptcy and the highest cap price.
    pub fn combine(self, other: Self, is_long: bool) -> Self {
        let highest = |a: u64, b: u64| a.max(b);
        let lowest = |a: u64, b: u64| match (a, b) {
            (0, x) | (x, 0) => x,
            (a, b) => a.min(b),
        };
        if is_long {
            Self {
                bankrupt: highest(self.bankrupt, other.bankrupt),
                capped: lowest(self.capped, other.capped),
            }
        } else {
            Self {
                bankrupt: lowest(self.bankrupt, other.bankrupt),
                capped: highest(self.capped, other.capped),
            }
        }
    }
}

/// Price bounds over a side's positions without visiting them, in two generations. Every
/// position carries the generation tag under which it last entered the side; a position
/// leaving the side cannot lower a bound (the next extreme is unknown), so the bound of a
/// generation is only dropped once none of its positions remains untouched: when the
/// previous generation is empty, the current one becomes the previous and a new one
/// starts. A position that sits untouched keeps its generation alive; anyone can re-tag
/// it with `refresh_market` (remaining accounts), which changes nothing else.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace, Fixed,
)]
pub struct PriceBounds {
    /// Current generation; positions tag themselves `generation + 1` (0 = untagged).
    pub generation: u32,
    pub current_count: u32,
    pub previous_count: u32,
    pub current: BoundPrices,
    pub previous: BoundPrices,
}

impl PriceBounds {
    /// The bound over every position now in the side.
    pub fn bound(&self, is_long: bool) -> BoundPrices {
        let pick = |count: u32, b: BoundPrices| {
            if count > 0 {
                b
            } else {
                BoundPrices::default()
            }
        };
        pick(self.current_count, self.current)
            .combine(pick(self.previous_count, self.previous), is_long)
    }

    fn insert(&mut self, prices: BoundPrices, is_long: bool) -> MathResult<u32> {
        self.current = self.current.combine(prices, is_long);
        self.current_count = self.current_count.safe_add(1)?;
        let tag = self.generation.safe_add(1)?;
        self.rotate()?;
        Ok(tag)
    }

    fn remove(&mut self, tag: u32) -> MathResult<()> {
        if tag == 0 {
            return Ok(());
        }
        if tag == self.generation.safe_add(1)? {
            self.current_count = self.current_count.safe_sub(1)?;
        } else if tag == self.generation {
            self.previous_count = self.previous_count.safe_sub(1)?;
        }
        self.rotate()
    }

    /// Once no position of the previous generation is left, the current one replaces it.
    fn rotate(&mut self) -> MathResult<()> {
        if self.previous_count == 0 {
            self.previous = self.current;
            self.previous_count = self.current_count;
            self.current = BoundPrices::default();
            self.current_count = 0;
            self.generation = self.generation.safe_add(1)?;
        }
        Ok(())
    }
}

impl SideState {
    pub fn add(&mut self, c: &Contribution) -> MathResult<()> {
        self.open_interest_base = self.open_interest_base.safe_add(c.size_base)?;
        self.open_interest_usd = self.open_interest_usd.safe_add(c.entry_notional_usd)?;
        self.total_collateral = self.total_collateral.safe_add(c.collateral)?;
        self.total_reserved = self.total_reserved.safe_add(c.reserved)?;
        let n = c.entry_notional_usd as u128;
        self.borrow_snapshot_sum = self
            .borrow_snapshot_sum
            .safe_add(n.safe_mul(c.borrow_snapshot)?)?;
        self.funding_snapshot_sum = self
            .funding_snapshot_sum
            .safe_add((n as i128).safe_mul(c.funding_snapshot)?)?;
        Ok(())
    }

    pub fn sub(&mut self, c: &Contribution) -> MathResult<()> {
        self.open_interest_base = self.open_interest_base.safe_sub(c.size_base)?;
        self.open_interest_usd = self.open_interest_usd.safe_sub(c.entry_notional_usd)?;
        self.total_collateral = self.total_collateral.safe_sub(c.collateral)?;
        self.total_reserved = self.total_reserved.safe_sub(c.reserved)?;
        let n = c.entry_notional_usd as u128;
        self.borrow_snapshot_sum = self
            .borrow_snapshot_sum
            .safe_sub(n.safe_mul(c.borrow_snapshot)?)?;
        self.funding_snapshot_sum = self
            .funding_snapshot_sum
            .safe_sub((n as i128).safe_mul(c.funding_snapshot)?)?;
        Ok(())
    }

    /// Borrow fees and funding the side owes (USD, `expo = -6`), rounded up.
    pub fn fees_owed_usd(&self, borrow_index: u128) -> MathResult<i128> {
        let n = self.open_interest_usd as u128;
        let borrow = n
            .safe_mul(borrow_index)?
            .saturating_sub(self.borrow_snapshot_sum);
        let borrow = mul_div(borrow, 1, INDEX_PRECISION, Rounding::Up)? as i128;
        let funding = (n as i128)
            .safe_mul(self.cumulative_funding_index)?
            .safe_sub(self.funding_snapshot_sum)?;
        // Ceiling for both signs: owed funding rounds up, funding owed to the side rounds
        // towards zero.
        let funding = funding.div_euclid(INDEX_PRECISION as i128)
            + i128::from(funding.rem_euclid(INDEX_PRECISION as i128) != 0);
        borrow.safe_add(funding)
    }

    pub fn exposure(&self, borrow_index: u128, is_long: bool) -> MathResult<SideExposure> {
        let bound = self.bounds.bound(is_long);
        let some = |p: u64| (p != 0).then_some(p);
        Ok(SideExposure {
            size_base: self.open_interest_base,
            entry_notional_usd: self.open_interest_usd,
            collateral: self.total_collateral,
            reserved: self.total_reserved,
            fees_owed_usd: self.fees_owed_usd(borrow_index)?,
            bankrupt_price: some(bound.bankrupt),
            capped_price: some(bound.capped),
        })
    }
}

/// A perpetual market on one index asset inside one pool.
/// PDA `["market", pool, index (u8)]`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, InitSpace, Debug, Fixed, FixedAccount)]
pub struct Market {
    /// Layout version (`ACCOUNT_VERSION`).
    pub version: u8,
    pub bump: u8,
    /// Position of this market in its pool's `markets`.
    pub index: u8,
    /// Pause flags of this market (`constants::pause`).
    pub pause_flags: u16,
    pub pool: Pubkey,
    /// Display name, UTF-8, zero padded (e.g. `SOL-PERP`).
    pub symbol: [u8; 16],
    /// Pyth feed id of the index asset's USD price.
    pub feed_id: [u8; 32],
    pub params: MarketParams,

    // --- oracle state -----------------------------------------------------------------
    /// Publish time of the last price this market used; no later read may be older.
    pub last_publish_time: i64,
    /// Last observed spot price (`expo = -9`); 0 before the first observation.
    pub last_price: u64,
    /// Last observed EMA price (`expo = -9`).
    pub last_ema_price: u64,
    /// Last observed confidence (`expo = -9`).
    pub last_confidence: u64,
    /// Slow EWMA variance of log returns per second (`expo = -18`); see `math::volatility`.
    pub variance: u128,
    /// Fast EWMA variance (time constant `fast_volatility_ewma_seconds`), same units.
    pub fast_variance: u128,
    /// Unix time of the last refresh or trade.
    pub last_update_time: i64,

    // --- fees ------------------------------------------------------------------------
    /// Cumulative borrow index (`INDEX_PRECISION`): USD of borrow fee per USD of entry
    /// notional since the market opened.
    pub cumulative_borrow_index: u128,
    /// Unix time up to which the borrow and funding indices have accrued.
    pub last_accrual_time: i64,
    /// Borrow rate of the last accrual, bps per year.
    pub borrow_rate_bps: u64,
    /// Funding rate of the last accrual, bps per year, paid by the heavier side.
    pub funding_rate_bps: u64,

    // --- open interest ---------------------------------------------------------------
    pub long: SideState,
    pub short: SideState,

    /// The pool's `utilization_integral` at `last_accrual_time`.
    pub utilization_integral_snapshot: u128,
    pub padding: [u8; 28],
}

impl Market {
    /// Bytes on chain, discriminator included.
    pub const SIZE: usize = 663;
    /// Byte offset of `pool` (memcmp filters; asserted in the client's layout test).
    pub const POOL_OFFSET: usize = 13;

    pub fn side(&self, is_long: bool) -> &SideState {
        if is_long {
            &self.long
        } else {
            &self.short
        }
    }

    pub fn side_mut(&mut self, is_long: bool) -> &mut SideState {
        if is_long {
            &mut self.long
        } else {
            &mut self.short
        }
    }

    /// Take `position` out of its side's aggregates, before changing it.
    pub fn remove_position(&mut self, position: &Position) -> MathResult<()> {
        let side = self.side_mut(position.is_long());
        side.sub(&position.contribution())?;
        side.bounds.remove(position.bounds_tag)
    }

    /// Put `position` (back) into its side's aggregates, with its bankruptcy and cap
    /// prices; tags it with the side's current bound generation. An empty position (closed)
    /// stays out.
    pub fn insert_position(&mut self, position: &mut Position, decimals: u8) -> MathResult<()> {
        if position.size_base == 0 {
            position.bounds_tag = 0;
            return Ok(());
        }
        let is_long = position.is_long();
        let prices = position.bound_prices(decimals)?;
        let side = self.side_mut(is_long);
        side.add(&position.contribution())?;
        position.bounds_tag = side.bounds.insert(prices, is_long)?;
        Ok(())
    }

    /// Record a validated oracle price: update the volatility estimate from the log
    /// return since the last observed price, and remember the price and its publish time.
    /// A reading with the same publish time as the last one changes nothing but the time.
    pub fn observe_price(&mut self, price: &OraclePrice, now: i64) -> MathResult<()> {
        if self.last_price != 0 && price.publish_time > self.last_publish_time {
            let r2 = squared_log_return(self.last_price, price.spot)?;
            let dt: u64 = cast(price.publish_time.safe_sub(self.last_publish_time)?)?;
            self.variance = update_variance(
                self.variance,
                r2,
                dt,
                self.params.volatility_ewma_seconds as u64,
            )?;
            self.fast_variance = update_variance(
                self.fast_variance,
                r2,
                dt,
                self.params.fast_volatility_ewma_seconds as u64,
            )?;
        }
        if self.last_price == 0 || price.publish_time > self.last_publish_time {
            self.last_price = price.spot;
            self.last_ema_price = price.ema;
            self.last_confidence = price.confidence;
            self.last_publish_time = price.publish_time;
        }
        self.last_update_time = now;
        Ok(())
    }

    /// Accrue the borrow index and the funding indices (rate from the skew) up to `now`.
    /// The borrow rate is taken at the pool's time-weighted average utilization since the
    /// last accrual (`utilization_integral` is the pool's ∫ utilization dt carried to
    /// `now`), rounded up: what the utilization was over the period, not at its end.
    pub fn accrue(&mut self, now: i64, utilization_integral: u128) -> MathResult<()> {
        let dt = now.saturating_sub(self.last_accrual_time);
        if dt <= 0 {
            return Ok(());
        }
        let dt: u64 = cast(dt)?;
        let utilization_bps = to_u64(mul_div(
            utilization_integral.saturating_sub(self.utilization_integral_snapshot),
            1,
            dt as u128,
            Rounding::Up,
        )?)?;
        self.utilization_integral_snapshot = utilization_integral;
        let p = &self.params;
        let rate = borrow_rate_bps(
            utilization_bps,
            p.borrow_base_rate_bps,
            p.borrow_optimal_utilization_bps,
            p.borrow_slope1_bps,
            p.borrow_slope2_bps,
        )?;
        self.cumulative_borrow_index = self
            .cumulative_borrow_index
            .safe_add(index_delta(rate, dt)?)?;
        self.borrow_rate_bps = rate;
        let f = funding_delta(
            self.long.open_interest_usd,
            self.short.open_interest_usd,
            p.funding_rate_bps,
            p.max_skew_usd,
            dt,
        )?;
        self.long.cumulative_funding_index = self.long.cumulative_funding_index.safe_add(f.long)?;
        self.short.cumulative_funding_index =
            self.short.cumulative_funding_index.safe_add(f.short)?;
        self.funding_rate_bps = f.rate_bps;
        self.last_accrual_time = now;
        Ok(())
    }

    /// Borrow fee (USD, rounded up) and funding (USD, signed) a position owes.
    pub fn owed_usd(
        &self,
        is_long: bool,
        entry_notional_usd: u64,
        borrow_snapshot: u128,
        funding_snapshot: i128,
    ) -> MathResult<(u64, i128)> {
        Ok((
            borrow_owed_usd(
                entry_notional_usd,
                borrow_snapshot,
                self.cumulative_borrow_index,
            )?,
            funding_owed_usd(
                entry_notional_usd,
                funding_snapshot,
                self.side(is_long).cumulative_funding_index,
            )?,
        ))
    }

    pub fn margin_params(&self) -> MarginParams {
        let p = &self.params;
        MarginParams {
            base_initial_margin_bps: p.base_initial_margin_bps,
            base_maintenance_margin_bps: p.base_maintenance_margin_bps,
            volatility_multiplier_bps: p.volatility_multiplier_bps,
            pool_stress_margin_bps: p.pool_stress_margin_bps,
            size_margin_bps: p.size_margin_bps,
            size_margin_scale_usd: p.size_margin_scale_usd,
        }
    }

    /// What margin prices now: realized volatility over the liquidation horizon (the
    /// higher of the fast and slow estimates), the price's divergence from its EMA and its
    /// confidence ratio.
    pub fn volatility(&self, price: &OraclePrice) -> MathResult<Volatility> {
        Volatility::new(
            self.fast_variance,
            self.variance,
            self.params.liquidation_horizon_seconds as u64,
            price,
        )
    }

    /// Realized volatility over the liquidation horizon: the higher of the fast and slow
    /// estimates (`expo = -9`).
    pub fn realized_volatility(&self) -> MathResult<u64> {
        realized_volatility(
            self.fast_variance,
            self.variance,
            self.params.liquidation_horizon_seconds as u64,
        )
    }

    /// How close this market's traders on one side are to what the pool can pay them: the
    /// side's unrealized profit (its largest plausible claim) over the pool's PnL cap
    /// (`max_pnl_factor × LP balance`), bps, capped at 100 %. One market's side against the
    /// whole pool's cap: O(1) for a trade, where the pool-wide figure needs every market.
    pub fn profit_stress_bps(
        &self,
        is_long: bool,
        price: &OraclePrice,
        settlement: &OraclePrice,
        pool: &Pool,
    ) -> MathResult<u64> {
        let side = self
            .side(is_long)
            .exposure(self.cumulative_borrow_index, is_long)?;
        let profit = side_pnl_tokens(
            &side,
            is_long,
            price,
            settlement,
            pool.settlement_decimals,
            Valuation::Min,
        )?
        .max(0) as u128;
        let cap = mul_div(
            pool.lp_balance as u128,
            pool.params.max_pnl_factor_bps as u128,
            BPS_DENOMINATOR as u128,
            Rounding::Down,
        )?;
        if cap == 0 {
            return Ok(if profit > 0 { BPS_DENOMINATOR } else { 0 });
        }
        Ok(
            mul_div(profit, BPS_DENOMINATOR as u128, cap, Rounding::Up)?
                .min(BPS_DENOMINATOR as u128) as u64,
        )
    }

    /// Margin ratios now, for a position of `size_usd` on side `is_long` in `pool`. The
    /// pool's stress raises the initial margin: the higher of its reserves over their cap and
    /// this side's profit over the pool's PnL cap (`profit_stress_bps`).
    pub fn margin_ratios(
        &self,
        price: &OraclePrice,
        settlement: &OraclePrice,
        pool: &Pool,
        is_long: bool,
        size_usd: u64,
    ) -> MathResult<MarginRatios> {
        let stress = pool
            .stress_bps()?
            .max(self.profit_stress_bps(is_long, price, settlement, pool)?);
        margin_ratios(
            &self.margin_params(),
            self.volatility(price)?,
            stress,
            size_usd,
        )
    }

    /// Fill price of a buy (open long, close short) or a sell.
    pub fn fill_price(&self, price: &OraclePrice, buy: bool) -> MathResult<u64> {
        let spread = spread_bps(
            self.params.base_spread_bps,
            self.params.confidence_spread_bps,
            price,
        )?;
        execution_price(price, buy, spread)
    }

    /// Aggregate exposure at `price`, for pool valuation.
    pub fn exposure(&self, price: OraclePrice) -> MathResult<MarketExposure> {
        Ok(MarketExposure {
            long: self.long.exposure(self.cumulative_borrow_index, true)?,
            short: self.short.exposure(self.cumulative_borrow_index, false)?,
            price,
        })
    }
}
crate::const_assert_size!(Market, Market::SIZE);
