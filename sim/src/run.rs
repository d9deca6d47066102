//! The simulation loop: the real program on the in-process runtime, one step a candle:
//! the oracle moves, the keeper refreshes the market and acts on every position, traders
//! and LPs act, and the books are checked.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use indicatif::ProgressBar;
use serde::Serialize;
use tidepool::math::{PRICE_PRECISION, SHARE_PRICE_PRECISION, VOLATILITY_PRECISION};
use tidepool::state::Side;
use tidepool_client::errors::describe;
use tidepool_client::ix;
use tidepool_client::keeper::{assess, pnl_cap_deleverage, Action};
use tidepool_harness::{
    custom_error_code, Fixture, Lp, MarketSetup, PoolSetup, Trader, TxResult, USDC,
};

use crate::data::Candle;
use crate::scenario::{MarginMode, Scenario};

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
    /// Open interest, USD of entry notional.
    pub long_open_interest: f64,
    pub short_open_interest: f64,
    /// Initial and maintenance margin ratios now, for a 10k USD position.
    pub initial_margin: f64,
    pub maintenance_margin: f64,
    /// Cumulative liquidations and bad debt (USDC).
    pub liquidations: u64,
    pub bad_debt: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub margin: Option<MarginMode>,
    pub samples: Vec<Sample>,
    pub transactions_ok: u64,
    pub transactions_failed: u64,
    /// Refused transactions by program error.
    pub failures: BTreeMap<String, u64>,
    pub lp_deposits: u64,
    pub lp_withdrawals: u64,
    pub positions_opened: u64,
    pub positions_closed: u64,
    pub liquidations: u64,
    pub full_liquidations: u64,
    pub trigger_orders: u64,
    pub deleveraged: u64,
    /// USDC.
    pub bad_debt: f64,
    /// Average leverage (notional / collateral) at open.
    pub average_leverage: f64,
    /// Share price at the end over the start of trading, minus one.
    pub lp_return: f64,
    pub max_share_price_drawdown: f64,
    pub peak_utilization: f64,
    pub protocol_fees: f64,
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
    pub fn between(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

fn pyth_price(usd: f64) -> i64 {
    (usd * 1e8).round() as i64
}

#[derive(Default)]
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

struct SimTrader {
    trader: Trader,
    side: Option<Side>,
    capital: f64,
}

/// Run a scenario over `candles`; those before `trading_start` only move the oracle.
pub async fn run(
    s: &Scenario,
    candles: &[Candle],
    trading_start: i64,
    progress: &ProgressBar,
) -> Outcome {
    let started = Instant::now();
    let mut setup = PoolSetup::default();
    setup.params.deposit_fee_bps = s.pool.deposit_fee_bps;
    setup.params.withdraw_fee_bps = s.pool.withdraw_fee_bps;
    let mut market = MarketSetup::new(&s.market.symbol, 1);
    market.price = pyth_price(candles[0].close);
    let p = &mut market.params;
    p.volatility_ewma_seconds = s.market.volatility_ewma_seconds;
    p.fast_volatility_ewma_seconds = s.market.fast_volatility_ewma_seconds;
    p.liquidation_horizon_seconds = s.market.liquidation_horizon_seconds;
    p.base_initial_margin_bps = s.market.base_initial_margin_bps;
    p.base_maintenance_margin_bps = s.market.base_maintenance_margin_bps;
    // Room for the whole population, and EMA divergence for hourly crash candles.
    p.max_long_open_interest_usd = 1_000_000_000 * USDC;
    p.max_short_open_interest_usd = 1_000_000_000 * USDC;
    p.max_skew_usd = 1_000_000_000 * USDC;
    p.oracle.max_ema_deviation_bps = 2_500;
    if s.market.margin == MarginMode::Fixed {
        p.volatility_multiplier_bps = 0;
        p.pool_stress_margin_bps = 0;
        p.size_margin_bps = 0;
    }
    setup.markets = vec![market];
    let mut f = Fixture::with(setup).await;
    f.check_every_step = false;
    // Signatures are what the tests check; here they would cost half of every transaction.
    f.env.rt.set_sigverify(false);
    let mut c = Counters::default();
    let mut o = Outcome {
        margin: Some(s.market.margin),
        ..Outcome::default()
    };
    let mut rng = Rng::new(s.seed);

    let deposit = s.lps.initial_deposit * USDC;
    let mut lps: Vec<Lp> = Vec::with_capacity(s.lps.count);
    for _ in 0..s.lps.count {
        let lp = f.new_lp(deposit * 2).await;
        let res = f.deposit(&lp, deposit, 0).await;
        o.lp_deposits += c.record(&res) as u64;
        lps.push(lp);
    }
    let mut traders = Vec::with_capacity(s.traders.count);
    for _ in 0..s.traders.count {
        let capital = rng.between(s.traders.capital_min as f64, s.traders.capital_max as f64);
        let trader = f.new_trader((capital * USDC as f64) as u64).await;
        traders.push(SimTrader {
            trader,
            side: None,
            capital,
        });
    }
    let keeper = f.new_keeper().await;
    // LP requests waiting for the keeper: (LP index, deposit?).
    let mut pending: Vec<(usize, bool)> = Vec::new();

    let oracle = f.pool.markets[0].oracle;
    let settlement_oracle = f.pool.settlement_oracle;
    let market_key = f.pool.markets[0].key;
    let mut ema = candles[0].close;
    let mut prev_time = candles[0].time;
    let mut leverage_sum = 0.0;

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
        progress.inc(1);
        if candle.time < trading_start {
            continue;
        }

        // The keeper executes the LP requests of the last step (their delay has passed:
        // this price update came after them), then looks at every open position, decided
        // with the program's own health code.
        for (i, deposit) in std::mem::take(&mut pending) {
            let lp = &lps[i];
            let receiver = if deposit { lp.lp_token } else { lp.token };
            let res = f.execute_request(lp, &receiver).await;
            if c.record(&res) {
                if deposit {
                    o.lp_deposits += 1;
                } else {
                    o.lp_withdrawals += 1;
                }
            } else {
                // Refused (slippage or liquidity at execution): the LP takes it back.
                let refund = if deposit { lp.token } else { lp.lp_token };
                c.record(&f.cancel_request(lp, &refund).await);
            }
        }
        let now = f.env.now().await;
        let price = f.env.prices[&oracle].oracle_price();
        let settlement = f.env.prices[&settlement_oracle].oracle_price();
        for st in traders.iter_mut() {
            let Some(side) = st.side else { continue };
            let Some(position) = f.position(&st.trader, side).await else {
                st.side = None;
                continue;
            };
            let pool = f.pool_state().await;
            let market = f.market_state(0).await;
            let Ok((action, _)) = assess(&pool, &market, &position, &price, &settlement, now)
            else {
                continue;
            };
            let res = match action {
                Action::None => continue,
                Action::Liquidate => f.liquidate(&keeper, &st.trader, side).await,
                Action::ExecuteTrigger { .. } => f.execute_trigger(&keeper, &st.trader, side).await,
                Action::DeleverageAtCap => f.deleverage(&keeper, &st.trader, side, false).await,
                Action::DeleverageOverPnlCap => f.deleverage(&keeper, &st.trader, side, true).await,
            };
            if c.record(&res) {
                match action {
                    Action::Liquidate => o.liquidations += 1,
                    Action::ExecuteTrigger { .. } => o.trigger_orders += 1,
                    _ => o.deleveraged += 1,
                }
                if f.position(&st.trader, side).await.is_none() {
                    st.side = None;
                    if action == Action::Liquidate {
                        o.full_liquidations += 1;
                    }
                }
            }
        }

        // Pool-level deleveraging when traders' profit is over the pool's PnL cap, decided
        // as the keeper crate decides.
        let mut open = Vec::new();
        for (i, st) in traders.iter().enumerate() {
            if let Some(side) = st.side {
                if let Some(p) = f.position(&st.trader, side).await {
                    open.push((f.position_key(&st.trader, side), p, i));
                }
            }
        }
        let pool = f.pool_state().await;
        let market = f.market_state(0).await;
        let listed: Vec<(Pubkey, &tidepool::state::Position)> =
            open.iter().map(|(k, p, _)| (*k, p)).collect();
        let chosen = pnl_cap_deleverage(
            &pool,
            &[(market_key, &market, &price)],
            &settlement,
            &listed,
            now,
        )
        .unwrap_or_default();
        for key in chosen {
            let Some((_, p, i)) = open.iter().find(|(k, _, _)| *k == key) else {
                continue;
            };
            let side = p.side;
            let st = &mut traders[*i];
            if c.record(&f.deleverage(&keeper, &st.trader, side, true).await) {
                o.deleveraged += 1;
                if f.position(&st.trader, side).await.is_none() {
                    st.side = None;
                }
            }
        }

        // Traders.
        for st in traders.iter_mut() {
            match st.side {
                Some(side) => {
                    if rng.unit() < s.traders.close_per_hour {
                        let res = f.decrease(&st.trader, side, u64::MAX).await;
                        if c.record(&res) {
                            o.positions_closed += 1;
                            st.side = None;
                        }
                    }
                }
                None => {
                    if rng.unit() >= s.traders.open_per_hour {
                        continue;
                    }
                    let side = if rng.unit() < s.traders.long_share {
                        Side::Long
                    } else {
                        Side::Short
                    };
                    let balance = f.env.token_balance(&st.trader.token).await;
                    let share = rng.between(
                        s.traders.collateral_share_min,
                        s.traders.collateral_share_max,
                    );
                    let collateral = ((st.capital * share).min(balance as f64 / USDC as f64)
                        * USDC as f64) as u64;
                    if collateral < 10 * USDC {
                        continue;
                    }
                    // The highest leverage the margin allows right now (from the view),
                    // sized down until the quote passes the initial-margin check, as a
                    // trader's front end would.
                    let Ok(q) = f.quote_open(side, collateral, collateral).await else {
                        continue;
                    };
                    let mut leverage =
                        q.max_leverage_bps as f64 / 10_000.0 * s.traders.leverage_share;
                    let mut size = (collateral as f64 * leverage) as u64;
                    for _ in 0..6 {
                        match f.quote_open(side, size, collateral).await {
                            Ok(q) if q.meets_initial_margin => break,
                            _ => {
                                leverage *= 0.8;
                                size = (collateral as f64 * leverage) as u64;
                            }
                        }
                    }
                    let res = f.open(&st.trader, side, size, collateral).await;
                    if !c.record(&res) {
                        continue;
                    }
                    o.positions_opened += 1;
                    leverage_sum += leverage;
                    st.side = Some(side);
                    if rng.unit() < s.traders.trigger_share {
                        let spot = price.spot as f64;
                        let (tp, sl) = match side {
                            Side::Long => (
                                spot * (1.0 + s.traders.take_profit_distance),
                                spot * (1.0 - s.traders.stop_loss_distance),
                            ),
                            Side::Short => (
                                spot * (1.0 - s.traders.take_profit_distance),
                                spot * (1.0 + s.traders.stop_loss_distance),
                            ),
                        };
                        let res = f.set_triggers(&st.trader, side, tp as u64, sl as u64).await;
                        c.record(&res);
                    }
                }
            }
        }

        // LPs request; the keeper executes at the next price update.
        if rng.unit() < s.lps.activity_per_hour {
            let i = (rng.next_u64() % lps.len() as u64) as usize;
            let lp = &lps[i];
            let deposit = rng.unit() < 0.5;
            let held = if deposit {
                f.env.token_balance(&lp.token).await
            } else {
                f.env.token_balance(&lp.lp_token).await
            };
            let amount = (held as f64 * rng.unit() * 0.2) as u64;
            if amount > 0 && !pending.iter().any(|(j, _)| *j == i) {
                let res = if deposit {
                    f.request_deposit(lp, amount, 0).await
                } else {
                    f.request_withdrawal(lp, amount, 0).await
                };
                if c.record(&res) {
                    pending.push((i, deposit));
                }
            }
        }

        // The books balance after every step (SPEC 7).
        f.check_invariants().await;

        let view = f.pool_value().await;
        let pool = f.pool_state().await;
        let m = f.market_state(0).await;
        let vol = m.volatility(&price).map_or(u64::MAX, |v| v.realized);
        let ratios = m
            .margin_ratios(&price, &pool, 10_000 * USDC)
            .expect("margin ratios");
        o.samples.push(Sample {
            time: candle.time,
            price: m.last_price as f64 / PRICE_PRECISION as f64,
            pool_value: view.pool_value_min as f64 / USDC as f64,
            share_price: view.share_price_min as f64 / SHARE_PRICE_PRECISION as f64,
            volatility: vol as f64 / VOLATILITY_PRECISION as f64,
            utilization: view.utilization_bps as f64 / 10_000.0,
            long_open_interest: m.long.open_interest_usd as f64 / USDC as f64,
            short_open_interest: m.short.open_interest_usd as f64 / USDC as f64,
            initial_margin: ratios.initial_bps as f64 / 10_000.0,
            maintenance_margin: ratios.maintenance_bps as f64 / 10_000.0,
            liquidations: o.liquidations,
            bad_debt: pool.bad_debt as f64 / USDC as f64,
        });
    }

    let pool = f.pool_state().await;
    o.bad_debt = pool.bad_debt as f64 / USDC as f64;
    o.protocol_fees = pool.protocol_fees_owed as f64 / USDC as f64;
    o.average_leverage = if o.positions_opened > 0 {
        leverage_sum / o.positions_opened as f64
    } else {
        0.0
    };
    let first = o.samples.first().map(|s| s.share_price).unwrap_or(1.0);
    let last = o.samples.last().map(|s| s.share_price).unwrap_or(1.0);
    o.lp_return = last / first - 1.0;
    let mut peak = f64::MIN;
    for x in &o.samples {
        peak = peak.max(x.share_price);
        o.max_share_price_drawdown = o.max_share_price_drawdown.max(1.0 - x.share_price / peak);
        o.peak_utilization = o.peak_utilization.max(x.utilization);
    }
    o.transactions_ok = c.ok;
    o.transactions_failed = c.failed;
    o.failures = c.failures;
    o.wall_seconds = started
        .elapsed()
        .max(Duration::from_millis(1))
        .as_secs_f64();
    o.transactions_per_second = (c.ok + c.failed) as f64 / o.wall_seconds;
    o
}
