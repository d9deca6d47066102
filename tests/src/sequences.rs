//! The sequence model: random instruction sequences from a model of every actor. Two
//! pools (each its own settlement mint) of two markets each, three LPs, four traders, a
//! keeper, the admin and the fee recipient, every one with accounts in both pools; prices
//! that jump, lag their EMA, widen their confidence or go stale; time that jumps. Every key
//! derives from [`KEY_SEED`], so a sequence runs the same every time.
//!
//! Each op names the error codes it may legitimately get; anything else (an arithmetic
//! error, an unexpected code, a runtime error without a code) fails the run. The harness
//! checks SPEC 7 on both pools after every step that goes through (a break panics), and
//! books every event the step emitted. Every sequence ends with a wind-down of each pool:
//! every position closed (or liquidated), every LP request executed or cancelled, every LP
//! share withdrawn, the protocol's fees collected; then each pool holds nothing but what
//! its locked shares own, no token was created or lost, and every actor's net result is
//! what the events say, to the unit (see [`run`]).
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
use solana_sdk::signature::{Keypair, Signer};
use tidepool::error::TidepoolError;
use tidepool::math::shares::{quote_deposit_request, quote_withdraw_request, ShareState};
use tidepool::state::{LiquidityRequest, LiquidityRequestKind, Position, Side};
use tidepool_client::ix::{self, KeeperCloseKeys, MarketKeys};
use tidepool_client::keeper::{assess, Action};
use tidepool_client::pda;

use crate::env::{custom_error_code, decode_events, math_failure_note, TestEnv, TxResult};
use crate::invariants::check_invariants;
use crate::setup::*;

pub const POOLS: usize = 2;
/// Markets per pool.
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

    pub const POOL: RangeInclusive<usize> = 0..=super::POOLS - 1;
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
        p: usize,
        t: usize,
        m: usize,
        long: bool,
        size: u64,
        collateral: u64,
    },
    Decrease {
        p: usize,
        t: usize,
        m: usize,
        long: bool,
        part: u64,
    },
    AddCollateral {
        p: usize,
        t: usize,
        m: usize,
        long: bool,
        amount: u64,
    },
    RemoveCollateral {
        p: usize,
        t: usize,
        m: usize,
        long: bool,
        amount: u64,
    },
    SetTriggers {
        p: usize,
        t: usize,
        m: usize,
        long: bool,
        tp_pct: u64,
        sl_pct: u64,
    },
    RequestDeposit {
        p: usize,
        lp: usize,
        amount: u64,
    },
    RequestWithdrawal {
        p: usize,
        lp: usize,
        share_pct: u64,
    },
    ExecuteRequest {
        p: usize,
        lp: usize,
    },
    CancelRequest {
        p: usize,
        lp: usize,
    },
    /// Move a market's spot by `bps` (±), its EMA lagging half-way.
    Price {
        p: usize,
        m: usize,
        bps: i64,
    },
    /// Widen (or narrow) a market's confidence to `bps` of the price.
    Confidence {
        p: usize,
        m: usize,
        bps: u64,
    },
    /// Put an update older than the market's max age in its price account.
    StaleOracle {
        p: usize,
        m: usize,
    },
    Time {
        seconds: i64,
    },
    /// The keeper's decision on one position, then its instruction.
    Keeper {
        p: usize,
        t: usize,
        m: usize,
        long: bool,
    },
    Refresh {
        p: usize,
        m: usize,
    },
    Pause {
        p: usize,
        m: Option<usize>,
        flags: u16,
    },
    CollectFees {
        p: usize,
    },
    /// The admin changes pool parameters (within their bounds).
    PoolParams {
        p: usize,
        max_utilization_bps: u16,
        delay: u32,
        deposit_fee_bps: u16,
    },
    /// The admin changes a market's parameters (within their bounds).
    MarketParams {
        p: usize,
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
        p: usize,
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
        let p = |p| within(p, b::POOL);
        let t = |t| within(t, b::TRADER);
        let m = |m| within(m, b::MARKET);
        let lp = |lp| within(lp, b::LP);
        match self {
            Op::Open {
                p: pp,
                t: tt,
                m: mm,
                long,
                size,
                collateral,
            } => Op::Open {
                p: p(pp),
                t: t(tt),
                m: m(mm),
                long,
                size: within(size, b::SIZE),
                collateral: within(collateral, b::COLLATERAL),
            },
            Op::Decrease {
                p: pp,
                t: tt,
                m: mm,
                long,
                part,
            } => Op::Decrease {
                p: p(pp),
                t: t(tt),
                m: m(mm),
                long,
                part: within(part, b::PART_PCT),
            },
            Op::AddCollateral {
                p: pp,
                t: tt,
                m: mm,
                long,
                amount,
            } => Op::AddCollateral {
                p: p(pp),
                t: t(tt),
                m: m(mm),
                long,
                amount: within(amount, b::COLLATERAL_CHANGE),
            },
            Op::RemoveCollateral {
                p: pp,
                t: tt,
                m: mm,
                long,
                amount,
            } => Op::RemoveCollateral {
                p: p(pp),
                t: t(tt),
                m: m(mm),
                long,
                amount: within(amount, b::COLLATERAL_CHANGE),
            },
            Op::SetTriggers {
                p: pp,
                t: tt,
                m: mm,
                long,
                tp_pct,
                sl_pct,
            } => Op::SetTriggers {
                p: p(pp),
                t: t(tt),
                m: m(mm),
                long,
                tp_pct: within(tp_pct, b::TRIGGER_PCT),
                sl_pct: within(sl_pct, b::TRIGGER_PCT),
            },
            Op::RequestDeposit {
                p: pp,
                lp: l,
                amount,
            } => Op::RequestDeposit {
                p: p(pp),
                lp: lp(l),
                amount: within(amount, b::DEPOSIT),
            },
            Op::RequestWithdrawal {
                p: pp,
                lp: l,
                share_pct,
            } => Op::RequestWithdrawal {
                p: p(pp),
                lp: lp(l),
                share_pct: within(share_pct, b::PART_PCT),
            },
            Op::ExecuteRequest { p: pp, lp: l } => Op::ExecuteRequest {
                p: p(pp),
                lp: lp(l),
            },
            Op::CancelRequest { p: pp, lp: l } => Op::CancelRequest {
                p: p(pp),
                lp: lp(l),
            },
            Op::Price { p: pp, m: mm, bps } => Op::Price {
                p: p(pp),
                m: m(mm),
                bps: within(bps, b::PRICE_BPS),
            },
            Op::Confidence { p: pp, m: mm, bps } => Op::Confidence {
                p: p(pp),
                m: m(mm),
                bps: within(bps, b::CONFIDENCE_BPS),
            },
            Op::StaleOracle { p: pp, m: mm } => Op::StaleOracle { p: p(pp), m: m(mm) },
            Op::Time { seconds } => Op::Time {
                seconds: within(seconds, b::TIME),
            },
            Op::Keeper {
                p: pp,
                t: tt,
                m: mm,
                long,
            } => Op::Keeper {
                p: p(pp),
                t: t(tt),
                m: m(mm),
                long,
            },
            Op::Refresh { p: pp, m: mm } => Op::Refresh { p: p(pp), m: m(mm) },
            Op::Pause {
                p: pp,
                m: mm,
                flags,
            } => Op::Pause {
                p: p(pp),
                m: mm.map(m),
                flags: one_of(flags, &b::PAUSE_FLAGS),
            },
            Op::CollectFees { p: pp } => Op::CollectFees { p: p(pp) },
            Op::PoolParams {
                p: pp,
                max_utilization_bps,
                delay,
                deposit_fee_bps,
            } => Op::PoolParams {
                p: p(pp),
                max_utilization_bps: within(max_utilization_bps, b::MAX_UTILIZATION_BPS),
                delay: within(delay, b::REQUEST_DELAY),
                deposit_fee_bps: within(deposit_fee_bps, b::DEPOSIT_FEE_BPS),
            },
            Op::MarketParams {
                p: pp,
                m: mm,
                profit_factor_bps,
                min_hold,
                funding_rate_bps,
            } => Op::MarketParams {
                p: p(pp),
                m: m(mm),
                profit_factor_bps: within(profit_factor_bps, b::PROFIT_FACTOR_BPS),
                min_hold: within(min_hold, b::MIN_HOLD),
                funding_rate_bps: within(funding_rate_bps, b::FUNDING_RATE_BPS),
            },
            Op::LookAlike {
                kind,
                p: pp,
                t: tt,
                m: mm,
            } => Op::LookAlike {
                kind: within(kind, b::LOOK_ALIKE),
                p: p(pp),
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
    let (p, t, m, lp) = (b::POOL, b::TRADER, b::MARKET, b::LP);
    prop_oneof![
        4 => (p.clone(), t.clone(), m.clone(), any::<bool>(), b::SIZE, b::COLLATERAL).prop_map(
            |(p, t, m, long, size, collateral)| Op::Open { p, t, m, long, size, collateral }
        ),
        2 => (p.clone(), t.clone(), m.clone(), any::<bool>(), b::PART_PCT)
            .prop_map(|(p, t, m, long, part)| Op::Decrease { p, t, m, long, part }),
        1 => (p.clone(), t.clone(), m.clone(), any::<bool>(), b::COLLATERAL_CHANGE)
            .prop_map(|(p, t, m, long, amount)| Op::AddCollateral { p, t, m, long, amount }),
        1 => (p.clone(), t.clone(), m.clone(), any::<bool>(), b::COLLATERAL_CHANGE)
            .prop_map(|(p, t, m, long, amount)| Op::RemoveCollateral { p, t, m, long, amount }),
        1 => (p.clone(), t.clone(), m.clone(), any::<bool>(), b::TRIGGER_PCT, b::TRIGGER_PCT).prop_map(
            |(p, t, m, long, tp_pct, sl_pct)| Op::SetTriggers { p, t, m, long, tp_pct, sl_pct }
        ),
        2 => (p.clone(), lp.clone(), b::DEPOSIT)
            .prop_map(|(p, lp, amount)| Op::RequestDeposit { p, lp, amount }),
        1 => (p.clone(), lp.clone(), b::PART_PCT)
            .prop_map(|(p, lp, share_pct)| Op::RequestWithdrawal { p, lp, share_pct }),
        2 => (p.clone(), lp.clone()).prop_map(|(p, lp)| Op::ExecuteRequest { p, lp }),
        1 => (p.clone(), lp).prop_map(|(p, lp)| Op::CancelRequest { p, lp }),
        4 => (p.clone(), m.clone(), b::PRICE_BPS).prop_map(|(p, m, bps)| Op::Price { p, m, bps }),
        1 => (p.clone(), m.clone(), b::CONFIDENCE_BPS)
            .prop_map(|(p, m, bps)| Op::Confidence { p, m, bps }),
        1 => (p.clone(), m.clone()).prop_map(|(p, m)| Op::StaleOracle { p, m }),
        2 => b::TIME_SHORT.prop_map(|seconds| Op::Time { seconds }),
        1 => b::TIME_LONG.prop_map(|seconds| Op::Time { seconds }),
        3 => (p.clone(), t.clone(), m.clone(), any::<bool>())
            .prop_map(|(p, t, m, long)| Op::Keeper { p, t, m, long }),
        1 => (p.clone(), m.clone()).prop_map(|(p, m)| Op::Refresh { p, m }),
        1 => (p.clone(), proptest::option::of(m.clone()), pause_flags())
            .prop_map(|(p, m, flags)| Op::Pause { p, m, flags }),
        1 => p.clone().prop_map(|p| Op::CollectFees { p }),
        1 => (p.clone(), b::MAX_UTILIZATION_BPS, b::REQUEST_DELAY, b::DEPOSIT_FEE_BPS).prop_map(
            |(p, max_utilization_bps, delay, deposit_fee_bps)| Op::PoolParams { p, max_utilization_bps, delay, deposit_fee_bps }
        ),
        1 => (p.clone(), m.clone(), b::PROFIT_FACTOR_BPS, b::MIN_HOLD, b::FUNDING_RATE_BPS).prop_map(
            |(p, m, profit_factor_bps, min_hold, funding_rate_bps)| Op::MarketParams { p, m, profit_factor_bps, min_hold, funding_rate_bps }
        ),
        2 => (b::LOOK_ALIKE, p, t, m).prop_map(|(kind, p, t, m)| Op::LookAlike { kind, p, t, m }),
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
        Op::CollectFees { .. } => vec![E::NoFeesToCollect],
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

/// The key seed of every world: one seed, so every run of one sequence makes the same
/// accounts at the same addresses (a failing fuzz input or proptest seed reproduces exactly).
pub const KEY_SEED: u64 = 13;

/// One trading pool of the model, with every actor's accounts for its settlement mint.
struct PoolWorld {
    fx: PoolFixture,
    lps: Vec<Lp>,
    /// Each trader's token account of this pool's mint.
    traders: Vec<Pubkey>,
    /// The keeper's and the fee recipient's token accounts.
    keeper: Pubkey,
    fees: Pubkey,
    prices: [f64; MARKETS],
}

struct World {
    f: Fixture,
    pools: Vec<PoolWorld>,
    traders: Vec<Keypair>,
    lp_users: Vec<Keypair>,
    keeper: Keypair,
    ledger: Ledger,
    outcomes: BTreeMap<String, u64>,
    /// FNV-1a over every event of every transaction that went through: equal for two runs
    /// only when they did exactly the same (addresses and amounts included).
    trace: u64,
    /// SPEC 7 checks run (one per pool after every op that went through).
    invariant_checks: u64,
}

fn side(long: bool) -> Side {
    if long {
        Side::Long
    } else {
        Side::Short
    }
}

/// What the program's events say each actor got and paid, per pool (one settlement mint
/// each), and what those amounts are made of.
#[derive(Default)]
struct Ledger {
    /// `(wallet, pool)` (the token account for protocol fees) → settlement tokens into (+) or out of (−) the wallet's token account:
    /// collateral paid in, payouts, collateral removed, keeper fees, LP deposits and
    /// withdrawals and their refunds, protocol fees collected.
    flow: BTreeMap<(Pubkey, Pubkey), i128>,
    /// `(trader, pool)` → Σ realized PnL − open, close and borrow fees (as collected) −
    /// funding paid (+ received) − keeper fees + bad debt (the loss the LPs absorbed).
    explained: BTreeMap<(Pubkey, Pubkey), i128>,
    /// `(keeper, pool)` → Σ keeper fees the close events name.
    keeper_fees: BTreeMap<(Pubkey, Pubkey), i128>,
    /// `(lp, pool)` → LP shares minted (+) or burnt (−) to/from the LP.
    shares: BTreeMap<(Pubkey, Pubkey), i128>,
    /// `(lp, pool)` → the share state its pending request was made at.
    requested: BTreeMap<(Pubkey, Pubkey), ShareState>,
    /// The first inconsistency found in an event.
    error: Option<String>,
    /// How often the rarer terms of the identities came up (`"events: …"` in the stats).
    seen: BTreeMap<String, u64>,
}

impl Ledger {
    fn add(map: &mut BTreeMap<(Pubkey, Pubkey), i128>, who: Pubkey, pool: Pubkey, v: i128) {
        *map.entry((who, pool)).or_default() += v;
    }

    /// A close of (part of) `owner`'s position: `payout` paid to the owner, `keeper_fee` to
    /// `keeper`; the rest is what the owner's result is made of.
    #[allow(clippy::too_many_arguments)]
    fn close(
        &mut self,
        pool: Pubkey,
        owner: Pubkey,
        payout: u64,
        pnl: i64,
        close_fee: u64,
        borrow_fee: u64,
        fees_unpaid: u64,
        funding: i64,
        keeper: Option<(Pubkey, u64)>,
        bad_debt: u64,
    ) {
        let keeper_fee = keeper.map_or(0, |(_, fee)| fee);
        for (hit, what) in [
            (bad_debt > 0, "close with bad debt"),
            (fees_unpaid > 0, "close with fees unpaid"),
            (funding < 0, "close receiving funding"),
            (keeper_fee > 0, "close paying a keeper"),
        ] {
            if hit {
                *self.seen.entry(format!("events: {what}")).or_default() += 1;
            }
        }
        Self::add(&mut self.flow, owner, pool, payout as i128);
        Self::add(
            &mut self.explained,
            owner,
            pool,
            pnl as i128 - close_fee as i128 - borrow_fee as i128 + fees_unpaid as i128
                - funding as i128
                - keeper_fee as i128
                + bad_debt as i128,
        );
        if let Some((k, fee)) = keeper {
            Self::add(&mut self.flow, k, pool, fee as i128);
            Self::add(&mut self.keeper_fees, k, pool, fee as i128);
        }
    }

    /// Book every event of one transaction. `fee_bps(pool)` gives a pool's LP fees (deposit,
    /// withdrawal) as they stood when the transaction ran.
    fn record(&mut self, inner: &[Vec<u8>], fee_bps: impl Fn(&Pubkey) -> (u16, u16)) {
        use tidepool::events::*;
        for e in decode_events::<PositionIncreased>(inner) {
            Self::add(&mut self.flow, e.owner, e.pool, -(e.collateral_in as i128));
            Self::add(
                &mut self.explained,
                e.owner,
                e.pool,
                -(e.open_fee as i128) - e.borrow_fee_settled as i128 - e.funding_settled as i128,
            );
        }
        for e in decode_events::<CollateralChanged>(inner) {
            Self::add(&mut self.flow, e.owner, e.pool, -(e.delta as i128));
            Self::add(
                &mut self.explained,
                e.owner,
                e.pool,
                -(e.borrow_fee_settled as i128) - e.funding_settled as i128,
            );
        }
        for e in decode_events::<PositionDecreased>(inner) {
            self.close(
                e.pool,
                e.owner,
                e.payout,
                e.pnl,
                e.close_fee,
                e.borrow_fee,
                e.fees_unpaid,
                e.funding,
                None,
                e.bad_debt,
            );
        }
        // The three keeper closes carry the same amounts; a partial liquidation's
        // `owner_payout` stays in the position as collateral (paid out later).
        macro_rules! keeper_closes {
            ($($event:ty => $payout:ident),*) => {$(
                for e in decode_events::<$event>(inner) {
                    self.close(
                        e.pool,
                        e.owner,
                        e.$payout,
                        e.pnl,
                        e.close_fee,
                        e.borrow_fee,
                        e.fees_unpaid,
                        e.funding,
                        Some((e.keeper, e.keeper_fee)),
                        e.bad_debt,
                    );
                }
            )*};
        }
        keeper_closes!(
            PositionLiquidated => owner_payout,
            TriggerOrderExecuted => payout,
            PositionDeleveraged => payout
        );
        for e in decode_events::<LiquidityRequested>(inner) {
            match e.kind {
                LiquidityRequestKind::Deposit => {
                    Self::add(&mut self.flow, e.owner, e.pool, -(e.amount as i128))
                }
                LiquidityRequestKind::Withdrawal => {
                    Self::add(&mut self.shares, e.owner, e.pool, -(e.amount as i128))
                }
            }
            let state = ShareState {
                pool_value: e.pool_value,
                share_supply: e.share_supply,
            };
            self.requested.insert((e.owner, e.pool), state);
        }
        for e in decode_events::<LiquidityRequestCancelled>(inner) {
            match e.kind {
                LiquidityRequestKind::Deposit => {
                    Self::add(&mut self.flow, e.owner, e.pool, e.amount as i128)
                }
                LiquidityRequestKind::Withdrawal => {
                    Self::add(&mut self.shares, e.owner, e.pool, e.amount as i128)
                }
            }
            self.requested.remove(&(e.owner, e.pool));
        }
        for e in decode_events::<LiquidityDeposited>(inner) {
            Self::add(&mut self.shares, e.owner, e.pool, e.shares_out as i128);
            // The shares are the request's amount less the fee at the worse of the two share
            // prices: recomputed from the event's own figures.
            let requested = self.requested.remove(&(e.owner, e.pool));
            let executed = ShareState {
                pool_value: e.pool_value,
                share_supply: e.share_supply - e.shares_out - e.shares_locked,
            };
            let quote = requested
                .and_then(|r| quote_deposit_request(e.amount, fee_bps(&e.pool).0, r, executed).ok())
                .map(|q| (q.fee, q.shares_out, q.shares_locked));
            let got = (e.fee, e.shares_out, e.shares_locked);
            if quote != Some(got) {
                self.fail(format!(
                    "deposit of {} by {}: (fee, shares, locked) {got:?}, its prices give {quote:?}",
                    e.amount, e.owner
                ));
            }
        }
        for e in decode_events::<LiquidityWithdrawn>(inner) {
            Self::add(&mut self.flow, e.owner, e.pool, e.amount_out as i128);
            let requested = self.requested.remove(&(e.owner, e.pool));
            let executed = ShareState {
                pool_value: e.pool_value,
                share_supply: e.share_supply + e.shares,
            };
            let quote = requested
                .and_then(|r| {
                    quote_withdraw_request(e.shares, fee_bps(&e.pool).1, r, executed).ok()
                })
                .map(|q| (q.fee, q.amount_out));
            let got = (e.fee, e.amount_out);
            if quote != Some(got) {
                self.fail(format!(
                    "withdrawal of {} shares by {}: (fee, out) {got:?}, its prices give {quote:?}",
                    e.shares, e.owner
                ));
            }
        }
        for e in decode_events::<ProtocolFeesCollected>(inner) {
            Self::add(&mut self.flow, e.recipient, e.pool, e.amount as i128);
        }
    }

    fn fail(&mut self, e: String) {
        self.error.get_or_insert(e);
    }

    fn get(map: &BTreeMap<(Pubkey, Pubkey), i128>, who: Pubkey, pool: Pubkey) -> i128 {
        map.get(&(who, pool)).copied().unwrap_or(0)
    }
}

/// Balances of every actor's accounts, per pool: `(trader token accounts, keeper, fee
/// recipient, per LP (tokens, LP shares))`.
type Balances = Vec<(Vec<u64>, u64, u64, Vec<(u64, u64)>)>;

impl World {
    async fn new() -> Self {
        let env = TestEnv::start_seeded(KEY_SEED).await;
        let mut setup = PoolSetup::default();
        setup.markets.push(MarketSetup::new("BTC-PERP", 60_000));
        let mut f = Fixture::with_env(env, setup).await;
        // The world checks both pools itself (see `send_as`).
        f.check_every_step = false;
        let admin = f.admin.insecure_clone();
        let second = PoolSetup {
            id: 1,
            markets: vec![
                MarketSetup::new("ETH-PERP", 3_000),
                MarketSetup::new("SOL-PERP", 150),
            ],
            ..PoolSetup::default()
        };
        let fx1 = create_pool(&mut f.env, &admin, &second).await;
        let mut lp_users = Vec::new();
        for _ in 0..LPS {
            lp_users.push(f.env.new_user().await);
        }
        let mut traders = Vec::new();
        for _ in 0..TRADERS {
            traders.push(f.env.new_user().await);
        }
        let keeper = f.env.new_user().await;
        let recipient = f.fee_recipient.pubkey();
        let mut pools = Vec::new();
        for (fx, prices) in [(f.pool.clone(), [150.0, 60_000.0]), (fx1, [3_000.0, 150.0])] {
            let env = &mut f.env;
            let mut lps = Vec::new();
            for u in &lp_users {
                let token = env.create_token_account(&fx.mint, &u.pubkey()).await;
                env.mint_to(&fx.mint, &token, 2_000_000 * USDC).await;
                let lp_token = env.create_token_account(&fx.lp_mint, &u.pubkey()).await;
                lps.push(Lp {
                    user: u.insecure_clone(),
                    token,
                    lp_token,
                });
            }
            let mut tokens = Vec::new();
            for t in &traders {
                let token = env.create_token_account(&fx.mint, &t.pubkey()).await;
                env.mint_to(&fx.mint, &token, 100_000 * USDC).await;
                tokens.push(token);
            }
            let keeper_token = env.create_token_account(&fx.mint, &keeper.pubkey()).await;
            let fees = env.create_token_account(&fx.mint, &recipient).await;
            pools.push(PoolWorld {
                fx,
                lps,
                traders: tokens,
                keeper: keeper_token,
                fees,
                prices,
            });
        }
        let mut w = Self {
            f,
            pools,
            traders,
            lp_users,
            keeper,
            ledger: Ledger::default(),
            outcomes: BTreeMap::new(),
            trace: 0xcbf2_9ce4_8422_2325,
            invariant_checks: 0,
        };
        // Each pool's first LP seeds it.
        for p in 0..POOLS {
            w.step(&Op::RequestDeposit {
                p,
                lp: 0,
                amount: 1_000_000,
            })
            .await
            .expect("seed request");
            w.wait_request_delay(p).await;
            let seeded = w.step(&Op::ExecuteRequest { p, lp: 0 }).await;
            assert_eq!(seeded, Ok(None), "seed deposit");
        }
        w
    }

    fn market_keys(&self, p: usize, m: usize) -> MarketKeys {
        let fx = &self.pools[p].fx;
        MarketKeys {
            pool: fx.key,
            market: fx.markets[m].key,
            price_update: fx.markets[m].oracle,
            settlement_price_update: fx.settlement_oracle,
        }
    }

    fn keeper_keys(&self, p: usize, t: usize, m: usize, long: bool) -> KeeperCloseKeys {
        let mk = self.market_keys(p, m);
        let owner = self.traders[t].pubkey();
        KeeperCloseKeys {
            keeper: self.keeper.pubkey(),
            market: mk,
            position: mk.position(&owner, side(long)),
            owner,
            owner_token_account: self.pools[p].traders[t],
            keeper_token_account: self.pools[p].keeper,
        }
    }

    fn request_key(&self, p: usize, lp: usize) -> Pubkey {
        pda::lp_request(&self.pools[p].fx.key, &self.lp_users[lp].pubkey()).0
    }

    async fn pool_state(&mut self, p: usize) -> tidepool::state::Pool {
        let key = self.pools[p].fx.key;
        self.f.env.account(&key).await
    }

    async fn market_state(&mut self, p: usize, m: usize) -> tidepool::state::Market {
        let key = self.pools[p].fx.markets[m].key;
        self.f.env.account(&key).await
    }

    async fn wait_request_delay(&mut self, p: usize) {
        let delay = self.pool_state(p).await.params.lp_request_delay_seconds;
        self.f.env.advance_time(delay as i64).await;
    }

    async fn set_price(&mut self, p: usize, m: usize, spot: f64, ema: f64, conf_bps: u64) {
        let now = self.f.env.now().await;
        let oracle = self.pools[p].fx.markets[m].oracle;
        let e8 = |x: f64| (x * 1e8) as i64;
        self.f.env.update_price(&oracle, |s| {
            s.price = e8(spot);
            s.ema_price = e8(ema);
            s.conf = (e8(spot) as u64) * conf_bps / 10_000;
            s.publish_time = now;
        });
    }

    async fn send_as(&mut self, ixn: solana_sdk::instruction::Instruction, who: Who) -> TxResult {
        let k = match who {
            Who::Trader(t) => Some(self.traders[t].insecure_clone()),
            Who::Lp(i) => Some(self.lp_users[i].insecure_clone()),
            Who::Keeper => Some(self.keeper.insecure_clone()),
            Who::Admin => Some(self.f.admin.insecure_clone()),
            Who::FeeRecipient => Some(self.f.fee_recipient.insecure_clone()),
            Who::Anyone => None,
        };
        let signers: Vec<&Keypair> = k.iter().collect();
        let res = self.f.env.send(&[ixn], &signers).await;
        if res.is_ok() {
            let mut fees = BTreeMap::new();
            for p in 0..POOLS {
                let params = self.pool_state(p).await.params;
                fees.insert(
                    self.pools[p].fx.key,
                    (params.deposit_fee_bps, params.withdraw_fee_bps),
                );
            }
            let inner = std::mem::take(&mut self.f.env.last_inner);
            self.ledger.record(&inner, |pool| fees[pool]);
            for byte in inner.iter().flatten() {
                self.trace = (self.trace ^ *byte as u64).wrapping_mul(0x100_0000_01b3);
            }
            self.f.env.last_inner = inner;
            for p in 0..POOLS {
                let fx = self.pools[p].fx.clone();
                check_invariants(&mut self.f.env, &fx).await;
                self.invariant_checks += 1;
            }
        }
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
    async fn resolve(
        &mut self,
        p: usize,
        t: usize,
        m: usize,
        long: bool,
    ) -> (usize, usize, usize, bool) {
        let mut open = Vec::new();
        for pp in 0..POOLS {
            for tt in 0..TRADERS {
                for mm in 0..MARKETS {
                    for ll in [true, false] {
                        let key = self.keeper_keys(pp, tt, mm, ll).position;
                        if self.f.env.raw_account(&key).await.is_some() {
                            open.push((pp, tt, mm, ll));
                        }
                    }
                }
            }
        }
        let pick = p * 11 + t * 7 + m * 3 + long as usize;
        if open.contains(&(p, t, m, long)) || open.is_empty() || pick.is_multiple_of(4) {
            return (p, t, m, long);
        }
        open[pick % open.len()]
    }

    /// Likewise for LP requests.
    async fn resolve_lp(&mut self, p: usize, lp: usize) -> (usize, usize) {
        let mut pending = Vec::new();
        for pp in 0..POOLS {
            for i in 0..LPS {
                let key = self.request_key(pp, i);
                if self.f.env.raw_account(&key).await.is_some() {
                    pending.push((pp, i));
                }
            }
        }
        if pending.contains(&(p, lp)) || pending.is_empty() || lp == 0 {
            return (p, lp);
        }
        pending[(p * 3 + lp) % pending.len()]
    }

    /// Run one op; `Ok(None)` when it went through, `Ok(Some(code))` for an allowed refusal.
    async fn step(&mut self, op: &Op) -> Result<Option<u32>, String> {
        let out = self.step_inner(op).await;
        match self.ledger.error.take() {
            Some(e) => Err(format!("{op:?}: {e}")),
            None => out,
        }
    }

    async fn step_inner(&mut self, op: &Op) -> Result<Option<u32>, String> {
        let op = &match op.clone() {
            Op::Decrease {
                p,
                t,
                m,
                long,
                part,
            } => {
                let (p, t, m, long) = self.resolve(p, t, m, long).await;
                Op::Decrease {
                    p,
                    t,
                    m,
                    long,
                    part,
                }
            }
            Op::AddCollateral {
                p,
                t,
                m,
                long,
                amount,
            } => {
                let (p, t, m, long) = self.resolve(p, t, m, long).await;
                Op::AddCollateral {
                    p,
                    t,
                    m,
                    long,
                    amount,
                }
            }
            Op::RemoveCollateral {
                p,
                t,
                m,
                long,
                amount,
            } => {
                let (p, t, m, long) = self.resolve(p, t, m, long).await;
                Op::RemoveCollateral {
                    p,
                    t,
                    m,
                    long,
                    amount,
                }
            }
            Op::SetTriggers {
                p,
                t,
                m,
                long,
                tp_pct,
                sl_pct,
            } => {
                let (p, t, m, long) = self.resolve(p, t, m, long).await;
                Op::SetTriggers {
                    p,
                    t,
                    m,
                    long,
                    tp_pct,
                    sl_pct,
                }
            }
            Op::Keeper { p, t, m, long } => {
                let (p, t, m, long) = self.resolve(p, t, m, long).await;
                Op::Keeper { p, t, m, long }
            }
            Op::ExecuteRequest { p, lp } => {
                let (p, lp) = self.resolve_lp(p, lp).await;
                Op::ExecuteRequest { p, lp }
            }
            Op::CancelRequest { p, lp } => {
                let (p, lp) = self.resolve_lp(p, lp).await;
                Op::CancelRequest { p, lp }
            }
            other => other,
        };
        let res = match *op {
            Op::Open {
                p,
                t,
                m,
                long,
                size,
                collateral,
            } => {
                let (owner, token) = (self.traders[t].pubkey(), self.pools[p].traders[t]);
                let any = if long { u64::MAX } else { 0 };
                let mk = self.market_keys(p, m);
                let ixn = ix::open_position(
                    &owner,
                    &mk,
                    &token,
                    side(long),
                    size * USDC,
                    collateral * USDC,
                    any,
                );
                // Known to the invariant checker before the step it checks (a position that
                // does not exist is skipped).
                let key = mk.position(&owner, side(long));
                self.f.env.positions.insert(key);
                self.send_as(ixn, Who::Trader(t)).await
            }
            Op::Decrease {
                p,
                t,
                m,
                long,
                part,
            } => {
                let (owner, token) = (self.traders[t].pubkey(), self.pools[p].traders[t]);
                let mk = self.market_keys(p, m);
                let size = match self
                    .f
                    .env
                    .raw_account(&mk.position(&owner, side(long)))
                    .await
                {
                    Some(a) if a.owner == tidepool::ID => {
                        let pos: Position =
                            anchor_lang::AccountDeserialize::try_deserialize(&mut &a.data[..])
                                .map_err(|e| e.to_string())?;
                        if part >= 100 {
                            u64::MAX
                        } else {
                            (pos.entry_notional_usd as u128 * part as u128 / 100) as u64
                        }
                    }
                    _ => USDC,
                };
                let any = if long { 0 } else { u64::MAX };
                let ixn = ix::decrease_position(&owner, &mk, side(long), &token, size, any, 0);
                self.send_as(ixn, Who::Trader(t)).await
            }
            Op::AddCollateral {
                p,
                t,
                m,
                long,
                amount,
            } => {
                let (owner, token) = (self.traders[t].pubkey(), self.pools[p].traders[t]);
                let ixn = ix::add_collateral(
                    &owner,
                    &self.market_keys(p, m),
                    side(long),
                    &token,
                    amount * USDC,
                );
                self.send_as(ixn, Who::Trader(t)).await
            }
            Op::RemoveCollateral {
                p,
                t,
                m,
                long,
                amount,
            } => {
                let (owner, token) = (self.traders[t].pubkey(), self.pools[p].traders[t]);
                let ixn = ix::remove_collateral(
                    &owner,
                    &self.market_keys(p, m),
                    side(long),
                    &token,
                    amount * USDC,
                );
                self.send_as(ixn, Who::Trader(t)).await
            }
            Op::SetTriggers {
                p,
                t,
                m,
                long,
                tp_pct,
                sl_pct,
            } => {
                let owner = self.traders[t].pubkey();
                let px = self.pools[p].prices[m];
                let at = |pct: u64, up: bool| -> u64 {
                    if pct == 0 {
                        return 0;
                    }
                    let f = if up {
                        1.0 + pct as f64 / 100.0
                    } else {
                        1.0 - pct as f64 / 100.0
                    };
                    (px * f * 1e9) as u64
                };
                let (tp, sl) = (at(tp_pct, long), at(sl_pct, !long));
                let market = self.pools[p].fx.markets[m].key;
                let ixn = ix::set_trigger_orders(&owner, &market, side(long), tp, sl);
                self.send_as(ixn, Who::Trader(t)).await
            }
            Op::RequestDeposit { p, lp, amount } => {
                let l = &self.pools[p].lps[lp];
                let ixn = ix::deposit_liquidity(
                    &l.user.pubkey(),
                    &self.pools[p].fx.keys(),
                    &l.token,
                    &l.lp_token,
                    amount * USDC,
                    0,
                );
                let key = self.request_key(p, lp);
                self.f.env.lp_requests.insert(key);
                self.send_as(ixn, Who::Lp(lp)).await
            }
            Op::RequestWithdrawal { p, lp, share_pct } => {
                let l = &self.pools[p].lps[lp];
                let (owner, lp_token, token) = (l.user.pubkey(), l.lp_token, l.token);
                let held = self.f.env.token_balance(&lp_token).await;
                let shares = (held as u128 * share_pct as u128 / 100) as u64;
                let ixn = ix::withdraw_liquidity(
                    &owner,
                    &self.pools[p].fx.keys(),
                    &lp_token,
                    &token,
                    shares,
                    0,
                );
                let key = self.request_key(p, lp);
                self.f.env.lp_requests.insert(key);
                self.send_as(ixn, Who::Lp(lp)).await
            }
            Op::ExecuteRequest { p, lp } => {
                let owner = self.lp_users[lp].pubkey();
                let key = self.request_key(p, lp);
                let receiver = match self.pending_request(&key).await? {
                    Some(r) => r.receiver,
                    None => self.pools[p].lps[lp].lp_token,
                };
                let ixn = ix::execute_liquidity_request(
                    &self.keeper.pubkey(),
                    &self.pools[p].fx.keys(),
                    &owner,
                    &receiver,
                );
                self.send_as(ixn, Who::Keeper).await
            }
            Op::CancelRequest { p, lp } => {
                let owner = self.lp_users[lp].pubkey();
                let key = self.request_key(p, lp);
                let refund = match self.pending_request(&key).await?.map(|r| r.kind) {
                    Some(LiquidityRequestKind::Withdrawal) => self.pools[p].lps[lp].lp_token,
                    _ => self.pools[p].lps[lp].token,
                };
                let ixn = ix::cancel_liquidity_request(&owner, &self.pools[p].fx.key, &refund);
                self.send_as(ixn, Who::Lp(lp)).await
            }
            Op::Price { p, m, bps } => {
                let old = self.pools[p].prices[m];
                let new = old * (1.0 + bps as f64 / 10_000.0);
                self.pools[p].prices[m] = new;
                self.set_price(p, m, new, (old + new) / 2.0, 5).await;
                return Ok(None);
            }
            Op::Confidence { p, m, bps } => {
                let px = self.pools[p].prices[m];
                self.set_price(p, m, px, px, bps).await;
                return Ok(None);
            }
            Op::StaleOracle { p, m } => {
                let now = self.f.env.now().await;
                let oracle = self.pools[p].fx.markets[m].oracle;
                self.f
                    .env
                    .update_price(&oracle, |s| s.publish_time = now - 120);
                return Ok(None);
            }
            Op::Time { seconds } => {
                self.f.env.advance_time(seconds).await;
                return Ok(None);
            }
            Op::Keeper { p, t, m, long } => {
                let k = self.keeper_keys(p, t, m, long);
                let Some(acc) = self.f.env.raw_account(&k.position).await else {
                    return Ok(Some(u32::from(AnchorError::AccountNotInitialized)));
                };
                let position: Position =
                    anchor_lang::AccountDeserialize::try_deserialize(&mut &acc.data[..])
                        .map_err(|e| e.to_string())?;
                let pool = self.pool_state(p).await;
                let market = self.market_state(p, m).await;
                let fx = &self.pools[p].fx;
                let (oracle, settle) = (fx.markets[m].oracle, fx.settlement_oracle);
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
            Op::Refresh { p, m } => {
                let mut positions = Vec::new();
                for t in 0..TRADERS {
                    for long in [true, false] {
                        let key = self.keeper_keys(p, t, m, long).position;
                        if self.f.env.raw_account(&key).await.is_some() {
                            positions.push(key);
                        }
                    }
                }
                let fx = &self.pools[p].fx;
                let mk = &fx.markets[m];
                let ixn = ix::refresh_market_retag(&fx.key, &mk.key, &mk.oracle, &positions);
                self.send_as(ixn, Who::Anyone).await
            }
            Op::Pause { p, m, flags } => {
                let pool = self.pools[p].fx.key;
                let market = m.map(|m| self.pools[p].fx.markets[m].key);
                let ixn = ix::set_pause_flags(
                    &self.f.admin.pubkey(),
                    Some(&pool),
                    market.as_ref(),
                    flags,
                );
                self.send_as(ixn, Who::Admin).await
            }
            Op::PoolParams {
                p,
                max_utilization_bps,
                delay,
                deposit_fee_bps,
            } => {
                let mut params = self.pool_state(p).await.params;
                params.max_utilization_bps = max_utilization_bps;
                params.lp_request_delay_seconds = delay;
                params.deposit_fee_bps = deposit_fee_bps;
                let ixn =
                    ix::update_pool_params(&self.f.admin.pubkey(), &self.pools[p].fx.key, params);
                self.send_as(ixn, Who::Admin).await
            }
            Op::MarketParams {
                p,
                m,
                profit_factor_bps,
                min_hold,
                funding_rate_bps,
            } => {
                let mut params = self.market_state(p, m).await.params;
                params.max_profit_factor_bps = profit_factor_bps;
                params.min_hold_seconds = min_hold;
                params.funding_rate_bps = funding_rate_bps;
                let fx = &self.pools[p].fx;
                let (pool, market) = (fx.key, fx.markets[m].key);
                let ixn = ix::update_market_params(&self.f.admin.pubkey(), &pool, &market, params);
                self.send_as(ixn, Who::Admin).await
            }
            Op::LookAlike { kind, p, t, m } => {
                // The other trading pool is the look-alike's source.
                let q = (p + 1) % POOLS;
                let (owner, token) = (self.traders[t].pubkey(), self.pools[p].traders[t]);
                let mut mk = self.market_keys(p, m);
                let ixn = match kind {
                    // Another pool's market (same index).
                    0 => {
                        mk.market = self.pools[q].fx.markets[m].key;
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
                        mk.price_update = self.pools[p].fx.markets[(m + 1) % MARKETS].oracle;
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
                        let l = &self.pools[p].lps[t % LPS];
                        let mut keys = self.pools[p].fx.keys();
                        keys.markets = self.pools[q].fx.keys().markets;
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
                        let (p, t, m, long) = self.resolve(p, t, m, t % 2 == 0).await;
                        let mut k = self.keeper_keys(p, t, m, long);
                        k.keeper_token_account = self.pools[(p + 1) % POOLS].fx.vault;
                        ix::liquidate(&k)
                    }
                    // A keeper paying the owner's part into someone else's account (an owner
                    // may send its own close anywhere it signs for; a keeper may not).
                    _ => {
                        let (p, t, m, long) = self.resolve(p, t, m, t % 2 == 0).await;
                        let mut k = self.keeper_keys(p, t, m, long);
                        k.owner_token_account = self.pools[p].traders[(t + 1) % TRADERS];
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
            Op::CollectFees { p } => {
                let recipient = self.f.fee_recipient.pubkey();
                let ixn = ix::collect_protocol_fees(
                    &recipient,
                    &self.pools[p].fx.key,
                    &self.pools[p].fees,
                );
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
                    _ => Err(format!(
                        "{op:?} failed unexpectedly: {e:?}{}",
                        math_failure_note(&res)
                    )),
                }
            }
        }
    }

    /// Close everything in pool `p` and check what is left.
    async fn wind_down(&mut self, p: usize) -> Result<(), String> {
        let (admin, pool_key) = (self.f.admin.pubkey(), self.pools[p].fx.key);
        for m in 0..MARKETS {
            let px = self.pools[p].prices[m];
            self.set_price(p, m, px, px, 0).await;
            let market = self.pools[p].fx.markets[m].key;
            let ixn = ix::set_pause_flags(&admin, Some(&pool_key), Some(&market), 0);
            self.send_as(ixn, Who::Admin)
                .await
                .map_err(|e| e.to_string())?;
        }
        let ixn = ix::set_pause_flags(&admin, Some(&pool_key), None, 0);
        self.send_as(ixn, Who::Admin)
            .await
            .map_err(|e| e.to_string())?;
        self.f.env.advance_time(120).await;
        for t in 0..TRADERS {
            for m in 0..MARKETS {
                for long in [true, false] {
                    let key = self.keeper_keys(p, t, m, long).position;
                    if self.f.env.raw_account(&key).await.is_none() {
                        continue;
                    }
                    let closed = self
                        .step(&Op::Decrease {
                            p,
                            t,
                            m,
                            long,
                            part: 100,
                        })
                        .await?;
                    if closed.is_some() {
                        let ixn = ix::liquidate(&self.keeper_keys(p, t, m, long));
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
            let key = self.request_key(p, lp);
            if self.f.env.raw_account(&key).await.is_some() {
                if let Some(c) = self.step(&Op::CancelRequest { p, lp }).await? {
                    return Err(format!("cancel refused: {c}"));
                }
            }
        }
        for lp in 0..LPS {
            let lp_token = self.pools[p].lps[lp].lp_token;
            if self.f.env.token_balance(&lp_token).await == 0 {
                continue;
            }
            if let Some(c) = self
                .step(&Op::RequestWithdrawal {
                    p,
                    lp,
                    share_pct: 100,
                })
                .await?
            {
                return Err(format!("final withdrawal request refused: {c}"));
            }
        }
        self.wait_request_delay(p).await;
        for lp in 0..LPS {
            let key = self.request_key(p, lp);
            if self.f.env.raw_account(&key).await.is_some() {
                if let Some(c) = self.step(&Op::ExecuteRequest { p, lp }).await? {
                    return Err(format!("final withdrawal refused: {c}"));
                }
            }
        }
        self.step(&Op::CollectFees { p }).await?;
        let pool = self.pool_state(p).await;
        let fx = self.pools[p].fx.clone();
        let vault = self.f.env.token_balance(&fx.vault).await;
        let supply = self.f.env.mint_supply(&fx.lp_mint).await;
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
                return Err(format!("pool {p}: {what} left after the wind-down: {v}"));
            }
        }
        // What is left belongs to the locked shares alone.
        if vault != pool.lp_balance {
            return Err(format!(
                "pool {p}: vault {vault} != LP balance {}",
                pool.lp_balance
            ));
        }
        Ok(())
    }

    /// Every token of each pool's settlement mint that exists, wherever it is.
    async fn tokens(&mut self) -> Vec<u128> {
        let mut out = Vec::new();
        for p in 0..POOLS {
            let pw = &self.pools[p];
            let accounts: Vec<Pubkey> = pw
                .lps
                .iter()
                .map(|l| l.token)
                .chain(pw.traders.iter().copied())
                .chain([pw.keeper, pw.fees, pw.fx.vault])
                .collect();
            let mut total = 0u128;
            for a in accounts {
                total += self.f.env.token_balance(&a).await as u128;
            }
            out.push(total);
        }
        out
    }

    async fn balances(&mut self) -> Balances {
        let mut out = Vec::new();
        for p in 0..POOLS {
            let pw = &self.pools[p];
            let traders = pw.traders.clone();
            let (keeper, fees) = (pw.keeper, pw.fees);
            let lps: Vec<(Pubkey, Pubkey)> = pw.lps.iter().map(|l| (l.token, l.lp_token)).collect();
            let mut t = Vec::new();
            for a in traders {
                t.push(self.f.env.token_balance(&a).await);
            }
            let mut l = Vec::new();
            for (a, s) in lps {
                l.push((
                    self.f.env.token_balance(&a).await,
                    self.f.env.token_balance(&s).await,
                ));
            }
            let k = self.f.env.token_balance(&keeper).await;
            let fe = self.f.env.token_balance(&fees).await;
            out.push((t, k, fe, l));
        }
        out
    }

    /// Every actor's result since `before`, against what the events say (see [`run`]).
    fn explain(&self, before: &Balances, after: &Balances) -> Result<(), String> {
        let l = &self.ledger;
        let change = |a: u64, b: u64| b as i128 - a as i128;
        for p in 0..POOLS {
            let pool = self.pools[p].fx.key;
            let ((t0, k0, f0, l0), (t1, k1, f1, l1)) = (&before[p], &after[p]);
            for t in 0..TRADERS {
                let who = self.traders[t].pubkey();
                let got = change(t0[t], t1[t]);
                let flow = Ledger::get(&l.flow, who, pool);
                let explained = Ledger::get(&l.explained, who, pool);
                if got != flow || flow != explained {
                    return Err(format!(
                        "pool {p} trader {t}: balance changed by {got}, events move {flow}, \
                         PnL − fees − funding + bad debt = {explained}"
                    ));
                }
            }
            let who = self.keeper.pubkey();
            let (got, flow) = (change(*k0, *k1), Ledger::get(&l.flow, who, pool));
            let fees = Ledger::get(&l.keeper_fees, who, pool);
            if got != flow || flow != fees {
                return Err(format!(
                    "pool {p} keeper: balance changed by {got}, events move {flow}, Σ keeper fees {fees}"
                ));
            }
            // The event names the receiving token account.
            let who = self.pools[p].fees;
            let (got, flow) = (change(*f0, *f1), Ledger::get(&l.flow, who, pool));
            if got != flow {
                return Err(format!(
                    "pool {p} fee recipient: balance changed by {got}, Σ protocol fees collected {flow}"
                ));
            }
            for lp in 0..LPS {
                let who = self.lp_users[lp].pubkey();
                let (got, flow) = (change(l0[lp].0, l1[lp].0), Ledger::get(&l.flow, who, pool));
                let (held, shares) = (
                    change(l0[lp].1, l1[lp].1),
                    Ledger::get(&l.shares, who, pool),
                );
                if got != flow || held != shares {
                    return Err(format!(
                        "pool {p} LP {lp}: tokens changed by {got} (events: {flow}), shares by \
                         {held} (events: {shares})"
                    ));
                }
            }
        }
        Ok(())
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
    /// SPEC 7 invariant checks done (every pool, after every op that went through).
    pub invariant_checks: u64,
    /// `"Op: outcome"` (`ok` or the error's name) → count.
    pub outcomes: BTreeMap<String, u64>,
}

impl Stats {
    pub fn merge(&mut self, other: Stats) {
        self.sequences += other.sequences;
        self.ops += other.ops;
        self.invariant_checks += other.invariant_checks;
        for (k, v) in other.outcomes {
            *self.outcomes.entry(k).or_default() += v;
        }
    }

    /// A headline with the ops per second over `secs` and, with `outcomes`, the count of
    /// every op's outcome, one line each. Written to stderr directly, past the test harness's capture, so a run shows them
    /// without `--nocapture` (which would also show the program's own log lines, printed
    /// to stdout when it runs natively).
    pub fn print(&self, label: &str, secs: f64, outcomes: bool) {
        use std::io::Write;
        let mut out = format!(
            "sequences: {}, ops: {} ({:.0} ops/s, {label}), invariant checks: {}\n",
            self.sequences,
            self.ops,
            self.ops as f64 / secs,
            self.invariant_checks
        );
        for (k, v) in self.outcomes.iter().filter(|_| outcomes) {
            out.push_str(&format!("  {k:<48} {v}\n"));
        }
        let _ = std::io::stderr().write_all(out.as_bytes());
    }
}

/// Run one sequence on a fresh world (every key derived from [`KEY_SEED`]), then the
/// wind-down of both pools and the accounts:
///
/// - no token of either mint created or lost;
/// - every trader's balance change = Σ payouts and collateral removed − Σ collateral paid
///   in, as the events report them, = Σ realized PnL − open, close and borrow fees
///   (collected) − funding paid (+ received) − keeper fees + bad debt absorbed by the LPs;
/// - the keeper's = Σ keeper fees of the closes it made;
/// - the fee recipient's = Σ protocol fees collected;
/// - every LP's = Σ withdrawals paid − Σ deposits + refunds, its LP shares' = Σ minted −
///   Σ burnt + refunded, and every execution's shares (or tokens) follow from the request's
///   amount, the pool's fee and the share prices its event reports.
///
/// `Err` names the first op that failed unexpectedly or what the wind-down found; a broken
/// SPEC 7 invariant panics (as everywhere in the harness).
pub fn run(ops: &[Op]) -> Result<Stats, String> {
    run_traced(ops).map(|(stats, _)| stats)
}

/// [`run`], and a digest of every event the run emitted: two runs of one sequence give the
/// same digest (every key derives from [`KEY_SEED`]).
pub fn run_traced(ops: &[Op]) -> Result<(Stats, u64), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let mut w = World::new().await;
        w.ledger = Ledger::default();
        let before = w.tokens().await;
        let balances = w.balances().await;
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
        for p in 0..POOLS {
            w.wind_down(p).await?;
        }
        let seen = std::mem::take(&mut w.ledger.seen);
        for (k, v) in seen {
            *w.outcomes.entry(k).or_default() += v;
        }
        let after = w.tokens().await;
        if after != before {
            return Err(format!(
                "tokens not conserved: {before:?} before, {after:?} after"
            ));
        }
        let end = w.balances().await;
        w.explain(&balances, &end)?;
        let stats = Stats {
            sequences: 1,
            ops: ops.len() as u64,
            invariant_checks: w.invariant_checks,
            outcomes: std::mem::take(&mut w.outcomes),
        };
        Ok((stats, w.trace))
    })
}
