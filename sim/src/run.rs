//! The simulation loop: the real program on the in-process runtime, one step a candle.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use indicatif::ProgressBar;
use serde::Serialize;
use tidepool::math::volatility::volatility_over;
use tidepool::math::{PRICE_PRECISION, SHARE_PRICE_PRECISION, VOLATILITY_PRECISION};
use tidepool_client::errors::describe;
use tidepool_client::ix;
use tidepool_harness::{custom_error_code, Fixture, Lp, MarketSetup, PoolSetup, TxResult, USDC};

use crate::data::Candle;
use crate::scenario::Scenario;

/// One observation per step.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub time: i64,
    /// Oracle spot price, USD.
    pub price: f64,
    /// Pool value (lowest plausible), USDC.
    pub pool_value: f64,
    /// LP share price (withdrawal side), USDC per share.
    pub share_price: f64,
    /// On-chain volatility estimate over the market's horizon, as a fraction.
    pub volatility: f64,
    /// Reserved / LP balance.
    pub utilization: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub samples: Vec<Sample>,
    pub transactions_ok: u64,
    pub transactions_failed: u64,
    /// Failed transactions by program error.
    pub failures: BTreeMap<String, u64>,
    pub lp_deposits: u64,
    pub lp_withdrawals: u64,
    /// Share price at the end over the start, minus one.
    pub lp_return: f64,
    pub max_share_price_drawdown: f64,
    pub wall_seconds: f64,
    pub transactions_per_second: f64,
}

/// Deterministic xorshift64* generator (seeded; no global state).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn pyth_price(usd: f64) -> i64 {
    (usd * 1e8).round() as i64
}

struct Counters {
    ok: u64,
    failed: u64,
    failures: BTreeMap<String, u64>,
}

impl Counters {
    fn record(&mut self, res: &TxResult) -> bool {
        match res {
            Ok(()) => {
                self.ok += 1;
                true
            }
            Err(e) => {
                self.failed += 1;
                let key = match custom_error_code(res) {
                    Some(code) => describe(code),
                    None => e.to_string(),
                };
                *self.failures.entry(key).or_default() += 1;
                false
            }
        }
    }
}

pub async fn run(s: &Scenario, candles: &[Candle], progress: &ProgressBar) -> Outcome {
    let started = Instant::now();
    let mut setup = PoolSetup::default();
    setup.params.deposit_fee_bps = s.pool.deposit_fee_bps;
    setup.params.withdraw_fee_bps = s.pool.withdraw_fee_bps;
    let mut market = MarketSetup::new(&s.market.symbol, 1);
    market.price = pyth_price(candles[0].close);
    market.params.volatility_ewma_seconds = s.market.volatility_ewma_seconds;
    market.params.volatility_horizon_seconds = s.market.volatility_horizon_seconds;
    setup.markets = vec![market];
    let mut f = Fixture::with(setup).await;
    let mut c = Counters {
        ok: 0,
        failed: 0,
        failures: BTreeMap::new(),
    };
    let mut rng = Rng::new(s.seed);

    let deposit = s.lps.initial_deposit * USDC;
    let mut lps: Vec<Lp> = Vec::with_capacity(s.lps.count);
    for _ in 0..s.lps.count {
        let lp = f.new_lp(deposit * 4).await;
        let res = f.deposit(&lp, deposit, 0).await;
        c.record(&res);
        lps.push(lp);
    }
    let (mut lp_deposits, mut lp_withdrawals) = (s.lps.count as u64, 0u64);

    let oracle = f.pool.markets[0].oracle;
    let market_key = f.pool.markets[0].key;
    let horizon = s.market.volatility_horizon_seconds as u64;
    let mut ema = candles[0].close;
    let mut samples = Vec::with_capacity(candles.len());
    let mut prev_time = candles[0].time;

    for candle in candles {
        f.env.advance_time(candle.time - prev_time).await;
        prev_time = candle.time;
        // Pyth's EMA has a window of about an hour: blend 63 % of each hourly close in.
        ema += (candle.close - ema) * 0.63;
        // Confidence widens with the candle's range: a tenth of it, 0.05 %..1.5 % of price.
        let conf =
            ((candle.high - candle.low) / 10.0).clamp(candle.close * 0.0005, candle.close * 0.015);
        f.env.update_price(&oracle, |p| {
            p.price = pyth_price(candle.close);
            p.ema_price = pyth_price(ema);
            p.conf = pyth_price(conf) as u64;
        });
        let res = f
            .env
            .send(
                &[ix::refresh_market(&f.pool.key, &market_key, &oracle)],
                &[],
            )
            .await;
        c.record(&res);

        if rng.unit() < s.lps.activity_per_hour {
            let lp = &lps[(rng.next_u64() % lps.len() as u64) as usize];
            if rng.unit() < 0.5 {
                let held = f.env.token_balance(&lp.token).await;
                let amount = (held as f64 * rng.unit() * 0.5) as u64;
                if amount > 0 {
                    let res = f.deposit(lp, amount, 0).await;
                    lp_deposits += c.record(&res) as u64;
                }
            } else {
                let shares = f.env.token_balance(&lp.lp_token).await;
                let amount = (shares as f64 * rng.unit() * 0.5) as u64;
                if amount > 0 {
                    let res = f.withdraw(lp, amount, 0).await;
                    lp_withdrawals += c.record(&res) as u64;
                }
            }
        }

        let view = f.pool_value().await;
        let m = f.market_state(0).await;
        let vol = volatility_over(m.variance, horizon).unwrap_or(u64::MAX);
        samples.push(Sample {
            time: candle.time,
            price: m.last_price as f64 / PRICE_PRECISION as f64,
            pool_value: view.pool_value_min as f64 / USDC as f64,
            share_price: view.share_price_min as f64 / SHARE_PRICE_PRECISION as f64,
            volatility: vol as f64 / VOLATILITY_PRECISION as f64,
            utilization: view.utilization_bps as f64 / 10_000.0,
        });
        progress.inc(1);
    }

    let first = samples.first().map(|s| s.share_price).unwrap_or(1.0);
    let last = samples.last().map(|s| s.share_price).unwrap_or(1.0);
    let mut peak = f64::MIN;
    let mut drawdown: f64 = 0.0;
    for s in &samples {
        peak = peak.max(s.share_price);
        drawdown = drawdown.max(1.0 - s.share_price / peak);
    }
    let wall = started
        .elapsed()
        .max(Duration::from_millis(1))
        .as_secs_f64();
    Outcome {
        samples,
        transactions_ok: c.ok,
        transactions_failed: c.failed,
        failures: c.failures,
        lp_deposits,
        lp_withdrawals,
        lp_return: last / first - 1.0,
        max_share_price_drawdown: drawdown,
        wall_seconds: wall,
        transactions_per_second: (c.ok + c.failed) as f64 / wall,
    }
}
