//! Default parameters for new pools and markets: what `tidepool create-pool` and
//! `create-market` use, and what the tests and the simulator start from. Every value is
//! inside the program's bounds (`PoolParams::validate`, `MarketParams::validate`).

use tidepool::state::{MarketParams, OracleGuards, PoolParams};

/// Compute units the CLI and the keeper ask for per transaction (`--compute-unit-limit`):
/// above the heaviest instruction (a liquidation with a full pool of markets).
pub const COMPUTE_UNIT_LIMIT: u32 = 400_000;

/// One USD (or one 6-decimal token) in base units.
const USDC: u64 = 1_000_000;

pub fn pool_params() -> PoolParams {
    PoolParams {
        settlement_oracle: OracleGuards {
            max_age_seconds: 60,
            max_confidence_bps: 100,
            max_ema_deviation_bps: 500,
        },
        max_depeg_bps: 200,
        deposit_fee_bps: 10,
        withdraw_fee_bps: 10,
        max_utilization_bps: 8_000,
        // Both from `tidepool-sim calibrate` (docs/calibration.md): with a rich crowd mostly
        // short into each shipped crash, the least restrictive pair that kept the LP share
        // price within 10 % of its running peak.
        max_pnl_factor_bps: 2_500,
        max_net_exposure_bps: 2_000,
        protocol_fee_share_bps: 2_000,
        // Above the 10 s the program lets a price run ahead of the cluster clock
        // (`ORACLE_MAX_FUTURE_SECONDS`): no price known at a request can execute it.
        lp_request_delay_seconds: 15,
        // 0.0001 SOL: about 20 signatures' worth at the base fee, for the executing keeper.
        lp_request_keeper_fee_lamports: 100_000,
    }
}

pub fn market_params() -> MarketParams {
    MarketParams {
        oracle: OracleGuards {
            max_age_seconds: 60,
            max_confidence_bps: 200,
            max_ema_deviation_bps: 1_000,
        },
        // Margin (docs/risk-model.md), chosen by `tidepool-sim calibrate`
        // (docs/calibration.md): the most leveraged candidate whose bad debt stayed under
        // half the 0.25 % target in every shipped crash window, both crowds.
        base_initial_margin_bps: 650,
        base_maintenance_margin_bps: 400,
        volatility_multiplier_bps: 30_000,
        pool_stress_margin_bps: 1_000,
        size_margin_bps: 100,
        size_margin_scale_usd: 1_000_000 * USDC,
        liquidation_horizon_seconds: 7_200,
        volatility_ewma_seconds: 86_400,
        fast_volatility_ewma_seconds: 900,
        max_long_open_interest_usd: 10_000_000 * USDC,
        max_short_open_interest_usd: 10_000_000 * USDC,
        max_skew_usd: 5_000_000 * USDC,
        max_profit_factor_bps: 10_000,
        min_hold_seconds: 60,
        min_position_usd: 10 * USDC,
        open_fee_bps: 10,
        close_fee_bps: 10,
        base_spread_bps: 5,
        confidence_spread_bps: 10_000,
        borrow_base_rate_bps: 100,
        borrow_optimal_utilization_bps: 8_000,
        borrow_slope1_bps: 1_000,
        borrow_slope2_bps: 20_000,
        funding_rate_bps: 5_000,
        liquidation_fee_bps: 50,
        keeper_fee_usd: USDC,
    }
}
