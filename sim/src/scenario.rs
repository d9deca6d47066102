//! Scenario files (TOML): what to simulate. Every field has a default; bad values are
//! reported by name.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Candle CSV, relative to the repository root (or absolute).
    pub data: PathBuf,
    /// First candle, `YYYY-MM-DD HH:MM:SS` UTC.
    pub start: String,
    /// Last candle, inclusive.
    pub end: String,
    pub seed: u64,
    /// Hours of prices before `start` during which only the oracle and the volatility
    /// estimate run (no trading), so margins start from a realistic estimate.
    pub warmup_hours: u32,
    pub pool: PoolScenario,
    pub market: MarketScenario,
    pub lps: LpScenario,
    pub traders: TraderScenario,
}

/// How margin is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MarginMode {
    /// Tidepool's: base margin scaled by volatility, utilization and size.
    Dynamic,
    /// Base margin only (volatility, utilization and size multipliers at zero).
    Fixed,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TraderScenario {
    pub count: usize,
    /// Each trader's capital, USDC, drawn uniformly in [min, max].
    pub capital_min: u64,
    pub capital_max: u64,
    /// Chance per hour that a trader without a position opens one.
    pub open_per_hour: f64,
    /// Chance per hour that a trader closes its position.
    pub close_per_hour: f64,
    /// Share of opens that are longs.
    pub long_share: f64,
    /// Share of the capital put up as collateral, drawn in [min, max].
    pub collateral_share_min: f64,
    pub collateral_share_max: f64,
    /// Leverage as a share of the highest the margin allows at that moment.
    pub leverage_share: f64,
    /// Share of traders that set a stop-loss and take-profit when opening.
    pub trigger_share: f64,
    /// Distance of the stop-loss and take-profit from the entry, as a share of price.
    pub stop_loss_distance: f64,
    pub take_profit_distance: f64,
}

impl Default for TraderScenario {
    fn default() -> Self {
        Self {
            count: 40,
            capital_min: 1_000,
            capital_max: 20_000,
            open_per_hour: 0.05,
            close_per_hour: 0.02,
            long_share: 0.6,
            collateral_share_min: 0.2,
            collateral_share_max: 0.6,
            leverage_share: 0.5,
            trigger_share: 0.3,
            stop_loss_distance: 0.05,
            take_profit_distance: 0.1,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolScenario {
    pub deposit_fee_bps: u16,
    pub withdraw_fee_bps: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketScenario {
    pub symbol: String,
    pub volatility_ewma_seconds: u32,
    pub liquidation_horizon_seconds: u32,
    pub fast_volatility_ewma_seconds: u32,
    pub margin: MarginMode,
    pub base_initial_margin_bps: u16,
    pub base_maintenance_margin_bps: u16,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LpScenario {
    pub count: usize,
    /// USDC.
    pub initial_deposit: u64,
    pub activity_per_hour: f64,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            data: PathBuf::from("data/SOLUSDT_1h.csv"),
            start: "2022-11-01 00:00:00".into(),
            end: "2022-11-30 23:00:00".into(),
            seed: 42,
            warmup_hours: 168,
            pool: PoolScenario::default(),
            market: MarketScenario::default(),
            lps: LpScenario::default(),
            traders: TraderScenario::default(),
        }
    }
}

impl Default for PoolScenario {
    fn default() -> Self {
        Self {
            deposit_fee_bps: 10,
            withdraw_fee_bps: 10,
        }
    }
}

impl Default for MarketScenario {
    fn default() -> Self {
        Self {
            symbol: "SOL-PERP".into(),
            volatility_ewma_seconds: 86_400,
            fast_volatility_ewma_seconds: 3_600,
            liquidation_horizon_seconds: 900,
            margin: MarginMode::Dynamic,
            base_initial_margin_bps: 500,
            base_maintenance_margin_bps: 250,
        }
    }
}

impl Default for LpScenario {
    fn default() -> Self {
        Self {
            count: 5,
            initial_deposit: 250_000,
            activity_per_hour: 0.2,
        }
    }
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
        let scenario: Scenario = toml::from_str(&text)
            .map_err(|e| format!("scenario {} is not valid: {e}", path.display()))?;
        scenario.validate()?;
        Ok(scenario)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.lps.count == 0 || self.lps.count > 100 {
            return Err("lps.count must be between 1 and 100".into());
        }
        if self.lps.initial_deposit == 0 || self.lps.initial_deposit > 1_000_000_000 {
            return Err("lps.initial_deposit must be between 1 and 1e9 USDC".into());
        }
        if !(0.0..=1.0).contains(&self.lps.activity_per_hour) {
            return Err("lps.activity_per_hour must be a probability in [0, 1]".into());
        }
        if self.pool.deposit_fee_bps > 1_000 || self.pool.withdraw_fee_bps > 1_000 {
            return Err("pool fees must be at most 1000 bps".into());
        }
        if self.market.symbol.is_empty() || self.market.symbol.len() > 16 {
            return Err("market.symbol must be 1 to 16 bytes".into());
        }
        let t = &self.traders;
        if t.count > 1_000 || t.capital_min == 0 || t.capital_max < t.capital_min {
            return Err("traders: count at most 1000, 0 < capital_min <= capital_max".into());
        }
        let probabilities = [
            ("traders.open_per_hour", t.open_per_hour),
            ("traders.close_per_hour", t.close_per_hour),
            ("traders.long_share", t.long_share),
            ("traders.trigger_share", t.trigger_share),
        ];
        for (name, p) in probabilities {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be in [0, 1]"));
            }
        }
        if !(0.0 < t.collateral_share_min
            && t.collateral_share_min <= t.collateral_share_max
            && t.collateral_share_max <= 1.0)
        {
            return Err("traders: 0 < collateral_share_min <= collateral_share_max <= 1".into());
        }
        if !(0.0 < t.leverage_share && t.leverage_share <= 1.0) {
            return Err("traders.leverage_share must be in (0, 1]".into());
        }
        if !(0.0 < t.stop_loss_distance
            && t.stop_loss_distance < 1.0
            && t.take_profit_distance > 0.0)
        {
            return Err("traders: stop_loss_distance in (0, 1), take_profit_distance > 0".into());
        }
        let m = &self.market;
        if m.base_maintenance_margin_bps == 0
            || m.base_maintenance_margin_bps >= m.base_initial_margin_bps
            || m.base_initial_margin_bps > 5_000
        {
            return Err(
                "market: 0 < base_maintenance_margin_bps < base_initial_margin_bps <= 5000".into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Scenario, String> {
        let dir = std::env::temp_dir().join(format!(
            "tidepool-scn-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.toml");
        std::fs::write(&path, text).unwrap();
        Scenario::load(&path)
    }

    #[test]
    fn the_shipped_default_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/default.toml");
        let s = Scenario::load(&path).unwrap();
        assert_eq!(s.traders.count, 40);
        assert_eq!(s.market.margin, MarginMode::Dynamic);
    }

    #[test]
    fn bad_input_is_named() {
        assert!(Scenario::load(Path::new("no/such.toml"))
            .unwrap_err()
            .contains("cannot read scenario"));
        assert!(load_str("seed = \"x\"").unwrap_err().contains("not valid"));
        assert!(load_str("colour = 1")
            .unwrap_err()
            .contains("unknown field"));
        assert!(load_str("[lps]\ncount = 0")
            .unwrap_err()
            .contains("lps.count"));
        assert!(load_str("[traders]\nopen_per_hour = 2.0")
            .unwrap_err()
            .contains("traders.open_per_hour"));
        assert!(load_str("[market]\nmargin = \"wild\"")
            .unwrap_err()
            .contains("not valid"));
        assert!(load_str("[market]\nbase_maintenance_margin_bps = 600")
            .unwrap_err()
            .contains("base_maintenance_margin_bps"));
    }
}
