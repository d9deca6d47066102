//! Admin-set parameters with their bounds. `validate()` refuses anything outside sane
//! bounds, each kind of mistake with its own error.

use anchor_lang::prelude::*;
use tidepool_layout::Fixed;

use crate::constants::ORACLE_MAX_FUTURE_SECONDS;
use crate::error::TidepoolError;
use crate::math::BPS_DENOMINATOR;

const BPS: u64 = BPS_DENOMINATOR;
const ONE_HOUR: u32 = 3_600;
const THIRTY_DAYS: u32 = 30 * 24 * ONE_HOUR;

/// Guards applied to every Pyth price a pool or market reads.
#[derive(AnchorSerialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace, Fixed)]
pub struct OracleGuards {
    /// Oldest acceptable publish time, seconds before now. `1..=3600`.
    pub max_age_seconds: u32,
    /// Largest acceptable `confidence / price`, bps. `1..=1000`.
    pub max_confidence_bps: u16,
    /// Largest acceptable `|spot - ema| / ema`, bps. `1..=5000`.
    pub max_ema_deviation_bps: u16,
}

impl OracleGuards {
    pub fn validate(&self) -> Result<()> {
        require!(
            (1..=ONE_HOUR).contains(&self.max_age_seconds),
            TidepoolError::InvalidOracleMaxAge
        );
        require!(
            (1..=1_000).contains(&self.max_confidence_bps),
            TidepoolError::InvalidOracleConfidenceBound
        );
        require!(
            (1..=5_000).contains(&self.max_ema_deviation_bps),
            TidepoolError::InvalidOracleDeviationBound
        );
        Ok(())
    }
}

/// Pool parameters (`create_pool`, `update_pool_params`).
#[derive(AnchorSerialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace, Fixed)]
pub struct PoolParams {
    /// Guards for the settlement token's own price feed.
    pub settlement_oracle: OracleGuards,
    /// New risk is refused when the settlement token is further than this from $1, bps.
    /// `1..=2000`.
    pub max_depeg_bps: u16,
    /// LP fee on deposits, bps of the amount. `0..=1000`.
    pub deposit_fee_bps: u16,
    /// LP fee on withdrawals, bps of the amount. `0..=1000`.
    pub withdraw_fee_bps: u16,
    /// Σ reserved may be at most this share of the LP balance, bps. `1..=10000`.
    pub max_utilization_bps: u16,
    /// Auto-deleveraging starts when traders' aggregate unrealized profit exceeds this share
    /// of the pool value, bps. `1..=10000`.
    pub max_pnl_factor_bps: u16,
    /// Protocol's share of trading fees, bps of each fee. `0..=10000`.
    pub protocol_fee_share_bps: u16,
    /// Each market's net exposure, `|long − short|` open interest (USD), may be at most this
    /// share of the LP balance, bps, unless a trade reduces it: what the LPs can lose to one
    /// market's crowd per unit of price move. `1..=100000` (10x).
    pub max_net_exposure_bps: u32,
    /// LP deposits and withdrawals are requests that a keeper executes with prices published
    /// at least this long after the request: longer than any gap between the cluster clock
    /// and the oracle's, so that no price known at the request can be used to execute it.
    /// Seconds, above `ORACLE_MAX_FUTURE_SECONDS` (how far a price may run ahead of the
    /// cluster clock) and at most `3600`.
    pub lp_request_delay_seconds: u32,
    /// Lamports a requester pays into its request for the keeper that executes it (returned
    /// on cancellation). `0..=1 SOL`.
    pub lp_request_keeper_fee_lamports: u64,
}

impl PoolParams {
    pub fn validate(&self) -> Result<()> {
        self.settlement_oracle.validate()?;
        require!(
            (1..=2_000).contains(&self.max_depeg_bps),
            TidepoolError::InvalidDepegBound
        );
        require!(
            self.deposit_fee_bps <= 1_000 && self.withdraw_fee_bps <= 1_000,
            TidepoolError::InvalidFee
        );
        require!(
            (1..=BPS as u16).contains(&self.max_utilization_bps),
            TidepoolError::InvalidUtilization
        );
        require!(
            (1..=BPS as u16).contains(&self.max_pnl_factor_bps)
                && (1..=10 * BPS as u32).contains(&self.max_net_exposure_bps),
            TidepoolError::InvalidPnlFactor
        );
        require!(
            self.protocol_fee_share_bps as u64 <= BPS,
            TidepoolError::InvalidFee
        );
        require!(
            (ORACLE_MAX_FUTURE_SECONDS as u32 + 1..=ONE_HOUR)
                .contains(&self.lp_request_delay_seconds)
                && self.lp_request_keeper_fee_lamports <= 1_000_000_000,
            TidepoolError::InvalidRequestParams
        );
        Ok(())
    }
}

/// Market parameters (`create_market`, `update_market_params`). Rates are per year.
#[derive(AnchorSerialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace, Fixed)]
pub struct MarketParams {
    pub oracle: OracleGuards,

    // --- risk: margin from volatility, pool stress and size (`math::margin`) -------------
    /// Initial margin floor, bps. `1..=5000` and above maintenance; `base_im − base_mm` is
    /// the noise buffer every initial margin carries above the maintenance margin.
    pub base_initial_margin_bps: u16,
    /// Maintenance margin floor, bps. Above the liquidation fee, below initial.
    pub base_maintenance_margin_bps: u16,
    /// `z`: the confidence multiple of the adverse move margin covers, bps of σ (30000 = 3σ).
    /// `0..=1_000_000`.
    pub volatility_multiplier_bps: u32,
    /// Initial margin added when the pool's reserves reach its utilization cap, bps of
    /// notional (quadratic in reserves / cap). `0..=10000`.
    pub pool_stress_margin_bps: u32,
    /// Extra initial margin per `size_margin_scale_usd` of position size, bps. `0..=5000`.
    pub size_margin_bps: u16,
    /// Size (USD, `expo = -6`) at which the size add-on reaches `size_margin_bps`. `> 0`.
    pub size_margin_scale_usd: u64,
    /// The liquidation horizon: how long the price may run between the last price a keeper
    /// could liquidate at and the one it gets (oracle interval, keeper latency, gaps),
    /// seconds; volatility is measured over it. `10..=1 day`.
    pub liquidation_horizon_seconds: u32,
    /// Time constant of the slow volatility EWMA, seconds. `60..=30 days`.
    pub volatility_ewma_seconds: u32,
    /// Time constant of the fast volatility EWMA, seconds. `60..=volatility_ewma_seconds`.
    pub fast_volatility_ewma_seconds: u32,
    /// Cap on long open interest, USD (`expo = -6`). `> 0`.
    pub max_long_open_interest_usd: u64,
    /// Cap on short open interest, USD (`expo = -6`). `> 0`.
    pub max_short_open_interest_usd: u64,
    /// Cap on `|long - short|` open interest, USD (`expo = -6`). `> 0`.
    pub max_skew_usd: u64,
    /// Reserve per position: `size_usd * max_profit_factor`, bps. `100..=100_000` (0.01x..10x).
    pub max_profit_factor_bps: u32,
    /// Closing within this many seconds of the last increase realizes no profit. `<= 1 day`.
    pub min_hold_seconds: u32,
    /// Smallest position, USD (`expo = -6`); also the dust threshold of partial closes.
    pub min_position_usd: u64,

    // --- fees ------------------------------------------------------------------------------
    /// Open fee, bps of notional. `0..=1000`.
    pub open_fee_bps: u16,
    /// Close fee, bps of notional. `0..=1000`.
    pub close_fee_bps: u16,
    /// Fixed part of the execution spread, bps. `0..=1000`.
    pub base_spread_bps: u16,
    /// Spread added per unit of `confidence / price`, bps (10000 = the full confidence).
    /// `0..=50000`.
    pub confidence_spread_bps: u16,
    /// Borrow rate at zero utilization, bps per year. `0..=100_000`.
    pub borrow_base_rate_bps: u32,
    /// Kink of the borrow curve, bps of utilization. `1..=10000`.
    pub borrow_optimal_utilization_bps: u16,
    /// Rate added from zero to optimal utilization, bps per year. `0..=100_000`.
    pub borrow_slope1_bps: u32,
    /// Rate added from optimal to full utilization, bps per year. `0..=1_000_000`.
    pub borrow_slope2_bps: u32,
    /// Funding rate at a skew equal to `max_skew_usd`, bps per year. `0..=1_000_000`.
    pub funding_rate_bps: u32,
    /// Liquidation fee to the keeper, bps of the closed notional. `0..=1000` and below
    /// `base_maintenance_margin_bps`.
    pub liquidation_fee_bps: u16,
    /// Keeper fee for executing a trigger order, USD (`expo = -6`). `<= 1000 USD`.
    pub keeper_fee_usd: u64,
}

impl MarketParams {
    pub fn validate(&self) -> Result<()> {
        self.oracle.validate()?;
        require!(
            (1..=5_000).contains(&self.base_initial_margin_bps)
                && self.base_maintenance_margin_bps >= 1
                && self.base_maintenance_margin_bps < self.base_initial_margin_bps,
            TidepoolError::InvalidMarginRatio
        );
        require!(
            self.volatility_multiplier_bps <= 1_000_000
                && self.pool_stress_margin_bps <= BPS as u32
                && self.size_margin_bps <= 5_000
                && self.size_margin_scale_usd > 0,
            TidepoolError::InvalidMarginMultiplier
        );
        require!(
            (10..=24 * ONE_HOUR).contains(&self.liquidation_horizon_seconds)
                && (60..=THIRTY_DAYS).contains(&self.volatility_ewma_seconds)
                && (60..=self.volatility_ewma_seconds).contains(&self.fast_volatility_ewma_seconds),
            TidepoolError::InvalidVolatilityParams
        );
        require!(
            self.max_long_open_interest_usd > 0
                && self.max_short_open_interest_usd > 0
                && self.max_skew_usd > 0,
            TidepoolError::InvalidOpenInterestCap
        );
        require!(
            (100..=100_000).contains(&self.max_profit_factor_bps),
            TidepoolError::InvalidProfitFactor
        );
        require!(
            self.min_hold_seconds <= 24 * ONE_HOUR,
            TidepoolError::InvalidMinHold
        );
        require!(
            self.min_position_usd > 0
                && self.min_position_usd <= self.max_long_open_interest_usd
                && self.min_position_usd <= self.max_short_open_interest_usd,
            TidepoolError::InvalidSizeLimits
        );
        require!(
            self.open_fee_bps <= 1_000
                && self.close_fee_bps <= 1_000
                && self.base_spread_bps <= 1_000
                && self.confidence_spread_bps <= 50_000
                && self.liquidation_fee_bps <= 1_000
                && self.keeper_fee_usd <= 1_000_000_000,
            TidepoolError::InvalidFee
        );
        require!(
            self.borrow_base_rate_bps <= 100_000
                && (1..=BPS as u16).contains(&self.borrow_optimal_utilization_bps)
                && self.borrow_slope1_bps <= 100_000
                && self.borrow_slope2_bps <= 1_000_000,
            TidepoolError::InvalidBorrowCurve
        );
        require!(
            self.funding_rate_bps <= 1_000_000,
            TidepoolError::InvalidFundingParams
        );
        // The maintenance margin is never below its base: a fee under the base always fits
        // in what a liquidated position still has.
        require!(
            self.liquidation_fee_bps < self.base_maintenance_margin_bps,
            TidepoolError::InvalidLiquidationFee
        );
        Ok(())
    }
}
