//! The keeper's decisions against the embedded runtime: it acts on exactly the positions
//! that need it, a lost race is not an error, and a dry run sends nothing.
#![allow(deprecated)]

use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::Signer;
use tidepool::error::TidepoolError;
use tidepool::math::PRICE_PRECISION;
use tidepool::state::Side::{Long, Short};
use tidepool_client::keeper::Action;
use tidepool_harness::*;
use tidepool_keeper::{Keeper, Sent, Work};

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
    let cfg = keeper_config(&f);
    let mut k = Keeper::new(InProcess::new(&mut f, keeper), cfg);
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
    let report = pass(&mut f).await;
    assert!(report.actions.is_empty(), "{:?}", report.log);
}

#[tokio::test]
async fn a_lost_race_is_not_an_error() {
    let mut f = fixture().await;
    book(&mut f).await;
    f.set_market_price(0, 13_750_000_000).await;
    // Keeper B looks at the chain before keeper A acts, and acts on that stale view.
    let stale = ChainView::of(&f);
    let a_key = f.env.new_user().await;
    let cfg = keeper_config(&f);
    let a = Keeper::new(InProcess::new(&mut f, a_key), cfg.clone())
        .pass()
        .await
        .unwrap();
    assert_eq!(a.sent, 2);
    let b_key = f.env.new_user().await;
    let b = Keeper::new(InProcess::frozen(&mut f, b_key, stale), cfg)
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

/// A keeper with latency plans at one price and sends later (the simulator's keeper): the
/// plan sends nothing, and sent after the price has recovered it meets a healthy position,
/// a lost race that moves nothing.
#[tokio::test]
async fn a_plan_sent_after_the_price_recovers_is_a_lost_race() {
    let mut f = fixture().await;
    let traders = book(&mut f).await;
    let entry = f.env.prices[&f.pool.markets[0].oracle].price;
    f.set_market_price(0, 13_750_000_000).await;
    let keeper = f.env.new_user().await;
    let cfg = keeper_config(&f);
    let plan = Keeper::new(InProcess::new(&mut f, keeper.insecure_clone()), cfg.clone())
        .plan()
        .await
        .unwrap();
    let liquidations: Vec<_> = plan
        .transactions
        .iter()
        .filter(|p| {
            matches!(
                p.work,
                Work::Position {
                    action: Action::Liquidate,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(liquidations.len(), 2, "{:?}", plan.report.log);
    for (t, side) in &traders {
        assert!(
            f.position(t, *side).await.is_some(),
            "planning sent nothing"
        );
    }

    f.set_market_price(0, entry).await;
    let mut keys: Vec<Pubkey> = liquidations.iter().map(|p| p.key).collect();
    keys.extend(traders.iter().map(|(t, _)| t.token));
    keys.extend([f.pool.vault, keeper.pubkey()]);
    let before = f.env.snapshot(&keys).await;
    let mut report = plan.report.clone();
    let mut k = Keeper::new(InProcess::new(&mut f, keeper), cfg);
    for planned in liquidations {
        assert_eq!(
            k.send(planned, &mut report).await,
            Sent::LostRace(TidepoolError::PositionHealthy.into())
        );
    }
    drop(k);
    assert_eq!((report.sent, report.lost_races), (0, 2));
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    before.assert_unchanged(&mut f.env).await;
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
    let mut cfg = keeper_config(&f);
    cfg.dry_run = true;
    let report = Keeper::new(InProcess::new(&mut f, keeper), cfg.clone())
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
    let report = Keeper::new(InProcess::new(&mut f, keeper), cfg)
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
    let cfg = keeper_config(&f);
    let report = Keeper::new(InProcess::new(&mut f, keeper.insecure_clone()), cfg.clone())
        .pass()
        .await
        .unwrap();
    assert_eq!((report.lp_requests, report.sent), (1, 0), "too early");
    assert_eq!(f.env.token_balance(&lp.lp_token).await, 0);

    f.wait_request_delay().await;
    let before = f.env.raw_account(&keeper_key).await.unwrap().lamports;
    let report = Keeper::new(InProcess::new(&mut f, keeper), cfg)
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
        let report = pass(&mut f).await;
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
    let cfg = keeper_config(f);
    let keeper = f.env.new_user().await;
    Keeper::new(InProcess::new(f, keeper), cfg)
        .pass()
        .await
        .unwrap()
}
