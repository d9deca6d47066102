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
    pub pool: PoolScenario,
    pub market: MarketScenario,
    pub lps: LpScenario,
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
    pub volatility_horizon_seconds: u32,
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
            pool: PoolScenario::default(),
            market: MarketScenario::default(),
            lps: LpScenario::default(),
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
            volatility_ewma_seconds: 21_600,
            volatility_horizon_seconds: 86_400,
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
        Ok(())
    }
}
