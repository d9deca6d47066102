//! Keepers: liquidation, trigger orders, deleveraging; and protocol fee collection.

use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::Signer;
use tidepool::constants::pause;
use tidepool::error::TidepoolError;
use tidepool::events::{BadDebtAbsorbed, PositionLiquidated, TriggerOrderExecuted};
use tidepool::math::valuation::notional_usd;
use tidepool::math::{Rounding, PRICE_PRECISION};
use tidepool::state::Side::{Long, Short};
use tidepool_client::ix;
use tidepool_harness::*;

async fn exact() -> Fixture {
    let mut f = Fixture::new().await;
    f.zero_confidence();
    f.seed_liquidity(1_000_000 * USDC).await;
    f
}

async fn price(f: &mut Fixture, dollars_e8: i64) {
    f.set_market_price(0, dollars_e8).await;
    let oracle = f.pool.markets[0].oracle;
    f.env.update_price(&oracle, |p| p.conf = 0);
}

/// 10x long of 1500 USD.
async fn ten_x_long(f: &mut Fixture) -> Trader {
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 150 * USDC).await.unwrap();
    t
}

/// SPEC 8: the liquidation boundary at exactly the maintenance margin and one unit either
/// side. Three identical positions are topped up to equity = mm − 1, mm and mm + 1.
#[tokio::test]
async fn liquidation_boundary_is_exact() {
    let mut f = exact().await;
    let keeper = f.new_keeper().await;
    let below = ten_x_long(&mut f).await;
    let at = ten_x_long(&mut f).await;
    let above = ten_x_long(&mut f).await;
    price(&mut f, usd_e8(138)).await;
    for (t, offset) in [(&below, -1i64), (&at, 0), (&above, 1)] {
        let h = f.health(t, Long).await;
        assert!(h.is_liquidatable(), "the drop put it under maintenance");
        let top_up = h.maintenance_margin_required as i64 - h.equity + offset;
        f.add_collateral(t, Long, top_up as u64).await.unwrap();
        let h = f.health(t, Long).await;
        assert_eq!(h.equity - h.maintenance_margin_required as i64, offset);
    }
    for t in [&at, &above] {
        let snap = f
            .snapshot(&[t.token, keeper.token, f.position_key(t, Long)])
            .await;
        assert_error(
            f.liquidate(&keeper, t, Long).await,
            TidepoolError::PositionHealthy,
        );
        snap.assert_unchanged(&mut f.env).await;
    }
    f.liquidate(&keeper, &below, Long).await.unwrap();
    assert!(
        f.env.token_balance(&keeper.token).await > 0,
        "the keeper was paid"
    );
    f.check_invariants().await;
}

#[tokio::test]
async fn a_healthy_position_cannot_be_liquidated() {
    let mut f = exact().await;
    let keeper = f.new_keeper().await;
    let t = ten_x_long(&mut f).await;
    let snap = f
        .snapshot(&[t.token, keeper.token, f.position_key(&t, Long)])
        .await;
    assert_error(
        f.liquidate(&keeper, &t, Long).await,
        TidepoolError::PositionHealthy,
    );
    price(&mut f, usd_e8(160)).await;
    assert_error(
        f.liquidate(&keeper, &t, Long).await,
        TidepoolError::PositionHealthy,
    );
    snap.assert_unchanged(&mut f.env).await;
}

/// Partial first (back to initial margin, the keeper paid, nothing to the owner), then full
/// (the owner gets what is left and the account's rent).
#[tokio::test]
async fn partial_then_full_liquidation() {
    let mut f = exact().await;
    let keeper = f.new_keeper().await;
    let t = ten_x_long(&mut f).await;
    price(&mut f, usd_e8(138)).await;
    let h = f.health(&t, Long).await;
    assert!(h.is_liquidatable());
    let before = f.position(&t, Long).await.unwrap();
    let owner_tokens = f.env.token_balance(&t.token).await;
    let vault_before = f.env.token_balance(&f.pool.vault).await;

    f.liquidate(&keeper, &t, Long).await.unwrap();
    let after = f.position(&t, Long).await.expect("partially liquidated");
    assert!(after.entry_notional_usd < before.entry_notional_usd);
    assert!(after.entry_notional_usd >= 10 * USDC);
    let closed_usd = before.entry_notional_usd - after.entry_notional_usd;
    let closed_base = before.size_base - after.size_base;
    let fee = f.env.token_balance(&keeper.token).await;
    let expected_fee =
        (notional_usd(closed_base, 138 * PRICE_PRECISION, Rounding::Up).unwrap() as u128 * 50)
            .div_ceil(10_000) as u64;
    assert_eq!(fee, expected_fee, "50 bps of the closed notional at spot");
    assert_eq!(
        f.env.token_balance(&t.token).await,
        owner_tokens,
        "nothing paid to the owner"
    );
    assert_eq!(f.env.token_balance(&f.pool.vault).await, vault_before - fee);
    let h = f.health(&t, Long).await;
    assert!(
        h.equity >= h.initial_margin_required as i64,
        "back at initial margin: {h:?}"
    );
    assert!(closed_usd < before.entry_notional_usd);

    // Deeper: now it goes in full.
    price(&mut f, usd_e8(125)).await;
    let key = f.position_key(&t, Long);
    let rent = f.env.raw_account(&key).await.unwrap().lamports;
    let lamports = f.env.raw_account(&t.user.pubkey()).await.unwrap().lamports;
    let ixn = ix::liquidate(&f.keeper_keys(&keeper, &t, Long));
    let inner = f.env.simulate_inner_data(&[ixn], &[&keeper.user]).await;
    let e = decode_events::<PositionLiquidated>(&inner).remove(0);
    f.liquidate(&keeper, &t, Long).await.unwrap();
    assert!(e.closed);
    assert!(f.position(&t, Long).await.is_none());
    assert_eq!(
        f.env.token_balance(&t.token).await,
        owner_tokens + e.owner_payout
    );
    assert_eq!(f.env.token_balance(&keeper.token).await, fee + e.keeper_fee);
    assert_eq!(
        f.env.raw_account(&t.user.pubkey()).await.unwrap().lamports,
        lamports + rent
    );
    f.check_invariants().await;
}

/// A gap through the bankruptcy price: the loss beyond the collateral is bad debt, absorbed
/// by the pool, recorded and emitted; the keeper and the owner get nothing.
#[tokio::test]
async fn bad_debt_is_absorbed_recorded_and_emitted() {
    let mut f = exact().await;
    let keeper = f.new_keeper().await;
    let t = ten_x_long(&mut f).await;
    price(&mut f, usd_e8(120)).await;
    let ixn = ix::liquidate(&f.keeper_keys(&keeper, &t, Long));
    let inner = f.env.simulate_inner_data(&[ixn], &[&keeper.user]).await;
    let bad = decode_events::<BadDebtAbsorbed>(&inner);
    let liq = decode_events::<PositionLiquidated>(&inner);
    assert_eq!(bad.len(), 1);
    let owner_tokens = f.env.token_balance(&t.token).await;
    let lp_before = f.pool_state().await.lp_balance;
    let p = f.position(&t, Long).await.unwrap();
    f.liquidate(&keeper, &t, Long).await.unwrap();
    let pool = f.pool_state().await;
    assert_eq!(pool.bad_debt, bad[0].amount);
    assert_eq!(bad[0].total_bad_debt, bad[0].amount);
    // The loss (~20 % of 1500 = ~300) less the 148.5 collateral.
    assert!(
        bad[0].amount > 140 * USDC && bad[0].amount < 160 * USDC,
        "{}",
        bad[0].amount
    );
    assert_eq!((liq[0].keeper_fee, liq[0].owner_payout), (0, 0));
    assert_eq!(f.env.token_balance(&keeper.token).await, 0);
    assert_eq!(f.env.token_balance(&t.token).await, owner_tokens);
    // The LPs keep the whole collateral; the rest of the loss was never theirs to collect.
    assert_eq!(pool.lp_balance, lp_before + p.collateral);
    f.check_invariants().await;
}

#[tokio::test]
async fn liquidation_works_while_everything_is_paused() {
    let mut f = exact().await;
    let admin = f.admin.insecure_clone();
    let keeper = f.new_keeper().await;
    let t = ten_x_long(&mut f).await;
    let (pool, market) = (f.pool.key, f.pool.markets[0].key);
    for (p, m) in [
        (None, None),
        (Some(&pool), None),
        (Some(&pool), Some(&market)),
    ] {
        f.env
            .send(
                &[ix::set_pause_flags(&admin.pubkey(), p, m, pause::ALL)],
                &[&admin],
            )
            .await
            .unwrap();
    }
    price(&mut f, usd_e8(138)).await;
    f.liquidate(&keeper, &t, Long).await.unwrap();
    assert!(f.env.token_balance(&keeper.token).await > 0);
    f.check_invariants().await;
}

#[tokio::test]
async fn liquidation_refuses_look_alike_accounts() {
    let mut f = exact().await;
    let keeper = f.new_keeper().await;
    let t = ten_x_long(&mut f).await;
    let mallory = f.new_trader(0).await;
    price(&mut f, usd_e8(130)).await;
    let snap = f
        .snapshot(&[
            t.token,
            keeper.token,
            mallory.token,
            f.position_key(&t, Long),
        ])
        .await;
    // The owner's remainder to someone else's account.
    let mut k = f.keeper_keys(&keeper, &t, Long);
    k.owner_token_account = mallory.token;
    assert_error(
        f.env.send(&[ix::liquidate(&k)], &[&keeper.user]).await,
        TidepoolError::InvalidTokenOwner,
    );
    // The rent to someone else.
    let mut k = f.keeper_keys(&keeper, &t, Long);
    k.owner = mallory.user.pubkey();
    assert_error(
        f.env.send(&[ix::liquidate(&k)], &[&keeper.user]).await,
        TidepoolError::InvalidPosition,
    );
    // A position that does not exist.
    let mut k = f.keeper_keys(&keeper, &t, Long);
    k.position = Pubkey::new_unique();
    assert_error(
        f.env.send(&[ix::liquidate(&k)], &[&keeper.user]).await,
        anchor_lang::error::ErrorCode::AccountNotInitialized,
    );
    snap.assert_unchanged(&mut f.env).await;
}

/// Margin moves with volatility: after a violent hour the same trade needs more margin.
#[tokio::test]
async fn margin_rises_with_volatility_and_utilization() {
    let mut f = exact().await;
    let calm = f
        .quote_open(Long, 10_000 * USDC, 1_000 * USDC)
        .await
        .unwrap();
    assert_eq!(
        calm.health.maintenance_margin_bps,
        default_market_params().base_maintenance_margin_bps as u64
    );
    // Volatility: a 10 % swing down and back.
    let m = f.pool.markets[0].clone();
    for px in [135, 150] {
        f.env.advance_time(3_600).await;
        price(&mut f, usd_e8(px)).await;
        f.env
            .send(&[ix::refresh_market(&f.pool.key, &m.key, &m.oracle)], &[])
            .await
            .unwrap();
    }
    let wild = f
        .quote_open(Long, 10_000 * USDC, 1_000 * USDC)
        .await
        .unwrap();
    assert!(
        wild.health.initial_margin_bps > calm.health.initial_margin_bps + 50,
        "{} vs {}",
        wild.health.initial_margin_bps,
        calm.health.initial_margin_bps
    );
    assert!(wild.health.maintenance_margin_bps > calm.health.maintenance_margin_bps);
    assert!(wild.max_leverage_bps < calm.max_leverage_bps);
    // Utilization: a big open raises the initial margin of the next one.
    let whale = f.new_trader(1_000_000 * USDC).await;
    f.open(&whale, Short, 500_000 * USDC, 450_000 * USDC)
        .await
        .unwrap();
    let busy = f
        .quote_open(Long, 10_000 * USDC, 1_000 * USDC)
        .await
        .unwrap();
    assert!(busy.health.initial_margin_bps > wild.health.initial_margin_bps);
    assert_eq!(
        busy.health.maintenance_margin_bps,
        wild.health.maintenance_margin_bps
    );
}

#[tokio::test]
async fn trigger_orders_execute_only_once_crossed() {
    let mut f = exact().await;
    let keeper = f.new_keeper().await;
    let long = f.new_trader(1_000 * USDC).await;
    let short = f.new_trader(1_000 * USDC).await;
    f.open(&long, Long, 1_500 * USDC, 300 * USDC).await.unwrap();
    f.open(&short, Short, 1_500 * USDC, 300 * USDC)
        .await
        .unwrap();
    // Wrong order of the two prices.
    assert_error(
        f.set_triggers(&long, Long, 140 * PRICE_PRECISION, 145 * PRICE_PRECISION)
            .await,
        TidepoolError::InvalidTriggerPrices,
    );
    assert_error(
        f.set_triggers(&short, Short, 160 * PRICE_PRECISION, 155 * PRICE_PRECISION)
            .await,
        TidepoolError::InvalidTriggerPrices,
    );
    f.set_triggers(&long, Long, 160 * PRICE_PRECISION, 140 * PRICE_PRECISION)
        .await
        .unwrap();
    f.set_triggers(&short, Short, 140 * PRICE_PRECISION, 155 * PRICE_PRECISION)
        .await
        .unwrap();
    let p = f.position(&long, Long).await.unwrap();
    assert_eq!(
        (p.take_profit_price, p.stop_loss_price),
        (160 * PRICE_PRECISION, 140 * PRICE_PRECISION)
    );

    f.env.advance_time(120).await;
    price(&mut f, 15_499_999_999).await; // just under the short's stop
    for (t, side) in [(&long, Long), (&short, Short)] {
        let snap = f
            .snapshot(&[t.token, keeper.token, f.position_key(t, side)])
            .await;
        assert_error(
            f.execute_trigger(&keeper, t, side).await,
            TidepoolError::TriggerNotReached,
        );
        snap.assert_unchanged(&mut f.env).await;
    }
    // The short's stop-loss at exactly 155.
    price(&mut f, usd_e8(155)).await;
    let before = f.env.token_balance(&short.token).await;
    f.execute_trigger(&keeper, &short, Short).await.unwrap();
    assert!(f.position(&short, Short).await.is_none());
    assert_eq!(
        f.env.token_balance(&keeper.token).await,
        USDC,
        "the flat 1 USD keeper fee"
    );
    assert!(f.env.token_balance(&short.token).await > before);
    assert_error(
        f.execute_trigger(&keeper, &long, Long).await,
        TidepoolError::TriggerNotReached,
    );
    // The long's take-profit at 160: crossed once the close fill (spot − spread) reaches it,
    // and only after the minimum hold (inside it, the close would realize no profit).
    f.env.advance_time(61).await;
    price(&mut f, usd_e8(160)).await;
    assert_error(
        f.execute_trigger(&keeper, &long, Long).await,
        TidepoolError::TriggerNotReached,
    );
    price(&mut f, usd_e8(161)).await;
    let before = f.env.token_balance(&long.token).await;
    f.execute_trigger(&keeper, &long, Long).await.unwrap();
    let gained = f.env.token_balance(&long.token).await - before;
    assert!(gained > 300 * USDC, "profit realized: {gained}");
    f.check_invariants().await;
}

/// A stop-loss gapped through: the close leaves bad debt. The trigger's event says so, with
/// every fee, and a `BadDebtAbsorbed` follows as after any other close (it used to be
/// missing: the pool's bad debt grew with no event naming it, and the trigger event listed
/// neither the fees nor the bad debt, so the owner's result could not be explained).
#[tokio::test]
async fn gapped_stop_loss_reports_its_bad_debt_and_fees() {
    let mut f = exact().await;
    let keeper = f.new_keeper().await;
    let t = ten_x_long(&mut f).await;
    f.set_triggers(&t, Long, 0, 140 * PRICE_PRECISION)
        .await
        .unwrap();
    f.env.advance_time(3_600).await;
    price(&mut f, usd_e8(120)).await;
    let p = f.position(&t, Long).await.unwrap();
    let ixn = ix::execute_trigger_order(&f.keeper_keys(&keeper, &t, Long));
    let inner = f.env.simulate_inner_data(&[ixn], &[&keeper.user]).await;
    let owner_tokens = f.env.token_balance(&t.token).await;
    f.execute_trigger(&keeper, &t, Long).await.unwrap();
    let e = decode_events::<TriggerOrderExecuted>(&inner).remove(0);
    let bad = decode_events::<BadDebtAbsorbed>(&inner);
    let pool = f.pool_state().await;
    assert!(e.bad_debt > 0, "pnl {} bad debt {}", e.pnl, e.bad_debt);
    assert_eq!(bad.len(), 1, "bad debt emitted");
    assert_eq!(
        (bad[0].amount, bad[0].total_bad_debt),
        (e.bad_debt, pool.bad_debt)
    );
    assert_eq!((e.payout, e.keeper_fee), (0, 0));
    assert_eq!(f.env.token_balance(&t.token).await, owner_tokens);
    assert!(e.borrow_fee > 0 && e.close_fee > 0);
    assert_eq!(
        e.fees_unpaid,
        e.borrow_fee + e.close_fee,
        "nothing left to pay them"
    );
    // The owner's result on its collateral, from the event alone.
    let result = e.pnl as i128 - e.funding as i128 - (e.close_fee + e.borrow_fee) as i128
        + e.fees_unpaid as i128
        - e.keeper_fee as i128
        + e.bad_debt as i128;
    assert_eq!(result, e.payout as i128 - p.collateral as i128);
    f.check_invariants().await;
}

#[tokio::test]
async fn paused_trigger_orders_wait() {
    let mut f = exact().await;
    let admin = f.admin.insecure_clone();
    let keeper = f.new_keeper().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 300 * USDC).await.unwrap();
    f.set_triggers(&t, Long, 0, 149 * PRICE_PRECISION)
        .await
        .unwrap();
    price(&mut f, usd_e8(148)).await;
    let pool = f.pool.key;
    f.env
        .send(
            &[ix::set_pause_flags(
                &admin.pubkey(),
                Some(&pool),
                None,
                pause::TRIGGER,
            )],
            &[&admin],
        )
        .await
        .unwrap();
    assert_error(
        f.execute_trigger(&keeper, &t, Long).await,
        TidepoolError::Paused,
    );
    f.env
        .send(
            &[ix::set_pause_flags(&admin.pubkey(), Some(&pool), None, 0)],
            &[&admin],
        )
        .await
        .unwrap();
    f.execute_trigger(&keeper, &t, Long).await.unwrap();
}

/// A position whose profit reached its reserve is closed at the cap by any keeper.
#[tokio::test]
async fn deleverage_at_the_reserve_cap() {
    let mut setup = PoolSetup::default();
    setup.markets[0].params.max_profit_factor_bps = 1_000; // 0.1x
    let mut f = Fixture::with(setup).await;
    f.zero_confidence();
    f.seed_liquidity(1_000_000 * USDC).await;
    let keeper = f.new_keeper().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 300 * USDC).await.unwrap();
    let p = f.position(&t, Long).await.unwrap();
    assert_eq!(p.reserved, 150 * USDC);
    f.env.advance_time(61).await; // past the minimum hold
    price(&mut f, usd_e8(160)).await; // +6.6 %: under the 10 % cap
    let snap = f
        .snapshot(&[t.token, keeper.token, f.position_key(&t, Long)])
        .await;
    assert_error(
        f.deleverage(&keeper, &t, Long, AdlCap::PositionReserve)
            .await,
        TidepoolError::NotDeleveragable,
    );
    snap.assert_unchanged(&mut f.env).await;
    price(&mut f, usd_e8(170)).await; // +13 %: past it
    let before = f.env.token_balance(&t.token).await;
    f.deleverage(&keeper, &t, Long, AdlCap::PositionReserve)
        .await
        .unwrap();
    assert!(f.position(&t, Long).await.is_none());
    let payout = f.env.token_balance(&t.token).await - before;
    assert!(
        payout <= p.collateral + p.reserved - USDC,
        "at most collateral + reserve − fees"
    );
    assert!(payout > p.collateral + p.reserved - 5 * USDC);
    assert_eq!(f.env.token_balance(&keeper.token).await, USDC);
    f.check_invariants().await;
}

/// When traders' aggregate profit passes `max_pnl_factor × pool value`, keepers reduce the
/// most profitable positions; a below-average one is refused.
#[tokio::test]
async fn deleverage_at_the_pool_cap_takes_the_most_profitable_first() {
    let mut setup = PoolSetup::default();
    setup.params.max_pnl_factor_bps = 100; // 1 % of the pool value
    let mut f = Fixture::with(setup).await;
    f.zero_confidence();
    f.seed_liquidity(200_000 * USDC).await;
    let keeper = f.new_keeper().await;
    let early = f.new_trader(100_000 * USDC).await;
    f.open(&early, Long, 20_000 * USDC, 5_000 * USDC)
        .await
        .unwrap();
    price(&mut f, usd_e8(165)).await;
    let late = f.new_trader(100_000 * USDC).await;
    f.open(&late, Long, 20_000 * USDC, 5_000 * USDC)
        .await
        .unwrap();
    f.env.advance_time(120).await;
    // Under the cap: nothing to do.
    let snap = f.snapshot(&[early.token, late.token, keeper.token]).await;
    assert_error(
        f.deleverage(&keeper, &early, Long, AdlCap::PoolProfit)
            .await,
        TidepoolError::NotDeleveragable,
    );
    snap.assert_unchanged(&mut f.env).await;
    // Up to 175: early is +16.6 %, late +6 %; together ~4.5k of profit on a ~200k pool.
    price(&mut f, usd_e8(175)).await;
    assert_error(
        f.deleverage(&keeper, &late, Long, AdlCap::PoolProfit).await,
        TidepoolError::NotMostProfitable,
    );
    let before = f.position(&early, Long).await.unwrap();
    f.deleverage(&keeper, &early, Long, AdlCap::PoolProfit)
        .await
        .unwrap();
    let after = f.position(&early, Long).await;
    let reduced = after.map(|p| p.entry_notional_usd).unwrap_or(0);
    assert!(reduced < before.entry_notional_usd, "reduced");
    // Now at (or under) the cap: the next call has nothing to do.
    assert_error(
        f.deleverage(&keeper, &late, Long, AdlCap::PoolProfit).await,
        TidepoolError::NotDeleveragable,
    );
    f.check_invariants().await;
}

#[tokio::test]
async fn protocol_fees_go_to_the_fee_recipient_only() {
    let mut f = exact().await;
    let t = f.new_trader(10_000 * USDC).await;
    f.open(&t, Long, 100_000 * USDC, 10_000 * USDC)
        .await
        .unwrap();
    f.decrease(&t, Long, u64::MAX).await.unwrap();
    let owed = f.pool_state().await.protocol_fees_owed;
    assert!(owed > 0);
    let recipient = f.fee_recipient.insecure_clone();
    let mint = f.pool.mint;
    let account = f.env.create_token_account(&mint, &recipient.pubkey()).await;
    let pool = f.pool.key;
    // Nobody else can collect.
    let mallory = f.new_trader(0).await;
    let snap = f.snapshot(&[account, mallory.token]).await;
    let ixn = ix::collect_protocol_fees(&mallory.user.pubkey(), &pool, &mallory.token);
    assert_error(
        f.env.send(&[ixn], &[&mallory.user]).await,
        TidepoolError::NotFeeRecipient,
    );
    snap.assert_unchanged(&mut f.env).await;

    let ixn = ix::collect_protocol_fees(&recipient.pubkey(), &pool, &account);
    f.env
        .send(std::slice::from_ref(&ixn), &[&recipient])
        .await
        .unwrap();
    assert_eq!(f.env.token_balance(&account).await, owed);
    assert_eq!(f.pool_state().await.protocol_fees_owed, 0);
    f.check_invariants().await;
    f.env.advance_time(1).await;
    assert_error(
        f.env.send(&[ixn], &[&recipient]).await,
        TidepoolError::NoFeesToCollect,
    );
}
