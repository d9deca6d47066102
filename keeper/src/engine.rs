//! One keeper pass: load, judge, act.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, Discriminator};
use anchor_spl::associated_token::get_associated_token_address;
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use anchor_spl::token::ID as TOKEN_PROGRAM_ID;
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_sdk::instruction::Instruction;
use tidepool::engine::marks::validate_price_update;
use tidepool::error::TidepoolError;
use tidepool::math::oracle::OraclePrice;
use tidepool::state::{LiquidityRequest, Market, Pool, Position};
use tidepool_client::errors::describe;
use tidepool_client::ix::{self, KeeperCloseKeys, MarketKeys, MarketOracle, PoolKeys};
use tidepool_client::keeper::{assess, pnl_cap_deleverage, stale_bound_positions, Action};
use tidepool_client::pda::pyth_feed_account;

use crate::cluster::{Cluster, SendError};

/// A position to act on.
struct Todo {
    position: Pubkey,
    owner: Pubkey,
    settlement_mint: Pubkey,
    market: MarketKeys,
    action: Action,
    /// Every market of the pool with its price account: what pool-level deleveraging
    /// passes (empty for the other actions).
    pool_markets: Vec<MarketOracle>,
}

/// Positions per re-tagging `refresh_market` (writable accounts in one legacy transaction).
const RETAG_PER_TRANSACTION: usize = 20;

#[derive(Debug, Clone, Default)]
pub struct KeeperConfig {
    /// Decide and log, send nothing.
    pub dry_run: bool,
    /// Price account per feed id; feeds not listed use Pyth's shard-0 feed account.
    pub price_accounts: HashMap<[u8; 32], Pubkey>,
    /// Priority fee, micro-lamports per compute unit.
    pub compute_unit_price: u64,
    pub compute_unit_limit: u32,
}

/// What one pass saw and did.
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    pub positions: usize,
    /// Positions judged (the others had no usable price).
    pub evaluated: usize,
    /// Pending LP requests seen.
    pub lp_requests: usize,
    /// Positions re-tagged so that stale price bounds can be retired.
    pub retagged: usize,
    /// (position, action) the keeper decided on.
    pub actions: Vec<(Pubkey, Action)>,
    pub sent: usize,
    /// Another keeper got there first (the position was healthy, closed or no longer
    /// triggerable when ours arrived): not an error.
    pub lost_races: usize,
    pub failures: Vec<String>,
    /// Human-readable log lines of the pass.
    pub log: Vec<String>,
    pub evaluations_per_second: f64,
}

/// What a planned transaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// `refresh_market` re-tagging this many positions, so that a side's price bounds can
    /// forget positions that have left it.
    Retag { positions: usize },
    /// `execute_liquidity_request` for the request of `owner`.
    LiquidityRequest { owner: Pubkey },
    /// The keeper's action on a position of `owner`.
    Position { owner: Pubkey, action: Action },
}

/// One transaction a pass decided on.
#[derive(Debug, Clone)]
pub struct Planned {
    /// What it is about: the market (re-tag), the request, or the position.
    pub key: Pubkey,
    pub work: Work,
    pub instructions: Vec<Instruction>,
    /// Refusals that mean, for this transaction only, that someone acted first.
    also_lost: &'static [TidepoolError],
}

impl Planned {
    fn what(&self) -> String {
        match self.work {
            Work::Retag { .. } => "RefreshMarket (re-tag)".into(),
            Work::LiquidityRequest { .. } => "ExecuteLiquidityRequest".into(),
            Work::Position { action, .. } => format!("{action:?}"),
        }
    }
}

/// What a pass decided: its report so far and the transactions to send, in order
/// (re-tags, LP requests, then positions).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub report: PassReport,
    pub transactions: Vec<Planned>,
}

/// How sending one planned transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    Sent,
    /// A dry run: nothing was sent.
    DryRun,
    /// Refused with a code that means another keeper (or the owner) acted first.
    LostRace(u32),
    /// Refused by the program with this code.
    Refused(u32),
    /// Not delivered (after retries).
    Failed(String),
}

pub struct Keeper<C: Cluster> {
    pub cluster: C,
    pub config: KeeperConfig,
}

fn decode_all<T: AccountDeserialize>(accounts: Vec<(Pubkey, Vec<u8>)>) -> Vec<(Pubkey, T)> {
    accounts
        .into_iter()
        .filter_map(|(k, data)| T::try_deserialize(&mut &data[..]).ok().map(|v| (k, v)))
        .collect()
}

/// Errors that mean another keeper (or the owner) acted first.
fn is_lost_race(code: u32) -> bool {
    let race = [
        TidepoolError::PositionHealthy,
        TidepoolError::TriggerNotReached,
        TidepoolError::NotDeleveragable,
        TidepoolError::OracleOlderThanLastUsed,
    ];
    race.iter().any(|e| u32::from(*e) == code)
        || code == u32::from(anchor_lang::error::ErrorCode::AccountNotInitialized)
        || code == u32::from(anchor_lang::error::ErrorCode::AccountDiscriminatorMismatch)
        || code == u32::from(anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram)
}

impl<C: Cluster> Keeper<C> {
    pub fn new(cluster: C, config: KeeperConfig) -> Self {
        Self { cluster, config }
    }

    fn price_account(&self, feed_id: &[u8; 32]) -> Pubkey {
        self.config
            .price_accounts
            .get(feed_id)
            .copied()
            .unwrap_or_else(|| pyth_feed_account(0, feed_id))
    }

    async fn price(
        &mut self,
        feed_id: &[u8; 32],
        guards: &tidepool::state::OracleGuards,
        last_publish_time: i64,
        now: i64,
    ) -> Result<(Pubkey, OraclePrice), String> {
        let key = self.price_account(feed_id);
        let data = self
            .cluster
            .account_data(&key)
            .await?
            .ok_or_else(|| format!("price account {key} not found"))?;
        let update = PriceUpdateV2::try_deserialize(&mut &data[..])
            .map_err(|e| format!("price account {key}: {e}"))?;
        let price = validate_price_update(&update, feed_id, guards, last_publish_time, now)
            .map_err(|e| format!("price account {key}: {e}"))?;
        Ok((key, price))
    }

    /// Every market of `pool` in the pool's order with its price account and price, or
    /// `None` when one is missing (the program values a pool only with all of them).
    fn pool_markets<'a>(
        &self,
        pool: &Pool,
        markets: &'a BTreeMap<Pubkey, Market>,
        prices: &'a BTreeMap<Pubkey, (Pubkey, OraclePrice)>,
    ) -> Option<Vec<(Pubkey, &'a Market, Pubkey, &'a OraclePrice)>> {
        pool.markets()
            .iter()
            .map(|key| {
                let (price_key, price) = prices.get(key)?;
                Some((*key, markets.get(key)?, *price_key, price))
            })
            .collect()
    }

    /// One pass: decide, then send what was decided.
    pub async fn pass(&mut self) -> Result<PassReport, String> {
        let Plan {
            mut report,
            transactions,
        } = self.plan().await?;
        for planned in &transactions {
            self.send(planned, &mut report).await;
        }
        Ok(report)
    }

    /// Read the chain and decide, sending nothing: what [`Keeper::pass`] sends, in order.
    /// The simulator plans at one price update and sends later to model a keeper's latency.
    pub async fn plan(&mut self) -> Result<Plan, String> {
        let mut report = PassReport::default();
        let mut transactions = Vec::new();
        let pools: BTreeMap<Pubkey, Pool> =
            decode_all(self.cluster.program_accounts(Pool::DISCRIMINATOR).await?)
                .into_iter()
                .collect();
        let markets: BTreeMap<Pubkey, Market> =
            decode_all(self.cluster.program_accounts(Market::DISCRIMINATOR).await?)
                .into_iter()
                .collect();
        let positions: Vec<(Pubkey, Position)> = decode_all(
            self.cluster
                .program_accounts(Position::DISCRIMINATOR)
                .await?,
        );
        report.positions = positions.len();
        let now = self.cluster.unix_time().await?;

        // Prices once per market and pool.
        let mut settlement = BTreeMap::new();
        for (key, pool) in &pools {
            match self
                .price(
                    &pool.settlement_feed_id,
                    &pool.params.settlement_oracle,
                    pool.settlement_last_publish_time,
                    now,
                )
                .await
            {
                Ok(p) => {
                    settlement.insert(*key, p);
                }
                Err(e) => report
                    .log
                    .push(format!("pool {key}: no settlement price: {e}")),
            }
        }
        let mut prices = BTreeMap::new();
        for (key, market) in &markets {
            match self
                .price(
                    &market.feed_id,
                    &market.params.oracle,
                    market.last_publish_time,
                    now,
                )
                .await
            {
                Ok(p) => {
                    prices.insert(*key, p);
                }
                Err(e) => report.log.push(format!("market {key}: no price: {e}")),
            }
        }

        let started = Instant::now();
        let mut todo: Vec<Todo> = Vec::new();
        for (key, position) in &positions {
            let Some(market) = markets.get(&position.market) else {
                continue;
            };
            let Some(pool) = pools.get(&market.pool) else {
                continue;
            };
            let (Some((price_key, price)), Some((settle_key, settle))) =
                (prices.get(&position.market), settlement.get(&market.pool))
            else {
                continue;
            };
            report.evaluated += 1;
            let Ok((action, health)) = assess(pool, market, position, price, settle, now) else {
                report
                    .log
                    .push(format!("position {key}: health does not compute"));
                continue;
            };
            if action == Action::None {
                continue;
            }
            report.log.push(format!(
                "position {key} ({:?}, owner {}): {action:?} — equity {} vs maintenance {} at {}",
                position.side,
                position.owner,
                health.equity,
                health.maintenance_margin_required,
                price.spot
            ));
            report.actions.push((*key, action));
            let m = MarketKeys {
                pool: market.pool,
                market: position.market,
                price_update: *price_key,
                settlement_price_update: *settle_key,
            };
            todo.push(Todo {
                position: *key,
                owner: position.owner,
                settlement_mint: pool.settlement_mint,
                market: m,
                action,
                pool_markets: Vec::new(),
            });
        }
        // Pool-level deleveraging: traders' profit over a pool's PnL cap.
        for (pool_key, pool) in &pools {
            let (Some((settle_key, settle)), Some(list)) = (
                settlement.get(pool_key),
                self.pool_markets(pool, &markets, &prices),
            ) else {
                continue;
            };
            let in_pool: Vec<(Pubkey, &Position)> = positions
                .iter()
                .filter(|(_, p)| pool.markets().contains(&p.market))
                .map(|(k, p)| (*k, p))
                .collect();
            let with_prices: Vec<(Pubkey, &Market, &OraclePrice)> =
                list.iter().map(|(k, m, _, p)| (*k, *m, *p)).collect();
            let oracles: Vec<MarketOracle> = list
                .iter()
                .map(|(market, _, price_update, _)| MarketOracle {
                    market: *market,
                    price_update: *price_update,
                })
                .collect();
            let Ok(chosen) = pnl_cap_deleverage(pool, &with_prices, settle, &in_pool, now) else {
                report
                    .log
                    .push(format!("pool {pool_key}: profit cap does not compute"));
                continue;
            };
            for key in chosen {
                if todo.iter().any(|t| t.position == key) {
                    continue;
                }
                let Some((_, position)) = in_pool.iter().find(|(k, _)| *k == key) else {
                    continue;
                };
                let Some((_, _, price_key, _)) =
                    list.iter().find(|(k, _, _, _)| *k == position.market)
                else {
                    continue;
                };
                let action = Action::DeleverageOverPnlCap;
                report.log.push(format!(
                    "position {key} ({:?}, owner {}): {action:?}",
                    position.side, position.owner
                ));
                report.actions.push((key, action));
                let m = MarketKeys {
                    pool: *pool_key,
                    market: position.market,
                    price_update: *price_key,
                    settlement_price_update: *settle_key,
                };
                todo.push(Todo {
                    position: key,
                    owner: position.owner,
                    settlement_mint: pool.settlement_mint,
                    market: m,
                    action,
                    pool_markets: oracles.clone(),
                });
            }
        }
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        report.evaluations_per_second = report.evaluated as f64 / secs;

        // Price bounds that still remember positions which have left their side.
        let mut by_market: BTreeMap<Pubkey, Vec<(Pubkey, &Position)>> = BTreeMap::new();
        for (key, position) in &positions {
            by_market
                .entry(position.market)
                .or_default()
                .push((*key, position));
        }
        let mut retag = Vec::new();
        for (market_key, list) in &by_market {
            let (Some(market), Some((price_key, _))) =
                (markets.get(market_key), prices.get(market_key))
            else {
                continue;
            };
            let Some(pool) = pools.get(&market.pool) else {
                continue;
            };
            if let Ok(stale) = stale_bound_positions(market, list, pool.settlement_decimals) {
                for chunk in stale.chunks(RETAG_PER_TRANSACTION) {
                    retag.push((*market_key, market.pool, *price_key, chunk.to_vec()));
                }
            }
        }
        report.retagged = retag.iter().map(|r| r.3.len()).sum();
        for (market, pool, price, chunk) in retag {
            report.log.push(format!(
                "market {market}: re-tag {} positions for its price bounds",
                chunk.len()
            ));
            let ixs = self.with_budget(vec![ix::refresh_market_retag(
                &pool, &market, &price, &chunk,
            )]);
            transactions.push(Planned {
                key: market,
                work: Work::Retag {
                    positions: chunk.len(),
                },
                instructions: ixs,
                // A position listed here may have been closed by another keeper (or its
                // owner) since this pass read it: the program then refuses it as
                // InvalidPosition.
                also_lost: &[TidepoolError::InvalidPosition],
            });
        }

        // LP requests whose prices are all published late enough.
        let requests: Vec<(Pubkey, LiquidityRequest)> = decode_all(
            self.cluster
                .program_accounts(LiquidityRequest::DISCRIMINATOR)
                .await?,
        );
        report.lp_requests = requests.len();
        let keeper = self.cluster.keeper();
        for (key, request) in &requests {
            let Some(pool) = pools.get(&request.pool) else {
                continue;
            };
            let Ok(from) = request.executable_from(pool) else {
                continue;
            };
            let Some((settle_key, settle)) = settlement.get(&request.pool) else {
                continue;
            };
            let mut markets = Vec::with_capacity(pool.markets().len());
            for market in pool.markets() {
                match prices.get(market) {
                    Some((price_key, price)) if price.publish_time >= from => {
                        markets.push(MarketOracle {
                            market: *market,
                            price_update: *price_key,
                        })
                    }
                    _ => break,
                }
            }
            if markets.len() != pool.markets().len() || settle.publish_time < from {
                continue;
            }
            let keys = PoolKeys {
                pool: request.pool,
                settlement_mint: pool.settlement_mint,
                settlement_price_update: *settle_key,
                markets,
            };
            report.log.push(format!(
                "LP request {key} ({:?} of {} by {}): execute",
                request.kind, request.amount, request.owner
            ));
            let ixs = self.with_budget(vec![ix::execute_liquidity_request(
                &keeper,
                &keys,
                &request.owner,
                &request.receiver,
            )]);
            transactions.push(Planned {
                key: *key,
                work: Work::LiquidityRequest {
                    owner: request.owner,
                },
                instructions: ixs,
                also_lost: &[],
            });
        }

        for Todo {
            position: key,
            owner,
            settlement_mint: mint,
            market: m,
            action,
            pool_markets,
        } in todo
        {
            let k = KeeperCloseKeys {
                keeper,
                market: m,
                position: key,
                owner,
                owner_token_account: get_associated_token_address(&owner, &mint),
                keeper_token_account: get_associated_token_address(&keeper, &mint),
            };
            let Some(ixn) = action.instruction(&k, &pool_markets) else {
                continue;
            };
            let ixs = self.with_budget(vec![
                // Token accounts a closed account must never block.
                create_associated_token_account_idempotent(
                    &keeper,
                    &owner,
                    &mint,
                    &TOKEN_PROGRAM_ID,
                ),
                create_associated_token_account_idempotent(
                    &keeper,
                    &keeper,
                    &mint,
                    &TOKEN_PROGRAM_ID,
                ),
                ixn,
            ]);
            transactions.push(Planned {
                key,
                work: Work::Position { owner, action },
                instructions: ixs,
                also_lost: &[],
            });
        }
        Ok(Plan {
            report,
            transactions,
        })
    }

    /// `instructions` after the compute-budget instructions of the keeper's config.
    fn with_budget(&self, instructions: Vec<Instruction>) -> Vec<Instruction> {
        let mut ixs = vec![
            ComputeBudgetInstruction::set_compute_unit_limit(
                self.config.compute_unit_limit.max(200_000),
            ),
            ComputeBudgetInstruction::set_compute_unit_price(self.config.compute_unit_price),
        ];
        ixs.extend(instructions);
        ixs
    }

    /// Send one planned transaction, retrying transport errors twice, and book it in
    /// `report`. A refusal that means another keeper (or the owner) acted first is a lost
    /// race, not a failure.
    pub async fn send(&mut self, planned: &Planned, report: &mut PassReport) -> Sent {
        let key = planned.key;
        let what = planned.what();
        if self.config.dry_run {
            report
                .log
                .push(format!("dry run: would send {what} for {key}"));
            return Sent::DryRun;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            return match self.cluster.send(&planned.instructions).await {
                Ok(()) => {
                    report.sent += 1;
                    report.log.push(format!("sent {what} for {key}"));
                    Sent::Sent
                }
                Err(SendError::Program(code))
                    if is_lost_race(code)
                        || planned.also_lost.iter().any(|e| u32::from(*e) == code) =>
                {
                    report.lost_races += 1;
                    report
                        .log
                        .push(format!("lost the race for {key}: {}", describe(code)));
                    Sent::LostRace(code)
                }
                Err(SendError::Program(code)) => {
                    report.failures.push(format!("{key}: {}", describe(code)));
                    Sent::Refused(code)
                }
                Err(SendError::Other(e)) if attempt < 3 => {
                    report.log.push(format!("retrying {key} after: {e}"));
                    continue;
                }
                Err(SendError::Other(e)) => {
                    report.failures.push(format!("{key}: {e}"));
                    Sent::Failed(e)
                }
            };
        }
    }
}
