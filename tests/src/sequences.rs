//! The sequence model: random instruction sequences from a model of every actor. Two
//! markets in one pool, three LPs, four traders, two keepers, the admin; prices that jump,
//! lag their EMA, widen their confidence or go stale; time that jumps.
//!
//! Each op names the error codes it may legitimately get; anything else (an arithmetic
//! error, an unexpected code, a runtime error without a code) fails the run. The harness
//! checks SPEC 7 after every step that goes through (a break panics). Every sequence ends
//! with a wind-down: every position closed (or liquidated), every LP request executed or
//! cancelled, every LP share withdrawn, the protocol's fees collected; then the pool holds
//! nothing but what its locked shares own, and no token was created or lost.
//!
//! One model, three drivers: the seeded proptest (`tests/tests/program/sequences.rs`, which
//! shrinks a failing sequence), the cargo-fuzz target (`fuzz/fuzz_targets/sequences.rs`),
//! and the replay of the fuzz corpus on stable (same test file). Proptest draws ops from
//! [`op`]; the fuzzer decodes bytes with [`decode`] (`arbitrary`, then [`Op::bounded`]).
//! Both take every numeric field's range from [`bounds`].

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use arbitrary::{Arbitrary, Unstructured};
use proptest::prelude::*;
use solana_sdk::signature::Signer;
use tidepool::error::TidepoolError;
use tidepool::state::{LiquidityRequest, Position, Side};
use tidepool_client::ix::{self, KeeperCloseKeys};
use tidepool_client::keeper::{assess, Action};
use tidepool_client::pda;

use crate::env::{custom_error_code, TxResult};
use crate::setup::*;

pub const MARKETS: usize = 2;
pub const LPS: usize = 3;
pub const TRADERS: usize = 4;
/// The most ops [`decode`] makes of one fuzz input.
pub const MAX_FUZZ_OPS: usize = 64;

/// Every numeric field's range, for both drivers: proptest draws from these ranges, and
/// [`Op::bounded`] maps any value `arbitrary` makes into them.
pub mod bounds {
    use std::ops::RangeInclusive;

    use tidepool::constants::pause;

    pub const TRADER: RangeInclusive<usize> = 0..=super::TRADERS - 1;
    pub const MARKET: RangeInclusive<usize> = 0..=super::MARKETS - 1;
    pub const LP: RangeInclusive<usize> = 0..=super::LPS - 1;
    /// Open: size and collateral, whole USDC.
    pub const SIZE: RangeInclusive<u64> = 10..=39_999;
    pub const COLLATERAL: RangeInclusive<u64> = 1..=3_999;
    /// Percent of a position (decrease) or of an LP's shares (withdrawal).
    pub const PART_PCT: RangeInclusive<u64> = 1..=100;
    /// Add or remove collateral, whole USDC.
    pub const COLLATERAL_CHANGE: RangeInclusive<u64> = 1..=999;
    /// Take-profit and stop-loss distance from the price, percent (0: none).
    pub const TRIGGER_PCT: RangeInclusive<u64> = 0..=29;
    /// LP deposit request, whole USDC.
    pub const DEPOSIT: RangeInclusive<u64> = 1..=299_999;
    /// Price move, bps of the price.
    pub const PRICE_BPS: RangeInclusive<i64> = -900..=899;
    /// Confidence, bps of the price.
    pub const CONFIDENCE_BPS: RangeInclusive<u64> = 0..=299;
    /// Time jumps: proptest draws short ones (up to two hours) and long ones (days), the
    /// fuzzer anything from the first to the last.
    pub const TIME_SHORT: RangeInclusive<i64> = 1..=7_199;
    pub const TIME_LONG: RangeInclusive<i64> = 86_400..=30 * 86_400 - 1;
    pub const TIME: RangeInclusive<i64> = *TIME_SHORT.start()..=*TIME_LONG.end();
    /// The pause flag sets the admin sets (one at a time).
    pub const PAUSE_FLAGS: [u16; 5] = [
        0,
        pause::OPEN,
        pause::DECREASE,
        pause::DEPOSIT | pause::WITHDRAW,
        pause::TRIGGER,
    ];
    pub const MAX_UTILIZATION_BPS: RangeInclusive<u16> = 1_000..=10_000;
    pub const REQUEST_DELAY: RangeInclusive<u32> = 11..=119;
    pub const DEPOSIT_FEE_BPS: RangeInclusive<u16> = 0..=49;
    pub const PROFIT_FACTOR_BPS: RangeInclusive<u32> = 100..=19_999;
    pub const MIN_HOLD: RangeInclusive<u32> = 0..=599;
    pub const FUNDING_RATE_BPS: RangeInclusive<u32> = 0..=99_999;
    /// Look-alike kinds (see [`super::Op::LookAlike`]).
    pub const LOOK_ALIKE: RangeInclusive<u8> = 0..=4;
}

#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum Op {
    Open {
        t: usize,
        m: usize,
        long: bool,
        size: u64,
        collateral: u64,
    },
    Decrease {
        t: usize,
        m: usize,
        long: bool,
        part: u64,
    },
    AddCollateral {
        t: usize,
        m: usize,
        long: bool,
        amount: u64,
    },
    RemoveCollateral {
        t: usize,
        m: usize,
        long: bool,
        amount: u64,
    },
    SetTriggers {
        t: usize,
        m: usize,
        long: bool,
        tp_pct: u64,
        sl_pct: u64,
    },
    RequestDeposit {
        lp: usize,
        amount: u64,
    },
    RequestWithdrawal {
        lp: usize,
        share_pct: u64,
    },
    ExecuteRequest {
        lp: usize,
    },
    CancelRequest {
        lp: usize,
    },
    /// Move a market's spot by `bps` (±), its EMA lagging half-way.
    Price {
        m: usize,
        bps: i64,
    },
    /// Widen (or narrow) a market's confidence to `bps` of the price.
    Confidence {
        m: usize,
        bps: u64,
    },
    /// Put an update older than the market's max age in its price account.
    StaleOracle {
        m: usize,
    },
    Time {
        seconds: i64,
    },
    /// The keeper's decision on one position, then its instruction.
    Keeper {
        t: usize,
        m: usize,
        long: bool,
    },
    Refresh {
        m: usize,
    },
    Pause {
        m: Option<usize>,
        flags: u16,
    },
    CollectFees,
    /// The admin changes pool parameters (within their bounds).
    PoolParams {
        max_utilization_bps: u16,
        delay: u32,
        deposit_fee_bps: u16,
    },
    /// The admin changes a market's parameters (within their bounds).
    MarketParams {
        m: usize,
        profit_factor_bps: u32,
        min_hold: u32,
        funding_rate_bps: u32,
    },
    /// An instruction with one account swapped for a look-alike (another pool's market,
    /// another market's price, another pool's markets, another pool's vault, another
    /// owner's token account for a keeper's close): it must be refused.
    LookAlike {
        kind: u8,
        t: usize,
        m: usize,
    },
}

/// `v` mapped into `r`: itself when inside, else `start + (v - start) mod len`.
fn within<T>(v: T, r: RangeInclusive<T>) -> T
where
    T: Copy + TryFrom<i128> + TryInto<i128>,
{
    let wide = |x: T| -> i128 { x.try_into().ok().unwrap_or_default() };
    let (lo, hi) = (wide(*r.start()), wide(*r.end()));
    T::try_from(lo + (wide(v) - lo).rem_euclid(hi - lo + 1))
        .ok()
        .unwrap_or(*r.start())
}

/// `v` when it is one of `set`, else the member it picks.
fn one_of(v: u16, set: &[u16]) -> u16 {
    if set.contains(&v) {
        v
    } else {
        set[v as usize % set.len()]
    }
}

impl Op {
    /// The op with every field inside its range in [`bounds`] (what proptest draws is left
    /// as it is; what `arbitrary` makes of raw bytes is mapped in).
    pub fn bounded(self) -> Op {
        use bounds as b;
        let t = |t| within(t, b::TRADER);
        let m = |m| within(m, b::MARKET);
        let lp = |lp| within(lp, b::LP);
        match self {
            Op::Open {
                t: tt,
                m: mm,
                long,
                size,
                collateral,
            } => Op::Open {
                t: t(tt),
                m: m(mm),
                long,
                size: within(size, b::SIZE),
                collateral: within(collateral, b::COLLATERAL),
            },
            Op::Decrease {
                t: tt,
                m: mm,
                long,
                part,
            } => Op::Decrease {
                t: t(tt),
                m: m(mm),
                long,
                part: within(part, b::PART_PCT),
            },
            Op::AddCollateral {
                t: tt,
                m: mm,
                long,
                amount,
            } => Op::AddCollateral {
                t: t(tt),
                m: m(mm),
                long,
                amount: within(amount, b::COLLATERAL_CHANGE),
            },
            Op::RemoveCollateral {
                t: tt,
                m: mm,
                long,
                amount,
            } => Op::RemoveCollateral {
                t: t(tt),
                m: m(mm),
                long,
                amount: within(amount, b::COLLATERAL_CHANGE),
            },
            Op::SetTriggers {
                t: tt,
                m: mm,
                long,
                tp_pct,
                sl_pct,
            } => Op::SetTriggers {
                t: t(tt),
                m: m(mm),
                long,
                tp_pct: within(tp_pct, b::TRIGGER_PCT),
                sl_pct: within(sl_pct, b::TRIGGER_PCT),
            },
            Op::RequestDeposit { lp: l, amount } => Op::RequestDeposit {
                lp: lp(l),
                amount: within(amount, b::DEPOSIT),
            },
            Op::RequestWithdrawal { lp: l, share_pct } => Op::RequestWithdrawal {
                lp: lp(l),
                share_pct: within(share_pct, b::PART_PCT),
            },
            Op::ExecuteRequest { lp: l } => Op::ExecuteRequest { lp: lp(l) },
            Op::CancelRequest { lp: l } => Op::CancelRequest { lp: lp(l) },
            Op::Price { m: mm, bps } => Op::Price {
                m: m(mm),
                bps: within(bps, b::PRICE_BPS),
            },
            Op::Confidence { m: mm, bps } => Op::Confidence {
                m: m(mm),
                bps: within(bps, b::CONFIDENCE_BPS),
            },
            Op::StaleOracle { m: mm } => Op::StaleOracle { m: m(mm) },
            Op::Time { seconds } => Op::Time {
                seconds: within(seconds, b::TIME),
            },
            Op::Keeper { t: tt, m: mm, long } => Op::Keeper {
                t: t(tt),
                m: m(mm),
                long,
            },
            Op::Refresh { m: mm } => Op::Refresh { m: m(mm) },
            Op::Pause { m: mm, flags } => Op::Pause {
                m: mm.map(m),
                flags: one_of(flags, &b::PAUSE_FLAGS),
            },
            Op::CollectFees => Op::CollectFees,
            Op::PoolParams {
                max_utilization_bps,
                delay,
                deposit_fee_bps,
            } => Op::PoolParams {
                max_utilization_bps: within(max_utilization_bps, b::MAX_UTILIZATION_BPS),
                delay: within(delay, b::REQUEST_DELAY),
                deposit_fee_bps: within(deposit_fee_bps, b::DEPOSIT_FEE_BPS),
            },
            Op::MarketParams {
                m: mm,
                profit_factor_bps,
                min_hold,
                funding_rate_bps,
            } => Op::MarketParams {
                m: m(mm),
                profit_factor_bps: within(profit_factor_bps, b::PROFIT_FACTOR_BPS),
                min_hold: within(min_hold, b::MIN_HOLD),
                funding_rate_bps: within(funding_rate_bps, b::FUNDING_RATE_BPS),
            },
            Op::LookAlike { kind, t: tt, m: mm } => Op::LookAlike {
                kind: within(kind, b::LOOK_ALIKE),
                t: t(tt),
                m: m(mm),
            },
        }
    }
}

/// A fuzz input as a sequence: ops decoded one after another with `arbitrary` (at most
/// [`MAX_FUZZ_OPS`], until the bytes run out), each mapped into [`bounds`].
pub fn decode(data: &[u8]) -> Vec<Op> {
    let mut u = Unstructured::new(data);
    let mut ops = Vec::new();
    while ops.len() < MAX_FUZZ_OPS && !u.is_empty() {
        match Op::arbitrary(&mut u) {
            Ok(op) => ops.push(op.bounded()),
            Err(_) => break,
        }
    }
    ops
}

/// One of [`bounds::PAUSE_FLAGS`], each as likely.
fn pause_flags() -> impl Strategy<Value = u16> {
    let f = bounds::PAUSE_FLAGS;
    prop_oneof![Just(f[0]), Just(f[1]), Just(f[2]), Just(f[3]), Just(f[4])]
}

/// One op, weighted as the sequences need them (the fuzzer's decoder picks variants
/// uniformly instead; its mutations find the mixes that matter).
pub fn op() -> impl Strategy<Value = Op> {
    use bounds as b;
    let (t, m, lp) = (b::TRADER, b::MARKET, b::LP);
    prop_oneof![
        4 => (t.clone(), m.clone(), any::<bool>(), b::SIZE, b::COLLATERAL).prop_map(
            |(t, m, long, size, collateral)| Op::Open { t, m, long, size, collateral }
        ),
        2 => (t.clone(), m.clone(), any::<bool>(), b::PART_PCT)
            .prop_map(|(t, m, long, part)| Op::Decrease { t, m, long, part }),
        1 => (t.clone(), m.clone(), any::<bool>(), b::COLLATERAL_CHANGE)
            .prop_map(|(t, m, long, amount)| Op::AddCollateral { t, m, long, amount }),
        1 => (t.clone(), m.clone(), any::<bool>(), b::COLLATERAL_CHANGE)
            .prop_map(|(t, m, long, amount)| Op::RemoveCollateral { t, m, long, amount }),
        1 => (t.clone(), m.clone(), any::<bool>(), b::TRIGGER_PCT, b::TRIGGER_PCT).prop_map(
            |(t, m, long, tp_pct, sl_pct)| Op::SetTriggers { t, m, long, tp_pct, sl_pct }
        ),
        2 => (lp.clone(), b::DEPOSIT).prop_map(|(lp, amount)| Op::RequestDeposit { lp, amount }),
        1 => (lp.clone(), b::PART_PCT)
            .prop_map(|(lp, share_pct)| Op::RequestWithdrawal { lp, share_pct }),
        2 => lp.clone().prop_map(|lp| Op::ExecuteRequest { lp }),
        1 => lp.prop_map(|lp| Op::CancelRequest { lp }),
        4 => (m.clone(), b::PRICE_BPS).prop_map(|(m, bps)| Op::Price { m, bps }),
        1 => (m.clone(), b::CONFIDENCE_BPS).prop_map(|(m, bps)| Op::Confidence { m, bps }),
        1 => m.clone().prop_map(|m| Op::StaleOracle { m }),
        2 => b::TIME_SHORT.prop_map(|seconds| Op::Time { seconds }),
        1 => b::TIME_LONG.prop_map(|seconds| Op::Time { seconds }),
        3 => (t.clone(), m.clone(), any::<bool>()).prop_map(|(t, m, long)| Op::Keeper { t, m, long }),
        1 => m.clone().prop_map(|m| Op::Refresh { m }),
        1 => (proptest::option::of(m.clone()), pause_flags()).prop_map(|(m, flags)| Op::Pause { m, flags }),
        1 => Just(Op::CollectFees),
        1 => (b::MAX_UTILIZATION_BPS, b::REQUEST_DELAY, b::DEPOSIT_FEE_BPS).prop_map(
            |(max_utilization_bps, delay, deposit_fee_bps)| Op::PoolParams { max_utilization_bps, delay, deposit_fee_bps }
        ),
        1 => (m.clone(), b::PROFIT_FACTOR_BPS, b::MIN_HOLD, b::FUNDING_RATE_BPS).prop_map(
            |(m, profit_factor_bps, min_hold, funding_rate_bps)| Op::MarketParams { m, profit_factor_bps, min_hold, funding_rate_bps }
        ),
        2 => (b::LOOK_ALIKE, t, m).prop_map(|(kind, t, m)| Op::LookAlike { kind, t, m }),
    ]
}

/// Errors an op may get in some state it can run in. Anything else fails the run.
fn allowed(op: &Op) -> Vec<u32> {
    use TidepoolError as E;
    // Prices can be stale, too uncertain or off their EMA after the ops above.
    let oracle = [
        E::OracleStale,
        E::OracleConfidenceTooWide,
        E::OracleEmaDivergence,
        E::OracleOlderThanLastUsed,
        E::Paused,
    ];
    let mut codes: Vec<E> = oracle.to_vec();
    codes.extend(match op {
        Op::Open { .. } => vec![
            E::InsufficientMargin,
            E::InsufficientCollateral,
            E::PositionTooSmall,
            E::MaxUtilizationExceeded,
            E::OpenInterestCapExceeded,
            E::SkewCapExceeded,
            E::PoolProfitCapReached,
            E::PositionUnderwater,
            E::ZeroSize,
        ],
        Op::Decrease { .. } => vec![
            E::RemainingPositionTooSmall,
            E::PositionUnderwater,
            E::ZeroSize,
        ],
        Op::AddCollateral { .. } => vec![],
        Op::RemoveCollateral { .. } => vec![
            E::InsufficientCollateral,
            E::InsufficientMargin,
            E::PositionUnderwater,
        ],
        Op::SetTriggers { .. } => vec![E::InvalidTriggerPrices],
        Op::RequestDeposit { .. } => {
            vec![E::DepositTooSmall, E::PoolValueZero, E::SlippageExceeded]
        }
        Op::RequestWithdrawal { .. } => vec![
            E::WithdrawalTooSmall,
            E::InsufficientLiquidity,
            E::InsufficientShares,
            E::ZeroAmount,
        ],
        Op::ExecuteRequest { .. } => vec![
            E::PriceBeforeRequest,
            E::DepositTooSmall,
            E::WithdrawalTooSmall,
            E::InsufficientLiquidity,
            E::PoolValueZero,
        ],
        Op::Keeper { .. } => vec![
            E::PositionHealthy,
            E::TriggerNotReached,
            E::TriggerInMinHold,
            E::DeleverageInMinHold,
            E::NotDeleveragable,
            E::InvalidTriggerPrices,
            E::PositionUnderwater,
        ],
        Op::CollectFees => vec![E::NoFeesToCollect],
        Op::PoolParams { .. } => vec![E::MaxUtilizationExceeded],
        // Look-alikes only ever fail: the list is every account check that may catch one.
        Op::LookAlike { .. } => vec![
            E::MarketPoolMismatch,
            E::MarketAccountsMismatch,
            E::InvalidVault,
            E::InvalidMint,
            E::InvalidTokenOwner,
            E::InvalidPosition,
            E::OracleFeedMismatch,
            E::InvalidReceiver,
            E::InsufficientMargin,
        ],
        _ => vec![],
    });
    let mut out: Vec<u32> = codes.into_iter().map(u32::from).collect();
    // A position or request that does not exist (Anchor), an LP without tokens (SPL Token 1).
    out.extend([
        u32::from(AnchorError::AccountNotInitialized),
        u32::from(AnchorError::AccountDiscriminatorMismatch),
        1,
    ]);
    if matches!(op, Op::LookAlike { .. }) {
        out.extend([
            u32::from(AnchorError::ConstraintSeeds),
            u32::from(AnchorError::ConstraintHasOne),
            u32::from(AnchorError::ConstraintTokenOwner),
            u32::from(AnchorError::AccountOwnedByWrongProgram),
            u32::from(AnchorError::ConstraintDuplicateMutableAccount),
        ]);
    }
    if matches!(
        op,
        Op::RequestDeposit { .. } | Op::RequestWithdrawal { .. } | Op::LookAlike { kind: 2, .. }
    ) {
        // A second request while one is pending: the system program refuses the account
        // (custom 0 on SBF; natively reported as InvalidInstructionData, without a code).
        out.push(0);
    }
    out
}

struct World {
    f: Fixture,
    lps: Vec<Lp>,
    traders: Vec<Trader>,
    keeper: Trader,
    /// The fee recipient's settlement token account.
    fees: Pubkey,
    /// Another pool, for look-alike accounts.
    other: PoolFixture,
    prices: [f64; MARKETS],
    outcomes: BTreeMap<String, u64>,
}

fn side(long: bool) -> Side {
    if long {
        Side::Long
    } else {
        Side::Short
    }
}

impl World {
    async fn new() -> Self {
        let mut setup = PoolSetup::default();
        setup.markets.push(MarketSetup::new("BTC-PERP", 60_000));
        let mut f = Fixture::with(setup).await;
        let mut lps = Vec::new();
        for _ in 0..LPS {
            lps.push(f.new_lp(2_000_000 * USDC).await);
        }
        f.deposit(&lps[0], 1_000_000 * USDC, 0).await.unwrap();
        let mut traders = Vec::new();
        for _ in 0..TRADERS {
            traders.push(f.new_trader(100_000 * USDC).await);
        }
        let keeper = f.new_keeper().await;
        let recipient = f.fee_recipient.pubkey();
        let fees = f.env.create_token_account(&f.pool.mint, &recipient).await;
        let admin = f.admin.insecure_clone();
        let mut other_setup = PoolSetup {
            id: 1,
            ..PoolSetup::default()
        };
        other_setup
            .markets
            .push(MarketSetup::new("BTC-PERP", 60_000));
        let other = create_pool(&mut f.env, &admin, &other_setup).await;
        Self {
            f,
            lps,
            traders,
            keeper,
            fees,
            other,
            prices: [150.0, 60_000.0],
            outcomes: BTreeMap::new(),
        }
    }

    fn keeper_keys(&self, t: usize, m: usize, long: bool) -> KeeperCloseKeys {
        let mk = self.f.market_keys(m);
        let owner = self.traders[t].user.pubkey();
        KeeperCloseKeys {
            keeper: self.keeper.user.pubkey(),
            market: mk,
            position: mk.position(&owner, side(long)),
            owner,
            owner_token_account: self.traders[t].token,
            keeper_token_account: self.keeper.token,
        }
    }

    async fn set_price(&mut self, m: usize, spot: f64, ema: f64, conf_bps: u64) {
        let now = self.f.env.now().await;
        let oracle = self.f.pool.markets[m].oracle;
        let e8 = |x: f64| (x * 1e8) as i64;
        self.f.env.update_price(&oracle, |p| {
            p.price = e8(spot);
            p.ema_price = e8(ema);
            p.conf = (e8(spot) as u64) * conf_bps / 10_000;
            p.publish_time = now;
        });
    }

    async fn send_as(&mut self, ixn: solana_sdk::instruction::Instruction, who: Who) -> TxResult {
        let res = match who {
            Who::Trader(t) => {
                let k = self.traders[t].user.insecure_clone();
                self.f.env.send(&[ixn], &[&k]).await
            }
            Who::Lp(i) => {
                let k = self.lps[i].user.insecure_clone();
                self.f.env.send(&[ixn], &[&k]).await
            }
            Who::Keeper => {
                let k = self.keeper.user.insecure_clone();
                self.f.env.send(&[ixn], &[&k]).await
            }
            Who::Admin => {
                let k = self.f.admin.insecure_clone();
                self.f.env.send(&[ixn], &[&k]).await
            }
            Who::FeeRecipient => {
                let k = self.f.fee_recipient.insecure_clone();
                self.f.env.send(&[ixn], &[&k]).await
            }
            Who::Anyone => self.f.env.send(&[ixn], &[]).await,
        };
        self.f.after_step(&res).await;
        res
    }

    async fn pending_request(&mut self, key: &Pubkey) -> Result<Option<LiquidityRequest>, String> {
        match self.f.env.raw_account(key).await {
            Some(a) => anchor_lang::AccountDeserialize::try_deserialize(&mut &a.data[..])
                .map(Some)
                .map_err(|e| e.to_string()),
            None => Ok(None),
        }
    }

    /// Ops on a position that does not exist go, most of the time, to one that does (chosen
    /// from the op's own fields, so the choice is reproducible and shrinks with the op).
    async fn resolve(&mut self, t: usize, m: usize, long: bool) -> (usize, usize, bool) {
        let mut open = Vec::new();
        for tt in 0..TRADERS {
            for mm in 0..MARKETS {
                for ll in [true, false] {
                    let key = self.keeper_keys(tt, mm, ll).position;
                    if self.f.env.raw_account(&key).await.is_some() {
                        open.push((tt, mm, ll));
                    }
                }
            }
        }
        let pick = t * 7 + m * 3 + long as usize;
        if open.contains(&(t, m, long)) || open.is_empty() || pick.is_multiple_of(4) {
            return (t, m, long);
        }
        open[pick % open.len()]
    }

    /// Likewise for LP requests.
    async fn resolve_lp(&mut self, lp: usize) -> usize {
        let mut pending = Vec::new();
        for i in 0..LPS {
            let key = pda::lp_request(&self.f.pool.key, &self.lps[i].user.pubkey()).0;
            if self.f.env.raw_account(&key).await.is_some() {
                pending.push(i);
            }
        }
        if pending.contains(&lp) || pending.is_empty() || lp == 0 {
            return lp;
        }
        pending[lp % pending.len()]
    }

    /// Run one op; `Ok(None)` when it went through, `Ok(Some(code))` for an allowed refusal.
    async fn step(&mut self, op: &Op) -> Result<Option<u32>, String> {
        let op = &match op.clone() {
            Op::Decrease { t, m, long, part } => {
                let (t, m, long) = self.resolve(t, m, long).await;
                Op::Decrease { t, m, long, part }
            }
            Op::AddCollateral { t, m, long, amount } => {
                let (t, m, long) = self.resolve(t, m, long).await;
                Op::AddCollateral { t, m, long, amount }
            }
            Op::RemoveCollateral { t, m, long, amount } => {
                let (t, m, long) = self.resolve(t, m, long).await;
                Op::RemoveCollateral { t, m, long, amount }
            }
            Op::SetTriggers {
                t,
                m,
                long,
                tp_pct,
                sl_pct,
            } => {
                let (t, m, long) = self.resolve(t, m, long).await;
                Op::SetTriggers {
                    t,
                    m,
                    long,
                    tp_pct,
                    sl_pct,
                }
            }
            Op::Keeper { t, m, long } => {
                let (t, m, long) = self.resolve(t, m, long).await;
                Op::Keeper { t, m, long }
            }
            Op::ExecuteRequest { lp } => Op::ExecuteRequest {
                lp: self.resolve_lp(lp).await,
            },
            Op::CancelRequest { lp } => Op::CancelRequest {
                lp: self.resolve_lp(lp).await,
            },
            other => other,
        };
        let res = match *op {
            Op::Open {
                t,
                m,
                long,
                size,
                collateral,
            } => {
                let (owner, token) = (self.traders[t].user.pubkey(), self.traders[t].token);
                let any = if long { u64::MAX } else { 0 };
                let ixn = ix::open_position(
                    &owner,
                    &self.f.market_keys(m),
                    &token,
                    side(long),
                    size * USDC,
                    collateral * USDC,
                    any,
                );
                // Known to the invariant checker before the step it checks (a position that
                // does not exist is skipped).
                let key = self.f.market_keys(m).position(&owner, side(long));
                self.f.env.positions.insert(key);
                self.send_as(ixn, Who::Trader(t)).await
            }
            Op::Decrease { t, m, long, part } => {
                let (owner, token) = (self.traders[t].user.pubkey(), self.traders[t].token);
                let mk = self.f.market_keys(m);
                let size = match self
                    .f
                    .env
                    .raw_account(&mk.position(&owner, side(long)))
                    .await
                {
                    Some(a) if a.owner == tidepool::ID => {
                        let p: Position =
                            anchor_lang::AccountDeserialize::try_deserialize(&mut &a.data[..])
                                .map_err(|e| e.to_string())?;
                        if part >= 100 {
                            u64::MAX
                        } else {
                            (p.entry_notional_usd as u128 * part as u128 / 100) as u64
                        }
                    }
                    _ => USDC,
                };
                let any = if long { 0 } else { u64::MAX };
                let ixn = ix::decrease_position(&owner, &mk, side(long), &token, size, any, 0);
                self.send_as(ixn, Who::Trader(t)).await
            }
            Op::AddCollateral { t, m, long, amount } => {
                let (owner, token) = (self.traders[t].user.pubkey(), self.traders[t].token);
                let ixn = ix::add_collateral(
                    &owner,
                    &self.f.market_keys(m),
                    side(long),
                    &token,
                    amount * USDC,
                );
                self.send_as(ixn, Who::Trader(t)).await
            }
            Op::RemoveCollateral { t, m, long, amount } => {
                let (owner, token) = (self.traders[t].user.pubkey(), self.traders[t].token);
                let ixn = ix::remove_collateral(
                    &owner,
                    &self.f.market_keys(m),
                    side(long),
                    &token,
                    amount * USDC,
                );
                self.send_as(ixn, Who::Trader(t)).await
            }
            Op::SetTriggers {
                t,
                m,
                long,
                tp_pct,
                sl_pct,
            } => {
                let owner = self.traders[t].user.pubkey();
                let p = self.prices[m];
                let at = |pct: u64, up: bool| -> u64 {
                    if pct == 0 {
                        return 0;
                    }
                    let f = if up {
                        1.0 + pct as f64 / 100.0
                    } else {
                        1.0 - pct as f64 / 100.0
                    };
                    (p * f * 1e9) as u64
                };
                let (tp, sl) = (at(tp_pct, long), at(sl_pct, !long));
                let ixn =
                    ix::set_trigger_orders(&owner, &self.f.pool.markets[m].key, side(long), tp, sl);
                self.send_as(ixn, Who::Trader(t)).await
            }
            Op::RequestDeposit { lp, amount } => {
                let l = &self.lps[lp];
                let ixn = ix::deposit_liquidity(
                    &l.user.pubkey(),
                    &self.f.pool.keys(),
                    &l.token,
                    &l.lp_token,
                    amount * USDC,
                    0,
                );
                let key = pda::lp_request(&self.f.pool.key, &l.user.pubkey()).0;
                self.f.env.lp_requests.insert(key);
                self.send_as(ixn, Who::Lp(lp)).await
            }
            Op::RequestWithdrawal { lp, share_pct } => {
                let l = &self.lps[lp];
                let (owner, lp_token, token) = (l.user.pubkey(), l.lp_token, l.token);
                let held = self.f.env.token_balance(&lp_token).await;
                let shares = (held as u128 * share_pct as u128 / 100) as u64;
                let ixn = ix::withdraw_liquidity(
                    &owner,
                    &self.f.pool.keys(),
                    &lp_token,
                    &token,
                    shares,
                    0,
                );
                let key = pda::lp_request(&self.f.pool.key, &owner).0;
                self.f.env.lp_requests.insert(key);
                self.send_as(ixn, Who::Lp(lp)).await
            }
            Op::ExecuteRequest { lp } => {
                let owner = self.lps[lp].user.pubkey();
                let key = pda::lp_request(&self.f.pool.key, &owner).0;
                let receiver = match self.pending_request(&key).await? {
                    Some(r) => r.receiver,
                    None => self.lps[lp].lp_token,
                };
                let ixn = ix::execute_liquidity_request(
                    &self.keeper.user.pubkey(),
                    &self.f.pool.keys(),
                    &owner,
                    &receiver,
                );
                self.send_as(ixn, Who::Keeper).await
            }
            Op::CancelRequest { lp } => {
                let owner = self.lps[lp].user.pubkey();
                let key = pda::lp_request(&self.f.pool.key, &owner).0;
                let refund = match self.pending_request(&key).await?.map(|r| r.kind) {
                    Some(tidepool::state::LiquidityRequestKind::Withdrawal) => {
                        self.lps[lp].lp_token
                    }
                    _ => self.lps[lp].token,
                };
                let ixn = ix::cancel_liquidity_request(&owner, &self.f.pool.key, &refund);
                self.send_as(ixn, Who::Lp(lp)).await
            }
            Op::Price { m, bps } => {
                let old = self.prices[m];
                let new = old * (1.0 + bps as f64 / 10_000.0);
                self.prices[m] = new;
                self.set_price(m, new, (old + new) / 2.0, 5).await;
                return Ok(None);
            }
            Op::Confidence { m, bps } => {
                let p = self.prices[m];
                self.set_price(m, p, p, bps).await;
                return Ok(None);
            }
            Op::StaleOracle { m } => {
                let now = self.f.env.now().await;
                let oracle = self.f.pool.markets[m].oracle;
                self.f
                    .env
                    .update_price(&oracle, |p| p.publish_time = now - 120);
                return Ok(None);
            }
            Op::Time { seconds } => {
                self.f.env.advance_time(seconds).await;
                return Ok(None);
            }
            Op::Keeper { t, m, long } => {
                let k = self.keeper_keys(t, m, long);
                let Some(acc) = self.f.env.raw_account(&k.position).await else {
                    return Ok(Some(u32::from(AnchorError::AccountNotInitialized)));
                };
                let position: Position =
                    anchor_lang::AccountDeserialize::try_deserialize(&mut &acc.data[..])
                        .map_err(|e| e.to_string())?;
                let pool = self.f.pool_state().await;
                let market = self.f.market_state(m).await;
                let (oracle, settle) =
                    (self.f.pool.markets[m].oracle, self.f.pool.settlement_oracle);
                let (px, st) = (
                    self.f.env.prices[&oracle].oracle_price(),
                    self.f.env.prices[&settle].oracle_price(),
                );
                let now = self.f.env.now().await;
                let action = assess(&pool, &market, &position, &px, &st, now).map(|(a, _)| a);
                // Nothing to do (or the pool-level case, which needs the pool's markets
                // this op does not pass): a keeper trying to liquidate anyway must be
                // refused.
                let ixn = match action {
                    Ok(
                        a @ (Action::Liquidate
                        | Action::ExecuteTrigger { .. }
                        | Action::DeleverageAtCap),
                    ) => a.instruction(&k, &[]),
                    _ => None,
                }
                .unwrap_or_else(|| ix::liquidate(&k));
                self.send_as(ixn, Who::Keeper).await
            }
            Op::Refresh { m } => {
                let mk = self.f.pool.markets[m].clone();
                let positions: Vec<Pubkey> = {
                    let mut v = Vec::new();
                    for t in &self.traders {
                        for long in [true, false] {
                            let key = self.f.market_keys(m).position(&t.user.pubkey(), side(long));
                            if self.f.env.raw_account(&key).await.is_some() {
                                v.push(key);
                            }
                        }
                    }
                    v
                };
                let ixn =
                    ix::refresh_market_retag(&self.f.pool.key, &mk.key, &mk.oracle, &positions);
                self.send_as(ixn, Who::Anyone).await
            }
            Op::Pause { m, flags } => {
                let pool = self.f.pool.key;
                let market = m.map(|m| self.f.pool.markets[m].key);
                let ixn = ix::set_pause_flags(
                    &self.f.admin.pubkey(),
                    Some(&pool),
                    market.as_ref(),
                    flags,
                );
                self.send_as(ixn, Who::Admin).await
            }
            Op::PoolParams {
                max_utilization_bps,
                delay,
                deposit_fee_bps,
            } => {
                let mut params = self.f.pool_state().await.params;
                params.max_utilization_bps = max_utilization_bps;
                params.lp_request_delay_seconds = delay;
                params.deposit_fee_bps = deposit_fee_bps;
                let ixn = ix::update_pool_params(&self.f.admin.pubkey(), &self.f.pool.key, params);
                self.send_as(ixn, Who::Admin).await
            }
            Op::MarketParams {
                m,
                profit_factor_bps,
                min_hold,
                funding_rate_bps,
            } => {
                let mut params = self.f.market_state(m).await.params;
                params.max_profit_factor_bps = profit_factor_bps;
                params.min_hold_seconds = min_hold;
                params.funding_rate_bps = funding_rate_bps;
                let (pool, market) = (self.f.pool.key, self.f.pool.markets[m].key);
                let ixn = ix::update_market_params(&self.f.admin.pubkey(), &pool, &market, params);
                self.send_as(ixn, Who::Admin).await
            }
            Op::LookAlike { kind, t, m } => {
                let (owner, token) = (self.traders[t].user.pubkey(), self.traders[t].token);
                let mut mk = self.f.market_keys(m);
                let ixn = match kind {
                    // Another pool's market (same index, same feed layout).
                    0 => {
                        mk.market = self.other.markets[m].key;
                        ix::open_position(
                            &owner,
                            &mk,
                            &token,
                            Side::Long,
                            1_000 * USDC,
                            500 * USDC,
                            u64::MAX,
                        )
                    }
                    // The other market's price for this market.
                    1 => {
                        mk.price_update = self.f.pool.markets[(m + 1) % MARKETS].oracle;
                        ix::open_position(
                            &owner,
                            &mk,
                            &token,
                            Side::Short,
                            1_000 * USDC,
                            500 * USDC,
                            0,
                        )
                    }
                    // Another pool's markets for an LP request.
                    2 => {
                        let l = &self.lps[t % LPS];
                        let mut keys = self.f.pool.keys();
                        keys.markets = self.other.keys().markets;
                        ix::deposit_liquidity(
                            &l.user.pubkey(),
                            &keys,
                            &l.token,
                            &l.lp_token,
                            1_000 * USDC,
                            0,
                        )
                    }
                    // Another pool's vault to pay a close into.
                    3 => {
                        let (t, m, long) = self.resolve(t, m, t % 2 == 0).await;
                        let mut k = self.keeper_keys(t, m, long);
                        k.keeper_token_account = self.other.vault;
                        ix::liquidate(&k)
                    }
                    // A keeper paying the owner's part into someone else's account (an owner
                    // may send its own close anywhere it signs for; a keeper may not).
                    _ => {
                        let (t, m, long) = self.resolve(t, m, t % 2 == 0).await;
                        let mut k = self.keeper_keys(t, m, long);
                        k.owner_token_account = self.traders[(t + 1) % TRADERS].token;
                        ix::liquidate(&k)
                    }
                };
                let who = match kind {
                    2 => Who::Lp(t % LPS),
                    3 | 4 => Who::Keeper,
                    _ => Who::Trader(t),
                };
                let res = self.send_as(ixn, who).await;
                if res.is_ok() {
                    return Err(format!("{op:?} went through"));
                }
                res
            }
            Op::CollectFees => {
                let recipient = self.f.fee_recipient.pubkey();
                let ixn = ix::collect_protocol_fees(&recipient, &self.f.pool.key, &self.fees);
                self.send_as(ixn, Who::FeeRecipient).await
            }
        };
        match res {
            Ok(()) => Ok(None),
            Err(ref e) => {
                let code = custom_error_code(&res).or_else(|| {
                    // Natively the system program's "already in use" has no custom code.
                    format!("{e:?}")
                        .contains("InvalidInstructionData")
                        .then_some(0)
                });
                match code {
                    Some(c) if allowed(op).contains(&c) => Ok(Some(c)),
                    _ => Err(format!("{op:?} failed unexpectedly: {e:?}")),
                }
            }
        }
    }

    /// Close everything and check what is left.
    async fn wind_down(&mut self) -> Result<(), String> {
        for m in 0..MARKETS {
            self.set_price(m, self.prices[m], self.prices[m], 0).await;
            let ixn = ix::set_pause_flags(
                &self.f.admin.pubkey(),
                Some(&self.f.pool.key),
                Some(&self.f.pool.markets[m].key),
                0,
            );
            self.send_as(ixn, Who::Admin)
                .await
                .map_err(|e| e.to_string())?;
        }
        let ixn = ix::set_pause_flags(&self.f.admin.pubkey(), Some(&self.f.pool.key), None, 0);
        self.send_as(ixn, Who::Admin)
            .await
            .map_err(|e| e.to_string())?;
        self.f.env.advance_time(120).await;
        for t in 0..TRADERS {
            for m in 0..MARKETS {
                for long in [true, false] {
                    let key = self.keeper_keys(t, m, long).position;
                    if self.f.env.raw_account(&key).await.is_none() {
                        continue;
                    }
                    let closed = self
                        .step(&Op::Decrease {
                            t,
                            m,
                            long,
                            part: 100,
                        })
                        .await?;
                    if closed.is_some() {
                        let ixn = ix::liquidate(&self.keeper_keys(t, m, long));
                        let res = self.send_as(ixn, Who::Keeper).await;
                        res.map_err(|e| {
                            format!("position {key} can be neither closed nor liquidated: {e:?}")
                        })?;
                    }
                    if self.f.env.raw_account(&key).await.is_some() {
                        return Err(format!("position {key} still open after the wind-down"));
                    }
                }
            }
        }
        for lp in 0..LPS {
            let key = pda::lp_request(&self.f.pool.key, &self.lps[lp].user.pubkey()).0;
            if self.f.env.raw_account(&key).await.is_some() {
                if let Some(c) = self.step(&Op::CancelRequest { lp }).await? {
                    return Err(format!("cancel refused: {c}"));
                }
            }
        }
        for lp in 0..LPS {
            if self.f.env.token_balance(&self.lps[lp].lp_token).await == 0 {
                continue;
            }
            if let Some(c) = self
                .step(&Op::RequestWithdrawal { lp, share_pct: 100 })
                .await?
            {
                return Err(format!("final withdrawal request refused: {c}"));
            }
        }
        self.f.wait_request_delay().await;
        for lp in 0..LPS {
            let key = pda::lp_request(&self.f.pool.key, &self.lps[lp].user.pubkey()).0;
            if self.f.env.raw_account(&key).await.is_some() {
                if let Some(c) = self.step(&Op::ExecuteRequest { lp }).await? {
                    return Err(format!("final withdrawal refused: {c}"));
                }
            }
        }
        self.step(&Op::CollectFees).await?;
        let pool = self.f.pool_state().await;
        let vault = self.f.env.token_balance(&self.f.pool.vault).await;
        let supply = self.f.env.mint_supply(&self.f.pool.lp_mint).await;
        let checks = [
            (pool.total_collateral, "collateral"),
            (pool.total_reserved, "reserves"),
            (pool.pending_deposits, "pending deposits"),
            (pool.pending_withdrawal_shares, "pending withdrawal shares"),
            (pool.protocol_fees_owed, "protocol fees"),
            (supply, "LP shares outstanding"),
        ];
        for (v, what) in checks {
            if v != 0 {
                return Err(format!("{what} left after the wind-down: {v}"));
            }
        }
        // What is left belongs to the locked shares alone.
        if vault != pool.lp_balance {
            return Err(format!("vault {vault} != LP balance {}", pool.lp_balance));
        }
        Ok(())
    }

    /// Every token of the settlement mint that exists, wherever it is.
    async fn tokens(&mut self) -> u128 {
        let mut total = self.f.env.token_balance(&self.f.pool.vault).await as u128;
        let accounts: Vec<Pubkey> = self
            .lps
            .iter()
            .map(|l| l.token)
            .chain(self.traders.iter().map(|t| t.token))
            .chain([self.keeper.token, self.fees])
            .collect();
        for a in accounts {
            total += self.f.env.token_balance(&a).await as u128;
        }
        total
    }
}

#[derive(Clone, Copy)]
enum Who {
    Trader(usize),
    Lp(usize),
    Keeper,
    Admin,
    FeeRecipient,
    Anyone,
}

/// What a run of sequences did: how many, how many ops, and how each kind of op ended.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub sequences: u64,
    pub ops: u64,
    /// `"Op: outcome"` (`ok` or the error's name) → count.
    pub outcomes: BTreeMap<String, u64>,
}

impl Stats {
    pub fn merge(&mut self, other: Stats) {
        self.sequences += other.sequences;
        self.ops += other.ops;
        for (k, v) in other.outcomes {
            *self.outcomes.entry(k).or_default() += v;
        }
    }

    /// The counts, one line each, after a headline with the ops per second over `secs`.
    pub fn print(&self, label: &str, secs: f64) {
        eprintln!(
            "sequences: {}, ops: {} ({:.0} ops/s, {label})",
            self.sequences,
            self.ops,
            self.ops as f64 / secs
        );
        for (k, v) in &self.outcomes {
            eprintln!("  {k:<48} {v}");
        }
    }
}

/// Run one sequence on a fresh world, then the wind-down and the token count. `Err` names
/// the first op that failed unexpectedly or what the wind-down found; a broken SPEC 7
/// invariant panics (as everywhere in the harness).
pub fn run(ops: &[Op]) -> Result<Stats, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut w = World::new().await;
        let before = w.tokens().await;
        for op in ops {
            let name = format!("{op:?}")
                .split([' ', '{'])
                .next()
                .unwrap_or("")
                .to_string();
            let outcome = match w.step(op).await? {
                None => "ok".to_string(),
                Some(code) => tidepool_client::errors::program_error(code)
                    .map(|e| e.name.clone())
                    .unwrap_or_else(|| format!("code {code}")),
            };
            *w.outcomes.entry(format!("{name}: {outcome}")).or_default() += 1;
        }
        w.wind_down().await?;
        let after = w.tokens().await;
        if after != before {
            return Err(format!(
                "tokens not conserved: {before} before, {after} after"
            ));
        }
        Ok(Stats {
            sequences: 1,
            ops: ops.len() as u64,
            outcomes: std::mem::take(&mut w.outcomes),
        })
    })
}
