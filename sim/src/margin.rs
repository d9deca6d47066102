//! How a scenario's margin settings become the market's on-chain parameters: the one place
//! that knows what "dynamic" and "fixed" margin mean for `MarketParams`.

use tidepool::state::MarketParams;

use crate::scenario::{MarginMode, MarketScenario};

/// The scenario's margin model (`docs/risk-model.md`); `Fixed` turns every dynamic term off
/// (volatility multiplier, pool stress and size margin at zero): base margins only.
pub fn apply_margin_mode(params: &mut MarketParams, m: &MarketScenario) {
    params.base_initial_margin_bps = m.base_initial_margin_bps;
    params.base_maintenance_margin_bps = m.base_maintenance_margin_bps;
    params.volatility_ewma_seconds = m.volatility_ewma_seconds;
    params.fast_volatility_ewma_seconds = m.fast_volatility_ewma_seconds;
    params.liquidation_horizon_seconds = m.liquidation_horizon_seconds;
    params.volatility_multiplier_bps = m.volatility_multiplier_bps;
    params.pool_stress_margin_bps = m.pool_stress_margin_bps;
    if m.margin == MarginMode::Fixed {
        params.volatility_multiplier_bps = 0;
        params.pool_stress_margin_bps = 0;
        params.size_margin_bps = 0;
    }
}
