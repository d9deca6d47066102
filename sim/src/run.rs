//! The simulation loop: the real program on the in-process runtime. Each candle is posted to
//! every market's oracle as one or more updates (`path.rs`); after each update the markets
//! are refreshed and the keeper acts (optionally with a latency of N updates); after the
//! candle's close, traders and LPs act and the books are checked.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use indicatif::ProgressBar;
use serde::Serialize;
use solana_sdk::signature::{Keypair, Signer};
use tidepool::events::{PositionDecreased, PositionDeleveraged, TriggerOrderExecuted};
use tidepool::math::oracle::OraclePrice;
use tidepool::math::position::{pnl_usd, signed_usd_to_tokens};
use tidepool::math::{PRICE_PRECISION, SHARE_PRICE_PRECISION, VOLATILITY_PRECISION};
use tidepool::state::{LiquidityRequest, LiquidityRequestKind, Position, Side};
use tidepool_client::errors::describe;
use tidepool_client::ix;
use tidepool_client::keeper::Action;
use tidepool_client::pda;
use tidepool_harness::{
    custom_error_code, decode_events, keeper_config, Fixture, InProcess, Lp, MarketSetup,
    PoolSetup, TestEnv, Trader, TxResult, USDC,
};
use tidepool_keeper::{Keeper, KeeperConfig, Planned, Work};

use crate::data::{self, Candle};
use crate::path::{candle_updates, confidence, ema_step};
use crate::scenario::{per_step, MarginMode, PathMode, Scenario};

/// The time range one run covers (`YYYY-MM-DD HH:MM:SS` UTC, inclusive), its warm-up
/// before `start`.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub start: String,
    pub end: String,
    pub warmup_hours: u32,
}

impl Window {
    /// The scenario's own window.
    pub fn of(s: &Scenario) -> Self {
        Self {
            start: s.start.clone(),
            end: s.end.clone(),
            warmup_hours: s.warmup_hours,
        }
    }
}

/// Candles ready to replay: one aligned series per market (same times in all).
pub struct Prepared {
    pub candles: Vec<Vec<Candle>>,
    /// The candle interval, seconds (measured from the data).
    pub interval: i64,
    /// Unix seconds of the first trading candle; earlier ones are warm-up.
    pub trading_start: i64,
}

impl Prepared {
    pub fn len(&self) -> usize {
        self.candles[0].len()
    }
}

/// Every file's candles, parsed once per process (stress replays the same files often).
fn cached(path: &Path) -> Result<Arc<Vec<Candle>>, String> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Arc<Vec<Candle>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(c) = cache.lock().expect("candle cache").get(path) {
        return Ok(c.clone());
    }
    let candles = Arc::new(data::load_file(path)?);
    cache
        .lock()
        .expect("candle cache")
        .insert(path.to_path_buf(), candles.clone());
    Ok(candles)
}

/// Load every market's file and cut the window (with its warm-up), aligned across markets.
pub fn prepare(s: &Scenario, w: &Window) -> Result<Prepared, String> {
    let start = data::parse_time(&w.start)
        .ok_or_else(|| format!("start `{}` is not YYYY-MM-DD HH:MM:SS", w.start))?;
    let end = data::parse_time(&w.end)
        .ok_or_else(|| format!("end `{}` is not YYYY-MM-DD HH:MM:SS", w.end))?;
    if end <= start {
        return Err(format!("end `{}` must be after start `{}`", w.end, w.start));
    }
    let warm_start = start - w.warmup_hours as i64 * 3_600;
    let mut series = Vec::new();
    let mut names = Vec::new();
    let mut interval: Option<(i64, String)> = None;
    for m in &s.markets {
        let all = cached(&m.data)?;
        let file = m.data.display().to_string();
        let step = data::interval(&all).ok_or_else(|| format!("{file}: fewer than 2 candles"))?;
        match &interval {
            Some((i, other)) if *i != step => {
                return Err(format!(
                    "the markets' candle intervals differ ({other}: {i} s, {}: {step} s); use \
                     files of the same resolution",
                    m.symbol
                ))
            }
            _ => interval = Some((step, m.symbol.clone())),
        }
        let first = all[0].time;
        if first > warm_start {
            return Err(format!(
                "{file} starts at {}, after the warm-up start {} (start − warmup_hours); move \
                 start later or lower warmup_hours",
                data::format_time(first),
                data::format_time(warm_start)
            ));
        }
        let cut = data::window(&all, warm_start, end);
        if !cut.iter().any(|c| c.time >= start) {
            return Err(format!(
                "{file} has no candles between {} and {}",
                w.start, w.end
            ));
        }
        series.push(cut);
        names.push(format!("{} ({file})", m.symbol));
    }
    let candles = data::align(&series, &names)?;
    if !candles[0].iter().any(|c| c.time >= start) {
        return Err("the markets have no common candle time in the window".into());
    }
    Ok(Prepared {
        candles,
        interval: interval.expect("at least one market").0,
        trading_start: start,
    })
}

/// One market's observation per candle.
#[derive(Debug, Clone, Serialize)]
pub struct MarketSample {
    /// Oracle spot price, USD.
    pub price: f64,
    /// On-chain realized volatility over the market's liquidation horizon (the higher of
    /// the fast and slow estimates), as a fraction.
    pub volatility: f64,
    /// Open interest, USD of entry notional.
    pub long_open_interest: f64,
    pub short_open_interest: f64,
    /// Initial and maintenance margin ratios now, for a 10k USD position.
    pub initial_margin: f64,
    pub maintenance_margin: f64,
}

/// One observation per candle, after its close and the traders' and LPs' actions.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Open time of the candle (data time, UTC).
    pub time: i64,
    /// Pool value (lowest plausible), USDC.
    pub pool_value: f64,
    /// LP share price (withdrawal side), USDC per share.
    pub share_price: f64,
    /// Reserved / LP balance.
    pub utilization: f64,
    /// Cumulative liquidations and bad debt (USDC).
    pub liquidations: u64,
    pub bad_debt: f64,
    /// In the scenario's market order.
    pub markets: Vec<MarketSample>,
}

/// A market of the run, as set up.
#[derive(Debug, Clone, Serialize)]
pub struct MarketInfo {
    pub symbol: String,
    pub data: String,
    pub margin: MarginMode,
    pub base_initial_margin_bps: u16,
    pub base_maintenance_margin_bps: u16,
    pub positions_opened: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub markets: Vec<MarketInfo>,
    pub start: String,
    pub end: String,
    /// How candles were posted (`ohlc`: four updates a candle; `close`: one).
    pub path: PathMode,
    pub keeper_latency_updates: u32,
    /// Candle interval measured from the data, seconds.
    pub candle_seconds: i64,
    /// Candles replayed, warm-up included, and those with trading.
    pub candles: usize,
    pub trading_candles: usize,
    pub oracle_updates: u64,
    pub samples: Vec<Sample>,
    pub transactions_ok: u64,
    pub transactions_failed: u64,
    /// Refused transactions by program error (all kinds).
    pub failures: BTreeMap<String, u64>,
    pub lp_deposits: u64,
    pub lp_withdrawals: u64,
    pub positions_opened: u64,
    /// Opens that did not happen, by error: `quote: …` when the open quote (a view) was
    /// refused, else the refused `open_position` transaction.
    pub opens_refused: BTreeMap<String, u64>,
    pub positions_closed: u64,
    pub liquidations: u64,
    pub full_liquidations: u64,
    pub trigger_orders: u64,
    /// Auto-deleveraging (ADL): a position at its reserve cap, or the most profitable ones
    /// when the pool's traders are over its PnL cap.
    pub deleveraged: u64,
    /// Keeper transactions sent, and those the program refused (it re-checks at the price
    /// of the moment it executes: with latency some are no longer due).
    pub keeper_actions_sent: u64,
    pub keeper_actions_refused: BTreeMap<String, u64>,
    /// Profitable closes (trader closes, take-profits, ADL) whose realized profit was cut at
    /// the position's reserve, and the profit cut off (USDC): the uncapped PnL at the close
    /// fill (at spot for ADL, whose event carries no fill) minus the realized PnL.
    pub payouts_capped: u64,
    pub payouts_capped_amount: f64,
    /// USDC.
    pub bad_debt: f64,
    /// Average leverage (notional / collateral) at open.
    pub average_leverage: f64,
    /// Share price at the end over the start of trading, minus one.
    pub lp_return: f64,
    /// Largest fall of the LP share price from its running peak (per-candle samples).
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

/// Items decided after oracle update k become due after update k + latency.
pub struct Delayed<T> {
    latency: u64,
    queue: VecDeque<(u64, T)>,
}

impl<T> Delayed<T> {
    pub fn new(latency: u32) -> Self {
        Self {
            latency: latency as u64,
            queue: VecDeque::new(),
        }
    }

    pub fn push(&mut self, decided_at: u64, item: T) {
        self.queue.push_back((decided_at + self.latency, item));
    }

    /// Everything due at update `now`, in the order decided.
    pub fn take_due(&mut self, now: u64) -> Vec<T> {
        let mut out = Vec::new();
        while self.queue.front().is_some_and(|(due, _)| *due <= now) {
            out.push(self.queue.pop_front().expect("front exists").1);
        }
        out
    }
}

fn pyth_price(usd: f64) -> i64 {
    (usd * 1e8).round() as i64
}

fn error_key(res: &TxResult) -> Option<String> {
    let e = res.as_ref().err()?;
    Some(match custom_error_code(res) {
        // Anchor's own code when a keeper's target position is already gone.
        Some(3012) => "3012 AccountNotInitialized: the position was already closed".into(),
        Some(code) => describe(code),
        None => e.to_string(),
    })
}

#[derive(Default)]
struct Counters {
    ok: u64,
    failed: u64,
    failures: BTreeMap<String, u64>,
}

impl Counters {
    /// Count `res`; a refusal also goes into `also` when given. True when it went through.
    fn record_in(&mut self, res: &TxResult, also: Option<&mut BTreeMap<String, u64>>) -> bool {
        match error_key(res) {
            None => {
                self.ok += 1;
                true
            }
            Some(key) => {
                self.failed += 1;
                if let Some(map) = also {
                    *map.entry(key.clone()).or_default() += 1;
                }
                *self.failures.entry(key).or_default() += 1;
                false
            }
        }
    }

    fn record(&mut self, res: &TxResult) -> bool {
        self.record_in(res, None)
    }
}

struct SimTrader {
    trader: Trader,
    /// Market index and side of the open position.
    pos: Option<(usize, Side)>,
    capital: f64,
}

/// The profit a close left on the table because of the reserve cap, in tokens, or `None`
/// when the cap did not bind. `pnl` is the realized (capped) PnL; the closed part is
/// `size_base` base units of `size_usd` entry notional out of `position`.
fn capped_profit(
    position: &Position,
    size_usd: u64,
    size_base: u64,
    fill_price: u64,
    pnl: i64,
    settlement: &OraclePrice,
    decimals: u8,
) -> Option<u64> {
    let whole = position.entry_notional_usd.max(1);
    let reserve = if size_usd >= whole {
        position.reserved
    } else {
        (position.reserved as u128 * size_usd as u128 / whole as u128) as u64
    };
    if pnl <= 0 || (pnl as u64) < reserve {
        return None;
    }
    let usd = pnl_usd(position.is_long(), size_base, size_usd, fill_price, true).ok()?;
    let uncapped = signed_usd_to_tokens(usd, settlement, decimals, true).ok()?;
    (uncapped > pnl as i128).then(|| (uncapped - pnl as i128) as u64)
}

/// Run `s` over window `w`: load the data, build a fresh runtime and pool, replay. The one
/// entry point for a run (the CLI's `run`, `stress`, and any later calibration).
pub fn run_window(s: &Scenario, w: &Window, progress: &ProgressBar) -> Result<Outcome, String> {
    let prepared = prepare(s, w)?;
    progress.set_length(prepared.len() as u64);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let mut o = runtime.block_on(simulate(s, &prepared, progress));
    o.start = w.start.clone();
    o.end = w.end.clone();
    Ok(o)
}

/// Replay `p` under scenario `s`.
pub async fn simulate(s: &Scenario, p: &Prepared, progress: &ProgressBar) -> Outcome {
    let started = Instant::now();
    let n_markets = s.markets.len();
    let mut setup = PoolSetup::default();
    setup.params.deposit_fee_bps = s.pool.deposit_fee_bps;
    setup.params.withdraw_fee_bps = s.pool.withdraw_fee_bps;
    setup.params.max_utilization_bps = s.pool.max_utilization_bps;
    setup.params.max_pnl_factor_bps = s.pool.max_pnl_factor_bps;
    setup.params.max_net_exposure_bps = s.pool.max_net_exposure_bps;
    setup.markets = s
        .markets
        .iter()
        .zip(&p.candles)
        .map(|(m, candles)| {
            let mut market = MarketSetup::new(&m.symbol, 1);
            market.price = pyth_price(candles[0].open);
            market.params = m.market_params();
            market
        })
        .collect();
    // Every key from the scenario's seed: a run repeats exactly (the keeper works through
    // positions in key order).
    let mut f = Fixture::with_env(TestEnv::start_seeded(s.seed).await, setup).await;
    f.check_every_step = false;
    // Signatures are what the tests check; here they would cost half of every transaction.
    f.env.rt.set_sigverify(false);
    let mut c = Counters::default();
    let mut o = Outcome {
        markets: s
            .markets
            .iter()
            .map(|m| MarketInfo {
                symbol: m.symbol.clone(),
                data: m.data.display().to_string(),
                margin: m.margin,
                base_initial_margin_bps: m.base_initial_margin_bps,
                base_maintenance_margin_bps: m.base_maintenance_margin_bps,
                positions_opened: 0,
            })
            .collect(),
        path: s.path,
        keeper_latency_updates: s.keeper_latency_updates,
        candle_seconds: p.interval,
        candles: p.len(),
        trading_candles: p.candles[0]
            .iter()
            .filter(|c| c.time >= p.trading_start)
            .count(),
        ..Outcome::default()
    };
    let mut rng = Rng::new(s.seed);
    let p_open = per_step(s.traders.open_per_hour, p.interval);
    let p_close = per_step(s.traders.close_per_hour, p.interval);
    let p_lp = per_step(s.lps.activity_per_hour, p.interval);

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
        let trader = f.new_wallet_trader((capital * USDC as f64) as u64).await;
        traders.push(SimTrader {
            trader,
            pos: None,
            capital,
        });
    }
    // The keeper is the keeper crate's engine (`Keeper::plan`, `Keeper::send`) on this
    // runtime; what it plans at one update it sends `keeper_latency_updates` later.
    let mut keeper = SimKeeper {
        key: f.env.new_user().await,
        config: keeper_config(&f),
        orders: Delayed::new(s.keeper_latency_updates),
        in_flight: HashSet::new(),
    };

    let oracles: Vec<_> = f.pool.markets.iter().map(|m| m.oracle).collect();
    let market_keys: Vec<_> = f.pool.markets.iter().map(|m| m.key).collect();
    let settlement_oracle = f.pool.settlement_oracle;
    let decimals = f.pool.decimals;
    let mut ema: Vec<f64> = p.candles.iter().map(|c| c[0].open).collect();
    let mut prev_time = p.candles[0][0].time;
    let mut leverage_sum = 0.0;
    let mut update_index: u64 = 0;

    for k in 0..p.len() {
        let trading = p.candles[0][k].time >= p.trading_start;
        let paths: Vec<_> = p
            .candles
            .iter()
            .map(|series| candle_updates(&series[k], p.interval, s.path))
            .collect();
        for (step, update) in paths[0].iter().enumerate() {
            let time = p.candles[0][k].time + update.offset;
            let dt = time - prev_time;
            f.env.advance_time(dt).await;
            prev_time = time;
            update_index += 1;
            o.oracle_updates += 1;
            for i in 0..n_markets {
                let candle = &p.candles[i][k];
                let price = paths[i][step].price;
                ema[i] = ema_step(ema[i], price, dt);
                let conf = confidence(candle, price);
                let e = ema[i];
                f.env.update_price(&oracles[i], |pr| {
                    pr.price = pyth_price(price);
                    pr.ema_price = pyth_price(e);
                    pr.conf = pyth_price(conf) as u64;
                });
                let res = f
                    .env
                    .send(
                        &[ix::refresh_market(
                            &f.pool.key,
                            &market_keys[i],
                            &oracles[i],
                        )],
                        &[],
                    )
                    .await;
                c.record(&res);
            }
            if !trading {
                continue;
            }

            // Keeper: what it planned `latency` updates ago lands, it plans on the chain as
            // it is now, and what is due now lands (all of it when there is no latency).
            let now = update_index;
            keeper
                .land_due(now, &mut f, &mut traders, &lps, &mut c, &mut o)
                .await;
            keeper.plan(now, &mut f, &mut c).await;
            keeper
                .land_due(now, &mut f, &mut traders, &lps, &mut c, &mut o)
                .await;
        }
        progress.inc(1);
        if !trading {
            continue;
        }

        // Traders, once per candle after its close.
        for st in traders.iter_mut() {
            match st.pos {
                Some((m, side)) => {
                    if rng.unit() < p_close {
                        let before = f.position_on(m, &st.trader, side).await;
                        let res = f.decrease_on(m, &st.trader, side, u64::MAX).await;
                        if c.record(&res) {
                            o.positions_closed += 1;
                            st.pos = None;
                            let settlement = f.env.prices[&settlement_oracle].oracle_price();
                            let ev = decode_events::<PositionDecreased>(&f.env.last_inner);
                            if let (Some(pos), Some(ev)) = (before, ev.first()) {
                                if let Some(cut) = capped_profit(
                                    &pos,
                                    ev.size_usd,
                                    ev.size_base,
                                    ev.fill_price,
                                    ev.pnl,
                                    &settlement,
                                    decimals,
                                ) {
                                    o.payouts_capped += 1;
                                    o.payouts_capped_amount += cut as f64 / USDC as f64;
                                }
                            }
                        }
                    }
                }
                None => {
                    if rng.unit() >= p_open {
                        continue;
                    }
                    let m = (rng.next_u64() % n_markets as u64) as usize;
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
                    let q = match f.quote_open_on(m, side, collateral, collateral).await {
                        Ok(q) => q,
                        Err(e) => {
                            let key = match e {
                                solana_sdk::transaction::TransactionError::InstructionError(
                                    _,
                                    solana_sdk::instruction::InstructionError::Custom(code),
                                ) => describe(code),
                                other => other.to_string(),
                            };
                            *o.opens_refused.entry(format!("quote: {key}")).or_default() += 1;
                            continue;
                        }
                    };
                    let mut leverage =
                        q.max_leverage_bps as f64 / 10_000.0 * s.traders.leverage_share;
                    let mut size = (collateral as f64 * leverage) as u64;
                    for _ in 0..6 {
                        match f.quote_open_on(m, side, size, collateral).await {
                            Ok(q) if q.meets_initial_margin => break,
                            _ => {
                                leverage *= 0.8;
                                size = (collateral as f64 * leverage) as u64;
                            }
                        }
                    }
                    let res = f.open_on(m, &st.trader, side, size, collateral).await;
                    if !c.record_in(&res, Some(&mut o.opens_refused)) {
                        continue;
                    }
                    o.positions_opened += 1;
                    o.markets[m].positions_opened += 1;
                    leverage_sum += leverage;
                    st.pos = Some((m, side));
                    if rng.unit() < s.traders.trigger_share {
                        let spot = f.env.prices[&oracles[m]].oracle_price().spot as f64;
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
                        let res = f
                            .set_triggers_on(m, &st.trader, side, tp as u64, sl as u64)
                            .await;
                        c.record(&res);
                    }
                }
            }
        }

        // LPs request; the keeper executes once every price is published after the
        // request's delay.
        if rng.unit() < p_lp {
            let i = (rng.next_u64() % lps.len() as u64) as usize;
            let lp = &lps[i];
            let deposit = rng.unit() < 0.5;
            let held = if deposit {
                f.env.token_balance(&lp.token).await
            } else {
                f.env.token_balance(&lp.lp_token).await
            };
            let amount = (held as f64 * rng.unit() * 0.2) as u64;
            let (request, _) = pda::lp_request(&f.pool.key, &lp.user.pubkey());
            let pending = f.env.raw_account(&request).await.is_some();
            if amount > 0 && !pending {
                let res = if deposit {
                    f.request_deposit(lp, amount, 0).await
                } else {
                    f.request_withdrawal(lp, amount, 0).await
                };
                c.record(&res);
            }
        }

        // The books balance after every candle (SPEC 7).
        f.check_invariants().await;

        let view = f.pool_value().await;
        let pool = f.pool_state().await;
        let settlement = f.env.prices[&settlement_oracle].oracle_price();
        let mut markets = Vec::with_capacity(n_markets);
        for (i, oracle) in oracles.iter().enumerate() {
            let state = f.market_state(i).await;
            let price = f.env.prices[oracle].oracle_price();
            let vol = state.realized_volatility().unwrap_or(u64::MAX);
            // What a 10k USD long needs now.
            let ratios = state
                .margin_ratios(&price, &settlement, &pool, true, 10_000 * USDC)
                .expect("margin ratios");
            markets.push(MarketSample {
                price: state.last_price as f64 / PRICE_PRECISION as f64,
                volatility: vol as f64 / VOLATILITY_PRECISION as f64,
                long_open_interest: state.long.open_interest_usd as f64 / USDC as f64,
                short_open_interest: state.short.open_interest_usd as f64 / USDC as f64,
                initial_margin: ratios.initial_bps as f64 / 10_000.0,
                maintenance_margin: ratios.maintenance_bps as f64 / 10_000.0,
            });
        }
        o.samples.push(Sample {
            time: p.candles[0][k].time,
            pool_value: view.pool_value_min as f64 / USDC as f64,
            share_price: view.share_price_min as f64 / SHARE_PRICE_PRECISION as f64,
            utilization: view.utilization_bps as f64 / 10_000.0,
            liquidations: o.liquidations,
            bad_debt: pool.bad_debt as f64 / USDC as f64,
            markets,
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

/// The simulator's keeper: the keeper crate's engine over the fixture's runtime, with the
/// transactions it planned and not yet sent.
struct SimKeeper {
    key: Keypair,
    config: KeeperConfig,
    orders: Delayed<Planned>,
    /// Accounts (positions, requests, markets) with a transaction planned, not yet sent.
    in_flight: HashSet<Pubkey>,
}

impl SimKeeper {
    fn on<'a>(&self, f: &'a mut Fixture) -> Keeper<InProcess<'a>> {
        Keeper::new(
            InProcess::new(f, self.key.insecure_clone()),
            self.config.clone(),
        )
    }

    /// Plan at update `now`; an account with a transaction in flight waits for it.
    async fn plan(&mut self, now: u64, f: &mut Fixture, c: &mut Counters) {
        match self.on(f).plan().await {
            Ok(plan) => {
                for planned in plan.transactions {
                    if self.in_flight.insert(planned.key) {
                        self.orders.push(now, planned);
                    }
                }
            }
            Err(e) => *c.failures.entry(format!("keeper: {e}")).or_default() += 1,
        }
    }

    /// Send what is due at update `now`, booking each outcome.
    async fn land_due(
        &mut self,
        now: u64,
        f: &mut Fixture,
        traders: &mut [SimTrader],
        lps: &[Lp],
        c: &mut Counters,
        o: &mut Outcome,
    ) {
        for planned in self.orders.take_due(now) {
            self.in_flight.remove(&planned.key);
            keeper_send(f, self, traders, lps, &planned, c, o).await;
        }
    }
}

/// Send one planned keeper transaction and book its outcome.
async fn keeper_send(
    f: &mut Fixture,
    keeper: &SimKeeper,
    traders: &mut [SimTrader],
    lps: &[Lp],
    planned: &Planned,
    c: &mut Counters,
    o: &mut Outcome,
) {
    let request: Option<LiquidityRequest> = match planned.work {
        Work::LiquidityRequest { .. } => f.env.account_if(&planned.key).await,
        _ => None,
    };
    let before: Option<Position> = match planned.work {
        Work::Position { .. } => f.env.account_if(&planned.key).await,
        _ => None,
    };
    let res = {
        let mut k = keeper.on(f);
        let mut report = Default::default();
        k.send(planned, &mut report).await;
        k.cluster.last.take()
    };
    let Some(res) = res else { return };
    match planned.work {
        Work::Retag { .. } => {
            c.record(&res);
        }
        Work::LiquidityRequest { owner } => {
            let Some(lp) = lps.iter().find(|lp| lp.user.pubkey() == owner) else {
                return;
            };
            let deposit = request
                .as_ref()
                .is_some_and(|r| r.kind == LiquidityRequestKind::Deposit);
            if c.record(&res) {
                if deposit {
                    o.lp_deposits += 1;
                } else {
                    o.lp_withdrawals += 1;
                }
            } else if request.is_some() {
                // Refused (slippage or liquidity at execution): the LP takes it back.
                let refund = if deposit { lp.token } else { lp.lp_token };
                c.record(&f.cancel_request(lp, &refund).await);
            }
        }
        Work::Position { owner, action } => {
            o.keeper_actions_sent += 1;
            if !c.record_in(&res, Some(&mut o.keeper_actions_refused)) {
                return;
            }
            book_close(f, traders, owner, action, before, o).await;
        }
    }
}

/// A keeper's close that went through: count it, and what the reserve cap cut from it.
async fn book_close(
    f: &mut Fixture,
    traders: &mut [SimTrader],
    owner: Pubkey,
    action: Action,
    before: Option<Position>,
    o: &mut Outcome,
) {
    match action {
        Action::Liquidate => o.liquidations += 1,
        Action::ExecuteTrigger { .. } => o.trigger_orders += 1,
        _ => o.deleveraged += 1,
    }
    // Did the reserve cap cut the profit of this close?
    let settlement = f.env.prices[&f.pool.settlement_oracle].oracle_price();
    let cut = before.and_then(|pos| match action {
        Action::ExecuteTrigger { .. } => {
            let ev = decode_events::<TriggerOrderExecuted>(&f.env.last_inner);
            let ev = ev.first()?;
            capped_profit(
                &pos,
                pos.entry_notional_usd,
                pos.size_base,
                ev.fill_price,
                ev.pnl,
                &settlement,
                f.pool.decimals,
            )
        }
        Action::DeleverageAtCap | Action::DeleverageOverPnlCap => {
            let ev = decode_events::<PositionDeleveraged>(&f.env.last_inner);
            let ev = ev.first()?;
            let whole = pos.entry_notional_usd.max(1);
            let base = (pos.size_base as u128 * ev.size_usd as u128 / whole as u128) as u64;
            capped_profit(
                &pos,
                ev.size_usd,
                base,
                ev.price,
                ev.pnl,
                &settlement,
                f.pool.decimals,
            )
        }
        _ => None,
    });
    if let Some(cut) = cut {
        o.payouts_capped += 1;
        o.payouts_capped_amount += cut as f64 / USDC as f64;
    }
    let Some(st) = traders.iter_mut().find(|t| t.trader.user.pubkey() == owner) else {
        return;
    };
    let Some((m, side)) = st.pos else { return };
    if f.position_on(m, &st.trader, side).await.is_none() {
        st.pos = None;
        if action == Action::Liquidate {
            o.full_liquidations += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeper_actions_wait_n_updates() {
        for latency in [0u32, 1, 3] {
            let mut q = Delayed::new(latency);
            q.push(5, "liquidate A");
            q.push(6, "liquidate B");
            let mut sent = Vec::new();
            for update in 5..12 {
                for item in q.take_due(update) {
                    sent.push((update, item));
                }
            }
            let l = latency as u64;
            assert_eq!(sent, vec![(5 + l, "liquidate A"), (6 + l, "liquidate B")]);
        }
    }

    fn scenario(text: &str) -> Scenario {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        Scenario::parse(text, &dir).unwrap()
    }

    #[test]
    fn windows_of_two_markets_are_aligned_on_common_times() {
        let s = scenario(
            "start = \"2021-05-19 00:00:00\"\nend = \"2021-05-19 05:00:00\"\nwarmup_hours = 2\n\
             [[markets]]\nsymbol = \"SOL-PERP\"\ndata = \"../data/SOLUSDT_1h.csv\"\n\
             [[markets]]\nsymbol = \"BTC-PERP\"\ndata = \"../data/BTC_USDT-1h.json\"",
        );
        let p = prepare(&s, &Window::of(&s)).unwrap();
        assert_eq!(p.interval, 3_600);
        assert_eq!(p.candles.len(), 2);
        assert_eq!(p.len(), 8, "2 warm-up hours + 6 hours");
        for (a, b) in p.candles[0].iter().zip(&p.candles[1]) {
            assert_eq!(a.time, b.time);
        }
        assert!(p.candles[1][0].close > 30_000.0 && p.candles[0][0].close < 100.0);

        // BTC's file ends in Oct 2022: no overlap with SOL in Nov 2022.
        let mut late = s.clone();
        late.start = "2022-11-01 00:00:00".into();
        late.end = "2022-11-02 00:00:00".into();
        let e = prepare(&late, &Window::of(&late)).err().unwrap();
        assert!(e.contains("BTC_USDT-1h.json has no candles"), "{e}");
        // Different resolutions are refused.
        let mut mixed = s.clone();
        mixed.markets[1].data = mixed.markets[0].data.with_file_name("SOL_USDT-15m.json");
        let e = prepare(&mixed, &Window::of(&mixed)).err().unwrap();
        assert!(e.contains("candle intervals differ"), "{e}");
        // A warm-up before the file's first candle is refused.
        let mut early = s.clone();
        early.markets = vec![mixed.markets[1].clone()];
        early.start = "2022-11-01 12:00:00".into();
        early.end = "2022-11-02 00:00:00".into();
        early.warmup_hours = 24;
        let e = prepare(&early, &Window::of(&early)).err().unwrap();
        assert!(e.contains("after the warm-up start"), "{e}");
    }

    /// A few candles of two markets through the runtime, with keeper latency: it runs,
    /// says what it ran, trades on both markets and keeps the books.
    #[test]
    fn a_short_two_market_run_with_latency() {
        let s = scenario(
            "start = \"2021-05-19 10:00:00\"\nend = \"2021-05-19 15:00:00\"\nwarmup_hours = 2\n\
             keeper_latency_updates = 2\n\
             [[markets]]\nsymbol = \"SOL-PERP\"\ndata = \"../data/SOLUSDT_1h.csv\"\n\
             [[markets]]\nsymbol = \"BTC-PERP\"\ndata = \"../data/BTC_USDT-1h.json\"\n\
             [lps]\ncount = 2\ninitial_deposit = 100000\n\
             [traders]\ncount = 12\nopen_per_hour = 0.9\nleverage_share = 1.0",
        );
        let o = run_window(&s, &Window::of(&s), &ProgressBar::hidden()).unwrap();
        assert_eq!(o.path, PathMode::Ohlc);
        assert_eq!(o.keeper_latency_updates, 2);
        assert_eq!(o.candles, 8);
        assert_eq!(o.trading_candles, 6);
        assert_eq!(o.oracle_updates, 32, "four updates a candle");
        assert_eq!(o.samples.len(), 6);
        assert_eq!(o.samples[0].markets.len(), 2);
        assert!(o.positions_opened > 0);
        assert!(
            o.markets.iter().all(|m| m.positions_opened > 0),
            "{:?}",
            o.markets
        );
    }

    /// With a reserve of 1 % of size, profitable closes hit the cap and are counted with
    /// the profit cut off.
    #[test]
    fn payouts_cut_at_the_reserve_are_counted() {
        let s = scenario(
            "start = \"2021-05-19 12:00:00\"\nend = \"2021-05-19 20:00:00\"\nwarmup_hours = 2\n\
             data = \"../data/SOLUSDT_1h.csv\"\n\
             [market]\nmax_profit_factor_bps = 100\n\
             [lps]\ncount = 1\ninitial_deposit = 200000\n\
             [traders]\ncount = 16\nopen_per_hour = 0.9\nclose_per_hour = 0.9\ntrigger_share = 0.0",
        );
        let o = run_window(&s, &Window::of(&s), &ProgressBar::hidden()).unwrap();
        assert!(o.positions_closed > 0, "{o:?}");
        assert!(o.payouts_capped > 0, "closed {}", o.positions_closed);
        assert!(o.payouts_capped_amount > 0.0);
    }
}
