//! Scenario files (TOML): what to simulate. Every field has a default; bad values are
//! reported by name.
//!
//! Markets: either a list of `[[markets]]`, each with its own `data` file, or (the older
//! form) one `[market]` table with the file in the top-level `data`. Data paths are
//! relative to the directory of the scenario file (absolute paths are used as they are).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The most markets a pool may have (the program's `MAX_MARKETS_PER_POOL`).
pub const MAX_MARKETS: usize = tidepool::constants::MAX_MARKETS_PER_POOL;

#[derive(Debug, Clone)]
pub struct Scenario {
    /// First candle of trading, `YYYY-MM-DD HH:MM:SS` UTC.
    pub start: String,
    /// Last candle, inclusive.
    pub end: String,
    pub seed: u64,
    /// Time before `start` (hours of clock time, whatever the candle length) during which
    /// only the oracle and the volatility estimate run (no trading), so margins start from
    /// a realistic estimate.
    pub warmup_hours: u32,
    /// How each candle is posted to the oracle.
    pub path: PathMode,
    /// The keeper's actions decided after oracle update k are sent after update k + N.
    pub keeper_latency_updates: u32,
    pub pool: PoolScenario,
    /// At least one; data paths already resolved.
    pub markets: Vec<MarketScenario>,
    pub lps: LpScenario,
    pub traders: TraderScenario,
}

/// The file as written: both market forms accepted, normalized by [`Scenario::parse`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct ScenarioFile {
    data: Option<PathBuf>,
    start: String,
    end: String,
    seed: u64,
    warmup_hours: u32,
    path: PathMode,
    keeper_latency_updates: u32,
    pool: PoolScenario,
    market: Option<MarketScenario>,
    markets: Option<Vec<MarketScenario>>,
    lps: LpScenario,
    traders: TraderScenario,
}

impl Default for ScenarioFile {
    fn default() -> Self {
        let s = Scenario::default();
        Self {
            data: None,
            start: s.start,
            end: s.end,
            seed: s.seed,
            warmup_hours: s.warmup_hours,
            path: s.path,
            keeper_latency_updates: s.keeper_latency_updates,
            pool: s.pool,
            market: None,
            markets: None,
            lps: s.lps,
            traders: s.traders,
        }
    }
}

/// How a candle becomes oracle updates (see `path.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PathMode {
    /// Open, then low and high (high and low for a candle that closed down), then close:
    /// four updates a candle, a quarter of the interval apart.
    #[default]
    Ohlc,
    /// The close only: one update a candle.
    Close,
}

impl PathMode {
    pub fn name(self) -> &'static str {
        match self {
            PathMode::Ohlc => "ohlc (open, low/high in candle order, close)",
            PathMode::Close => "close only",
        }
    }
}

/// How margin is set (applied to the market's parameters in `margin.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MarginMode {
    /// Tidepool's: base margin scaled by volatility, utilization and size.
    Dynamic,
    /// Base margin only (volatility, utilization and size multipliers at zero).
    Fixed,
}

impl MarginMode {
    pub fn name(self) -> &'static str {
        match self {
            MarginMode::Dynamic => "dynamic",
            MarginMode::Fixed => "fixed",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TraderScenario {
    pub count: usize,
    /// Each trader's capital, USDC, drawn uniformly in [min, max].
    pub capital_min: u64,
    pub capital_max: u64,
    /// Chance per hour of clock time that a trader without a position opens one (converted
    /// to the candle interval: a 15-minute file behaves like an hourly one per hour).
    pub open_per_hour: f64,
    /// Chance per hour that a trader closes its position (converted likewise).
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

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolScenario {
    pub deposit_fee_bps: u16,
    pub withdraw_fee_bps: u16,
    /// Reserves at most this share of the LP balance, bps.
    pub max_utilization_bps: u16,
    /// Traders' unrealized profit above this share of the pool value is deleveraged, bps.
    pub max_pnl_factor_bps: u16,
    /// Each market's |long − short| open interest at most this share of the LP balance, bps.
    pub max_net_exposure_bps: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketScenario {
    pub symbol: String,
    /// Candle file (CSV or freqtrade JSON), relative to the scenario file's directory.
    /// In the single-`[market]` form it comes from the top-level `data`.
    pub data: PathBuf,
    pub volatility_ewma_seconds: u32,
    pub liquidation_horizon_seconds: u32,
    pub fast_volatility_ewma_seconds: u32,
    /// `z`, the confidence multiple of the adverse move margin covers, bps of σ.
    pub volatility_multiplier_bps: u32,
    /// Initial margin added when reserves reach the utilization cap, bps.
    pub pool_stress_margin_bps: u32,
    pub margin: MarginMode,
    pub base_initial_margin_bps: u16,
    pub base_maintenance_margin_bps: u16,
    /// Profit reserved per position, bps of its size: the most it can win (unset: the
    /// client's default).
    pub max_profit_factor_bps: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LpScenario {
    pub count: usize,
    /// USDC.
    pub initial_deposit: u64,
    /// Chance per hour that one LP requests a deposit or withdrawal (converted to the
    /// candle interval).
    pub activity_per_hour: f64,
}

/// The repository's `data/` directory (for the built-in default scenario).
fn repo_data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../data")
        .join(file)
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            start: "2022-11-01 00:00:00".into(),
            end: "2022-11-30 23:00:00".into(),
            seed: 42,
            warmup_hours: 168,
            path: PathMode::Ohlc,
            keeper_latency_updates: 0,
            pool: PoolScenario::default(),
            markets: vec![MarketScenario {
                data: repo_data("SOLUSDT_1h.csv"),
                ..MarketScenario::default()
            }],
            lps: LpScenario::default(),
            traders: TraderScenario::default(),
        }
    }
}

impl Default for PoolScenario {
    fn default() -> Self {
        let p = tidepool_client::defaults::pool_params();
        Self {
            deposit_fee_bps: p.deposit_fee_bps,
            withdraw_fee_bps: p.withdraw_fee_bps,
            max_utilization_bps: p.max_utilization_bps,
            max_pnl_factor_bps: p.max_pnl_factor_bps,
            max_net_exposure_bps: p.max_net_exposure_bps,
        }
    }
}

impl MarketScenario {
    /// The market's on-chain parameters: the client's defaults with this scenario's margin
    /// model (`margin::apply_margin_mode`) and profit factor, and room for a whole
    /// simulated population (open interest, skew) and for crash candles (EMA divergence).
    pub fn market_params(&self) -> tidepool::state::MarketParams {
        const USDC: u64 = 1_000_000;
        let mut p = tidepool_client::defaults::market_params();
        p.max_long_open_interest_usd = 1_000_000_000 * USDC;
        p.max_short_open_interest_usd = 1_000_000_000 * USDC;
        p.max_skew_usd = 1_000_000_000 * USDC;
        p.oracle.max_ema_deviation_bps = 2_500;
        if let Some(factor) = self.max_profit_factor_bps {
            p.max_profit_factor_bps = factor;
        }
        crate::margin::apply_margin_mode(&mut p, self);
        p
    }
}

impl Default for MarketScenario {
    fn default() -> Self {
        // The client's defaults: what `create-market` uses.
        let p = tidepool_client::defaults::market_params();
        Self {
            symbol: "SOL-PERP".into(),
            data: PathBuf::new(),
            volatility_ewma_seconds: p.volatility_ewma_seconds,
            fast_volatility_ewma_seconds: p.fast_volatility_ewma_seconds,
            liquidation_horizon_seconds: p.liquidation_horizon_seconds,
            volatility_multiplier_bps: p.volatility_multiplier_bps,
            pool_stress_margin_bps: p.pool_stress_margin_bps,
            margin: MarginMode::Dynamic,
            base_initial_margin_bps: p.base_initial_margin_bps,
            base_maintenance_margin_bps: p.base_maintenance_margin_bps,
            max_profit_factor_bps: None,
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

/// A chance per hour as a chance per step of `step_seconds`: the same rate per unit of
/// time (1 − (1 − p)^(step / 1 h)).
pub fn per_step(p_per_hour: f64, step_seconds: i64) -> f64 {
    1.0 - (1.0 - p_per_hour).powf(step_seconds as f64 / 3_600.0)
}

impl Scenario {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read scenario {}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, dir).map_err(|e| format!("scenario {}: {e}", path.display()))
    }

    /// Parse and validate a scenario whose relative data paths are relative to `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<Self, String> {
        let file: ScenarioFile = toml::from_str(text).map_err(|e| format!("not valid: {e}"))?;
        let markets = match (file.markets, file.market) {
            (Some(_), Some(_)) => {
                return Err("give either [[markets]] or [market], not both".into());
            }
            (Some(list), None) => {
                if file.data.is_some() {
                    return Err(
                        "top-level `data` goes with [market]; with [[markets]] give each \
                         market its own `data`"
                            .into(),
                    );
                }
                list
            }
            (None, market) => {
                let mut m = market.unwrap_or_default();
                match file.data {
                    Some(data) => m.data = data,
                    // The single-market form's default price file.
                    None if m.data.as_os_str().is_empty() => m.data = repo_data("SOLUSDT_1h.csv"),
                    None => {}
                }
                vec![m]
            }
        };
        let markets = markets
            .into_iter()
            .map(|mut m| {
                if m.data.is_relative() && !m.data.as_os_str().is_empty() {
                    m.data = dir.join(&m.data);
                }
                m
            })
            .collect();
        let scenario = Scenario {
            start: file.start,
            end: file.end,
            seed: file.seed,
            warmup_hours: file.warmup_hours,
            path: file.path,
            keeper_latency_updates: file.keeper_latency_updates,
            pool: file.pool,
            markets,
            lps: file.lps,
            traders: file.traders,
        };
        scenario.validate()?;
        Ok(scenario)
    }

    pub fn validate(&self) -> Result<(), String> {
        let start = crate::data::parse_time(&self.start)
            .ok_or_else(|| format!("start `{}` is not YYYY-MM-DD HH:MM:SS", self.start))?;
        let end = crate::data::parse_time(&self.end)
            .ok_or_else(|| format!("end `{}` is not YYYY-MM-DD HH:MM:SS", self.end))?;
        if end <= start {
            return Err(format!(
                "end `{}` must be after start `{}`",
                self.end, self.start
            ));
        }
        if self.keeper_latency_updates > 1_000 {
            return Err("keeper_latency_updates must be at most 1000".into());
        }
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
        let mut pool = tidepool_client::defaults::pool_params();
        pool.max_utilization_bps = self.pool.max_utilization_bps;
        pool.max_pnl_factor_bps = self.pool.max_pnl_factor_bps;
        pool.max_net_exposure_bps = self.pool.max_net_exposure_bps;
        pool.validate()
            .map_err(|e| format!("pool: the program refuses these parameters: {e}"))?;
        if self.markets.is_empty() || self.markets.len() > MAX_MARKETS {
            return Err(format!("markets: between 1 and {MAX_MARKETS} markets"));
        }
        for (i, m) in self.markets.iter().enumerate() {
            let at = if self.markets.len() == 1 {
                "market".to_string()
            } else {
                format!("markets[{i}]")
            };
            if m.symbol.is_empty() || m.symbol.len() > 16 {
                return Err(format!("{at}.symbol must be 1 to 16 bytes"));
            }
            if self.markets[..i].iter().any(|o| o.symbol == m.symbol) {
                return Err(format!("{at}.symbol `{}` is used twice", m.symbol));
            }
            if m.data.as_os_str().is_empty() {
                return Err(format!("{at}.data: a candle file is needed"));
            }
            if m.base_maintenance_margin_bps == 0
                || m.base_maintenance_margin_bps >= m.base_initial_margin_bps
                || m.base_initial_margin_bps > 5_000
            {
                return Err(format!(
                    "{at}: 0 < base_maintenance_margin_bps < base_initial_margin_bps <= 5000"
                ));
            }
            if m.max_profit_factor_bps
                .is_some_and(|f| !(100..=100_000).contains(&f))
            {
                return Err(format!(
                    "{at}.max_profit_factor_bps must be in 100..=100000"
                ));
            }
            // Everything else about the market's parameters, as the program judges them.
            m.market_params()
                .validate()
                .map_err(|e| format!("{at}: the program refuses these parameters: {e}"))?;
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
        Ok(())
    }

    /// The market symbols, joined for display.
    pub fn symbols(&self) -> String {
        let s: Vec<&str> = self.markets.iter().map(|m| m.symbol.as_str()).collect();
        s.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenarios_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
    }

    fn parse(text: &str) -> Result<Scenario, String> {
        Scenario::parse(text, &scenarios_dir())
    }

    #[test]
    fn the_shipped_scenarios_load_with_data_next_to_them() {
        let s = Scenario::load(&scenarios_dir().join("default.toml")).unwrap();
        assert_eq!(s.traders.count, 40);
        assert_eq!(s.markets.len(), 1);
        assert_eq!(s.markets[0].margin, MarginMode::Dynamic);
        assert_eq!(s.path, PathMode::Ohlc);
        assert_eq!(s.keeper_latency_updates, 0);
        assert!(
            s.markets[0].data.is_file(),
            "{}",
            s.markets[0].data.display()
        );

        let s = Scenario::load(&scenarios_dir().join("sol-btc.toml")).unwrap();
        let symbols: Vec<&str> = s.markets.iter().map(|m| m.symbol.as_str()).collect();
        assert_eq!(symbols, ["SOL-PERP", "BTC-PERP"]);
        assert!(s.markets.iter().all(|m| m.data.is_file()));
    }

    #[test]
    fn data_paths_are_relative_to_the_scenario_file() {
        let s = Scenario::parse("data = \"../d/x.csv\"", Path::new("/a/b")).unwrap();
        assert_eq!(s.markets[0].data, Path::new("/a/b/../d/x.csv"));
        let s = Scenario::parse("data = \"/abs/x.json\"", Path::new("/a/b")).unwrap();
        assert_eq!(s.markets[0].data, Path::new("/abs/x.json"));
        let s = Scenario::parse(
            "[[markets]]\nsymbol = \"A\"\ndata = \"a.csv\"\n[[markets]]\nsymbol = \"B\"\ndata = \"b.json\"",
            Path::new("/s"),
        )
        .unwrap();
        assert_eq!(s.markets[1].data, Path::new("/s/b.json"));
    }

    #[test]
    fn probabilities_per_hour_scale_with_the_step() {
        assert!((per_step(0.2, 3_600) - 0.2).abs() < 1e-12);
        // Four 15-minute chances compound to the hourly one.
        let q = per_step(0.2, 900);
        assert!((1.0 - (1.0 - q).powi(4) - 0.2).abs() < 1e-12);
        assert!(q > 0.05 && q < 0.055, "{q}");
    }

    #[test]
    fn bad_input_is_named() {
        assert!(Scenario::load(Path::new("no/such.toml"))
            .unwrap_err()
            .contains("cannot read scenario"));
        let err = |text: &str| parse(text).unwrap_err();
        assert!(err("seed = \"x\"").contains("not valid"));
        assert!(err("colour = 1").contains("unknown field `colour`"));
        assert!(err("[lps]\ncount = 0").contains("lps.count"));
        assert!(err("[traders]\nopen_per_hour = 2.0").contains("traders.open_per_hour"));
        assert!(err("[market]\nmargin = \"wild\"").contains("not valid"));
        assert!(err("path = \"zigzag\"").contains("not valid"));
        assert!(err("[market]\nbase_maintenance_margin_bps = 700")
            .contains("market: 0 < base_maintenance_margin_bps"));
        assert!(err("start = \"soon\"").contains("start `soon`"));
        assert!(err("end = \"2020-01-01 00:00:00\"").contains("must be after start"));
        assert!(err("keeper_latency_updates = 5000").contains("keeper_latency_updates"));
        assert!(err("[market]\nmax_profit_factor_bps = 5").contains("market.max_profit_factor_bps"));
        let refused = err("[market]\nliquidation_horizon_seconds = 5");
        assert!(
            refused.contains("market: the program refuses")
                && refused.contains("InvalidVolatilityParams"),
            "{refused}"
        );
        assert!(err("[pool]\nmax_pnl_factor_bps = 0").contains("pool: the program refuses"));
        let two = "[[markets]]\nsymbol = \"A\"\ndata = \"a.csv\"\n[[markets]]\nsymbol = \"A\"\ndata = \"b.csv\"";
        assert!(err(two).contains("markets[1].symbol `A` is used twice"));
        let nodata = "[[markets]]\nsymbol = \"A\"\ndata = \"a.csv\"\n[[markets]]\nsymbol = \"B\"";
        assert!(err(nodata).contains("markets[1].data"));
        let both = "[market]\nsymbol = \"A\"\n[[markets]]\nsymbol = \"B\"\ndata = \"b.csv\"";
        assert!(err(both).contains("not both"));
        let stray = "data = \"a.csv\"\n[[markets]]\nsymbol = \"B\"\ndata = \"b.csv\"";
        assert!(err(stray).contains("top-level `data`"));
        let e = Scenario::load(&scenarios_dir().join("nope.toml")).unwrap_err();
        assert!(e.contains("nope.toml"), "{e}");
    }
}
