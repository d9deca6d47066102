//! The keeper's decisions against the embedded runtime: it acts on exactly the positions
//! that need it, a lost race is not an error, and a dry run sends nothing.
#![allow(deprecated)]

use std::collections::HashMap;

use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::{Keypair, Signer};
use tidepool::math::PRICE_PRECISION;
use tidepool::state::Side::{Long, Short};
use tidepool_client::keeper::Action;
use tidepool_harness::*;
use tidepool_keeper::{Cluster, Keeper, KeeperConfig, SendError};

/// The harness runtime as a cluster. With `frozen`, reads come from a snapshot taken
/// earlier (a keeper acting on a stale view) while sends go to the live runtime.
struct InProcess<'a> {
    f: &'a mut Fixture,
    keeper: Keypair,
    frozen: Option<HashMap<Pubkey, Option<Vec<u8>>>>,
}

impl InProcess<'_> {
    fn keys(&self) -> Vec<Pubkey> {
        let mut keys = vec![self.f.pool.key, self.f.pool.settlement_oracle];
        for m in &self.f.pool.markets {
            keys.push(m.key);
            keys.push(m.oracle);
        }
        keys.extend(self.f.env.positions.iter().copied());
        keys.extend(self.f.env.lp_requests.iter().copied());
        keys
    }

    async fn snapshot(&mut self) -> HashMap<Pubkey, Option<Vec<u8>>> {
        let mut out = HashMap::new();
        for k in self.keys() {
            let data = self.live(&k).await;
            out.insert(k, data);
        }
        out
    }

    async fn live(&mut self, key: &Pubkey) -> Option<Vec<u8>> {
        self.f
            .env
            .raw_account(key)
            .await
            .filter(|a| a.lamports > 0)
            .map(|a| a.data)
    }
}

impl Cluster for InProcess<'_> {
    async fn program_accounts(
        &mut self,
        discriminator: &[u8],
    ) -> Result<Vec<(Pubkey, Vec<u8>)>, String> {
        let mut out = Vec::new();
        for k in self.keys() {
            if let Some(data) = self.account_data(&k).await? {
                if data.starts_with(discriminator) {
                    out.push((k, data));
                }
            }
        }
        Ok(out)
    }

    async fn account_data(&mut self, key: &Pubkey) -> Result<Option<Vec<u8>>, String> {
        if let Some(frozen) = &self.frozen {
            return Ok(frozen.get(key).cloned().flatten());
        }
        Ok(self.live(key).await)
    }

    async fn unix_time(&mut self) -> Result<i64, String> {
        Ok(self.f.env.now().await)
    }

    async fn send(&mut self, instructions: &[Instruction]) -> Result<(), SendError> {
        let keeper = self.keeper.insecure_clone();
        let signs = instructions.iter().any(|ix| {
            ix.accounts
                .iter()
                .any(|a| a.is_signer && a.pubkey == keeper.pubkey())
        });
        let signers: Vec<&Keypair> = if signs { vec![&keeper] } else { vec![] };
        let res = self.f.env.send(instructions, &signers).await;
        match res {
            Ok(()) => Ok(()),
            Err(ref e) => match custom_error_code(&res) {
                Some(code) => Err(SendError::Program(code)),
                None => Err(SendError::Other(e.to_string())),
            },
        }
    }

    fn keeper(&self) -> Pubkey {
        self.keeper.pubkey()
    }
}

fn config(f: &Fixture) -> KeeperConfig {
    let mut price_accounts = HashMap::new();
    price_accounts.insert(f.pool.settlement_feed, f.pool.settlement_oracle);
    for m in &f.pool.markets {
        price_accounts.insert(m.feed, m.oracle);
    }
    KeeperConfig {
        price_accounts,
        compute_unit_limit: 400_000,
        ..KeeperConfig::default()
    }
}

async fn book(f: &mut Fixture) -> Vec<(Trader, tidepool::state::Side)> {
    let mut out = Vec::new();
    for (side, size, collateral) in [
        (Long, 1_000, 500),  // 2x
        (Long, 2_500, 500),  // 5x
        (Long, 1_500, 150),  // 10x
        (Long, 2_100, 150),  // 14x
        (Short, 1_500, 150), // 10x short
    ] {
        let t = f.new_trader(1_000 * USDC).await;
        f.open(&t, side, size * USDC, collateral * USDC)
            .await
            .unwrap();
        out.push((t, side));
    }
    out
}

async fn fixture() -> Fixture {
    let mut f = Fixture::new().await;
    f.zero_confidence();
    f.seed_liquidity(1_000_000 * USDC).await;
    f
}

#[tokio::test]
async fn liquidates_exactly_the_unhealthy_positions() {
    let mut f = fixture().await;
    let traders = book(&mut f).await;
    f.set_market_price(0, 13_750_000_000).await; // −8.3 %
    let mut expected = Vec::new();
    for (t, side) in &traders {
        if f.health(t, *side).await.is_liquidatable() {
            expected.push(f.position_key(t, *side));
        }
    }
    assert_eq!(expected.len(), 2, "the 10x and 15x longs");
    let untouched: Vec<_> = {
        let mut v = Vec::new();
        for (t, side) in &traders {
            let key = f.position_key(t, *side);
            if !expected.contains(&key) {
                v.push(key);
            }
        }
        v
    };
    let before = f.env.snapshot(&untouched).await;

    let keeper = f.env.new_user().await;
    let cfg = config(&f);
    let mut k = Keeper::new(
        InProcess {
            f: &mut f,
            keeper,
            frozen: None,
        },
        cfg,
    );
    let report = k.pass().await.unwrap();
    assert_eq!(report.positions, 5);
    assert_eq!(report.evaluated, 5);
    let mut acted: Vec<Pubkey> = report.actions.iter().map(|(k, _)| *k).collect();
    acted.sort();
    expected.sort();
    assert_eq!(acted, expected);
    assert!(report.actions.iter().all(|(_, a)| *a == Action::Liquidate));
    assert_eq!(
        (report.sent, report.lost_races),
        (2, 0),
        "{:?}",
        report.failures
    );
    assert!(report.failures.is_empty());
    drop(k);
    before.assert_unchanged(&mut f.env).await;
    f.check_invariants().await;
    // Nothing is left to do.
    let keeper = f.env.new_user().await;
    let cfg = config(&f);
    let report = Keeper::new(
        InProcess {
            f: &mut f,
            keeper,
            frozen: None,
        },
        cfg,
    )
    .pass()
    .await
    .unwrap();
    assert!(report.actions.is_empty(), "{:?}", report.log);
}

#[tokio::test]
async fn a_lost_race_is_not_an_error() {
    let mut f = fixture().await;
    book(&mut f).await;
    f.set_market_price(0, 13_750_000_000).await;
    // Keeper B looks at the chain before keeper A acts, and acts on that stale view.
    let b_key = f.env.new_user().await;
    let mut b = InProcess {
        f: &mut f,
        keeper: b_key,
        frozen: None,
    };
    let stale = b.snapshot().await;
    drop(b);
    let a_key = f.env.new_user().await;
    let cfg = config(&f);
    let a = Keeper::new(
        InProcess {
            f: &mut f,
            keeper: a_key,
            frozen: None,
        },
        cfg.clone(),
    )
    .pass()
    .await
    .unwrap();
    assert_eq!(a.sent, 2);
    let b_key = f.env.new_user().await;
    let b = Keeper::new(
        InProcess {
            f: &mut f,
            keeper: b_key,
            frozen: Some(stale),
        },
        cfg,
    )
    .pass()
    .await
    .unwrap();
    assert_eq!(b.actions.len(), 2, "B decided on the stale view");
    assert_eq!(
        (b.sent, b.lost_races),
        (0, 2),
        "{:?} {:?}",
        b.log,
        b.failures
    );
    assert!(b.failures.is_empty());
    f.check_invariants().await;
}

#[tokio::test]
async fn a_dry_run_sends_nothing_and_triggers_are_found() {
    let mut f = fixture().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 300 * USDC).await.unwrap();
    f.set_triggers(&t, Long, 0, 149 * PRICE_PRECISION)
        .await
        .unwrap();
    f.set_market_price(0, 14_800_000_000).await;
    let keeper = f.env.new_user().await;
    let mut cfg = config(&f);
    cfg.dry_run = true;
    let report = Keeper::new(
        InProcess {
            f: &mut f,
            keeper,
            frozen: None,
        },
        cfg.clone(),
    )
    .pass()
    .await
    .unwrap();
    assert_eq!(report.actions.len(), 1, "{:?}", report.log);
    assert_eq!(
        report.actions[0].1,
        Action::ExecuteTrigger { take_profit: false }
    );
    assert_eq!(report.sent, 0);
    assert!(f.position(&t, Long).await.is_some(), "nothing was sent");
    cfg.dry_run = false;
    let keeper = f.env.new_user().await;
    let report = Keeper::new(
        InProcess {
            f: &mut f,
            keeper,
            frozen: None,
        },
        cfg,
    )
    .pass()
    .await
    .unwrap();
    assert_eq!(report.sent, 1, "{:?} {:?}", report.log, report.failures);
    assert!(f.position(&t, Long).await.is_none(), "stopped out");
    f.check_invariants().await;
}

/// LP requests: the keeper waits until every price is published after the request's delay,
/// then executes it and is paid the request's keeper fee.
#[tokio::test]
async fn executes_lp_requests_once_their_delay_has_passed() {
    let mut f = fixture().await;
    let lp = f.new_lp(1_000 * USDC).await;
    f.request_deposit(&lp, 1_000 * USDC, 0).await.unwrap();
    let fee = f.pool_state().await.params.lp_request_keeper_fee_lamports;
    let keeper = f.env.new_user().await;
    let keeper_key = keeper.pubkey();
    let cfg = config(&f);
    let report = Keeper::new(
        InProcess {
            f: &mut f,
            keeper: keeper.insecure_clone(),
            frozen: None,
        },
        cfg.clone(),
    )
    .pass()
    .await
    .unwrap();
    assert_eq!((report.lp_requests, report.sent), (1, 0), "too early");
    assert_eq!(f.env.token_balance(&lp.lp_token).await, 0);

    f.wait_request_delay().await;
    let before = f.env.raw_account(&keeper_key).await.unwrap().lamports;
    let report = Keeper::new(
        InProcess {
            f: &mut f,
            keeper,
            frozen: None,
        },
        cfg,
    )
    .pass()
    .await
    .unwrap();
    assert_eq!(
        (report.lp_requests, report.sent),
        (1, 1),
        "{:?}",
        report.failures
    );
    assert!(f.env.token_balance(&lp.lp_token).await > 0);
    // The fee payer of the harness pays the signature; the keeper gets the fee.
    assert_eq!(
        f.env.raw_account(&keeper_key).await.unwrap().lamports,
        before + fee
    );
    f.check_invariants().await;
}

/// A highly leveraged long that has closed leaves its bankruptcy price in its side's bound;
/// the keeper re-tags the other positions until the bound is the one they need.
#[tokio::test]
async fn retires_stale_price_bounds() {
    let mut f = fixture().await;
    let old = f.new_trader(1_000 * USDC).await;
    f.open(&old, Long, 1_000 * USDC, 500 * USDC).await.unwrap();
    let mid = f.new_trader(1_000 * USDC).await;
    f.open(&mid, Long, 1_500 * USDC, 500 * USDC).await.unwrap();
    let gone = f.new_trader(1_000 * USDC).await;
    f.open(&gone, Long, 1_400 * USDC, 100 * USDC).await.unwrap();
    f.decrease(&gone, Long, 1_400 * USDC).await.unwrap();
    let exact = |m: &tidepool::state::Market, ps: &[tidepool::state::Position]| {
        ps.iter()
            .fold(tidepool::state::BoundPrices::default(), |b, p| {
                b.combine(p.bound_prices(6).unwrap(), true)
            })
            == m.long.bounds.bound(true)
    };
    let open = [
        f.position(&old, Long).await.unwrap(),
        f.position(&mid, Long).await.unwrap(),
    ];
    assert!(
        !exact(&f.market_state(0).await, &open),
        "the closed 15x long's bound lingers"
    );
    for _ in 0..2 {
        let keeper = f.env.new_user().await;
        let cfg = config(&f);
        let report = Keeper::new(
            InProcess {
                f: &mut f,
                keeper,
                frozen: None,
            },
            cfg,
        )
        .pass()
        .await
        .unwrap();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
    }
    let open = [
        f.position(&old, Long).await.unwrap(),
        f.position(&mid, Long).await.unwrap(),
    ];
    assert!(exact(&f.market_state(0).await, &open), "retired");
    f.check_invariants().await;
}

/// Traders' profit over the pool's PnL cap: the keeper reduces the most profitable
/// position (as the program decides), and the pool is back under its cap.
#[tokio::test]
async fn deleverages_the_most_profitable_when_the_pool_cap_binds() {
    let mut setup = PoolSetup::default();
    setup.params.max_pnl_factor_bps = 100; // 1 % of the pool value
                                           // Margin is not under test: the jumps below would otherwise lift the maintenance
                                           // margin of these 4x longs past their equity (a jump is volatility).
    setup.markets[0].params.volatility_multiplier_bps = 0;
    let mut f = Fixture::with(setup).await;
    f.zero_confidence();
    f.seed_liquidity(200_000 * USDC).await;
    let early = f.new_trader(100_000 * USDC).await;
    f.open(&early, Long, 20_000 * USDC, 5_000 * USDC)
        .await
        .unwrap();
    f.set_market_price(0, usd_e8(164)).await;
    let late = f.new_trader(100_000 * USDC).await;
    f.open(&late, Long, 20_000 * USDC, 5_000 * USDC)
        .await
        .unwrap();
    f.env.advance_time(120).await;
    f.set_market_price(0, usd_e8(175)).await;
    let early_key = f.position_key(&early, Long);
    let late_before = f.position(&late, Long).await.unwrap();
    let before = f.position(&early, Long).await.unwrap();

    let report = pass(&mut f).await;
    assert_eq!(
        report.actions,
        vec![(early_key, Action::DeleverageOverPnlCap)],
        "{:?}",
        report.log
    );
    assert_eq!(
        (report.sent, report.failures.len()),
        (1, 0),
        "{:?}",
        report.failures
    );
    let after = f.position(&early, Long).await;
    assert!(after.map_or(0, |p| p.entry_notional_usd) < before.entry_notional_usd);
    // The program sizes a reduction at spot and checks the cap against the traders' lowest
    // plausible profit, so a small excess can remain: later passes take it, from the same
    // position, until nothing is left to do.
    let mut passes = 1;
    loop {
        let report = pass(&mut f).await;
        if report.actions.is_empty() {
            break;
        }
        assert_eq!(
            report.actions,
            vec![(early_key, Action::DeleverageOverPnlCap)]
        );
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        passes += 1;
        assert!(passes <= 4, "deleveraging converges");
    }
    // The less profitable position keeps its size (the keeper may re-tag its price bounds).
    let late_after = f.position(&late, Long).await.unwrap();
    assert_eq!(
        (late_after.size_base, late_after.collateral),
        (late_before.size_base, late_before.collateral)
    );
    f.check_invariants().await;
}

/// One keeper pass with a fresh funded keeper.
async fn pass(f: &mut Fixture) -> tidepool_keeper::PassReport {
    let cfg = config(f);
    let keeper = f.env.new_user().await;
    Keeper::new(
        InProcess {
            f,
            keeper,
            frozen: None,
        },
        cfg,
    )
    .pass()
    .await
    .unwrap()
}
