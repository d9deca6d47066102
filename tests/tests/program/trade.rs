//! Trading against the pool: open, increase, decrease, close, collateral, views.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::Signer;
use tidepool::constants::pause;
use tidepool::error::TidepoolError;
use tidepool::events::{PositionDecreased, PositionIncreased};
use tidepool::math::position::{pnl_usd, size_base_for};
use tidepool::math::rates::{INDEX_PRECISION, SECONDS_PER_YEAR};
use tidepool::math::PRICE_PRECISION;
use tidepool::state::Side::{Long, Short};
use tidepool::state::{Position, Side};
use tidepool_client::ix;
use tidepool_harness::*;

const POOL_LIQUIDITY: u64 = 1_000_000 * USDC;

/// A pool with liquidity whose oracles have zero confidence, so fills are spot ± 5 bps and
/// every conversion is exact.
async fn exact() -> Fixture {
    let mut f = Fixture::new().await;
    f.zero_confidence();
    f.seed_liquidity(POOL_LIQUIDITY).await;
    f
}

async fn set_price_exact(f: &mut Fixture, dollars_e8: i64) {
    f.set_market_price(0, dollars_e8).await;
    let oracle = f.pool.markets[0].oracle;
    f.env.update_price(&oracle, |p| p.conf = 0);
}

/// Fill prices at $150 with a 5 bps spread.
const BUY_150: u64 = 150_075_000_000;
const SELL_150: u64 = 149_925_000_000;

#[tokio::test]
async fn open_long_books_fee_reserve_and_collateral() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    let pool_before = f.pool_state().await;
    f.open(&t, Long, 1_500 * USDC, 150 * USDC).await.unwrap();

    let p = f.position(&t, Long).await.unwrap();
    assert_eq!(p.owner, t.user.pubkey());
    assert_eq!(p.side, Long);
    assert_eq!(p.entry_notional_usd, 1_500 * USDC);
    assert_eq!(
        p.size_base,
        size_base_for(1_500 * USDC, BUY_150, true).unwrap()
    );
    assert_eq!(p.size_base, 9_995_002_498);
    // 10 bps open fee out of the collateral; 1x profit factor reserved.
    assert_eq!(p.collateral, 150 * USDC - 1_500_000);
    assert_eq!(p.reserved, 1_500 * USDC);
    assert_eq!(f.env.token_balance(&t.token).await, 850 * USDC);

    let pool = f.pool_state().await;
    // 20 % of the fee to the protocol, the rest to the LPs.
    assert_eq!(pool.protocol_fees_owed, 300_000);
    assert_eq!(pool.lp_balance, pool_before.lp_balance + 1_200_000);
    assert_eq!(pool.total_collateral, p.collateral);
    assert_eq!(pool.total_reserved, 1_500 * USDC);
    let m = f.market_state(0).await;
    assert_eq!(
        (m.long.open_interest_usd, m.long.position_count),
        (1_500 * USDC, 1)
    );
    assert_eq!(m.short.open_interest_usd, 0);
}

#[tokio::test]
async fn open_short_fills_at_the_sell_price_and_emits() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    let ixn = ix::open_position(
        &t.user.pubkey(),
        &f.market_keys(0),
        &t.token,
        Short,
        3_000 * USDC,
        300 * USDC,
        SELL_150,
    );
    let inner = f.env.simulate_inner_data(&[ixn], &[&t.user]).await;
    let e = &decode_events::<PositionIncreased>(&inner)[0];
    assert_eq!(e.side, Short);
    assert_eq!(e.fill_price, SELL_150);
    assert_eq!(
        e.size_base,
        size_base_for(3_000 * USDC, SELL_150, false).unwrap()
    );
    assert_eq!(
        (e.open_fee, e.reserve_added, e.collateral_in),
        (3 * USDC, 3_000 * USDC, 300 * USDC)
    );
    assert_eq!(e.total_collateral, 297 * USDC);

    // The acceptable price is exact: one unit better than the fill is refused.
    let snap = f.snapshot(&[t.token, f.position_key(&t, Short)]).await;
    assert_error(
        f.open_at(&t, Short, 3_000 * USDC, 300 * USDC, SELL_150 + 1)
            .await,
        TidepoolError::PriceSlippage,
    );
    snap.assert_unchanged(&mut f.env).await;
    f.open_at(&t, Short, 3_000 * USDC, 300 * USDC, SELL_150)
        .await
        .unwrap();
    f.check_invariants().await;
}

#[tokio::test]
async fn increases_average_the_entry() {
    let mut f = exact().await;
    let t = f.new_trader(10_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 500 * USDC).await.unwrap();
    set_price_exact(&mut f, usd_e8(200)).await;
    f.open(&t, Long, 2_000 * USDC, 0).await.unwrap();
    let p = f.position(&t, Long).await.unwrap();
    let first = size_base_for(1_500 * USDC, BUY_150, true).unwrap();
    let second = size_base_for(2_000 * USDC, 200_100_000_000, true).unwrap();
    assert_eq!(p.size_base, first + second);
    assert_eq!(p.entry_notional_usd, 3_500 * USDC);
    // Average entry = 3500 / (first + second) SOL, between the two fills.
    let avg = p.entry_notional_usd as u128 * 1_000_000_000_000 / p.size_base as u128;
    assert!(avg > BUY_150 as u128 && avg < 200_100_000_000, "{avg}");
    // Both fees came out of the collateral; the second increase added no tokens.
    assert_eq!(p.collateral, 500 * USDC - 1_500_000 - 2_000_000);
    assert_eq!(p.reserved, 3_500 * USDC);
    f.check_invariants().await;
}

/// Close in full after the hold time: payout = collateral + PnL − close fee, exactly,
/// the account's rent goes back to the owner, and the LPs pay the profit.
#[tokio::test]
async fn close_long_in_profit_pays_exactly() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 150 * USDC).await.unwrap();
    let p = f.position(&t, Long).await.unwrap();
    let key = f.position_key(&t, Long);
    let rent = f.env.raw_account(&key).await.unwrap().lamports;
    let owner_lamports = f.env.raw_account(&t.user.pubkey()).await.unwrap().lamports;

    f.env.advance_time(120).await;
    set_price_exact(&mut f, usd_e8(165)).await;
    let lp_before = f.pool_state().await.lp_balance;
    let q = f.quote_decrease(&t, Long, u64::MAX).await.unwrap();
    f.decrease(&t, Long, u64::MAX).await.unwrap();

    let sell = 164_917_500_000u64; // 165 × (1 − 5 bps)
    assert_eq!(q.fill_price, sell);
    let pnl = pnl_usd(true, p.size_base, p.entry_notional_usd, sell, true).unwrap() as u64;
    let notional = (p.size_base as u128 * sell as u128).div_ceil(1_000_000_000_000) as u64;
    let close_fee = (notional as u128 * 10).div_ceil(10_000) as u64;
    assert_eq!((q.pnl as u64, q.close_fee), (pnl, close_fee));
    // Two minutes of borrowing at ~0.15 % utilization: the index grew by the curve's rate.
    let m = f.market_state(0).await;
    let borrow_fee = (p.entry_notional_usd as u128
        * (m.cumulative_borrow_index - p.borrow_snapshot))
        .div_ceil(INDEX_PRECISION) as u64;
    assert_eq!(q.borrow_fee, borrow_fee);
    assert!(borrow_fee > 0 && borrow_fee < USDC / 10);
    let borrow = f.pool_state().await; // books after
    let payout = f.env.token_balance(&t.token).await - 850 * USDC;
    assert_eq!(
        payout as i64,
        (p.collateral + pnl - close_fee - borrow_fee) as i64 - q.funding
    );
    assert!(
        payout > 290 * USDC,
        "10 % up at 10x nearly doubles the collateral: {payout}"
    );
    assert!(f.position(&t, Long).await.is_none(), "account closed");
    let owner_after = f.env.raw_account(&t.user.pubkey()).await.unwrap().lamports;
    assert_eq!(
        owner_after,
        owner_lamports + rent,
        "rent returned to the owner"
    );
    // The LPs paid the PnL and earned 80 % of the fees.
    let fees = close_fee + borrow_fee;
    let lp_fees = fees - fees * 2_000 / 10_000;
    assert_eq!(
        borrow.lp_balance as i128,
        lp_before as i128 - pnl as i128 + lp_fees as i128 + q.funding as i128
    );
    assert_eq!((borrow.total_reserved, borrow.total_collateral), (0, 0));
    f.check_invariants().await;
}

#[tokio::test]
async fn close_short_in_loss_pays_the_pool() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Short, 1_500 * USDC, 300 * USDC).await.unwrap();
    let p = f.position(&t, Short).await.unwrap();
    f.env.advance_time(600).await;
    set_price_exact(&mut f, usd_e8(160)).await;
    let lp_before = f.pool_state().await.lp_balance;
    let quote = f.quote_decrease(&t, Short, u64::MAX).await.unwrap();
    f.decrease(&t, Short, u64::MAX).await.unwrap();
    let payout = f.env.token_balance(&t.token).await - 700 * USDC;
    assert_eq!(payout, quote.payout, "the quote is what happens");
    assert!(quote.pnl < 0 && quote.closed);
    // Loss of ~6.7 % on 1500 plus fees, out of 298.5 collateral.
    assert_eq!(
        payout as i128,
        p.collateral as i128 + quote.pnl as i128
            - quote.close_fee as i128
            - quote.borrow_fee as i128
            - quote.funding as i128
    );
    let pool = f.pool_state().await;
    assert!(
        pool.lp_balance > lp_before + 100 * USDC,
        "the LPs won the trader's loss"
    );
    f.check_invariants().await;
}

#[tokio::test]
async fn partial_close_releases_proportionally() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 3_000 * USDC, 600 * USDC).await.unwrap();
    f.env.advance_time(120).await;
    let before = f.position(&t, Long).await.unwrap();
    f.decrease(&t, Long, 1_000 * USDC).await.unwrap();
    let after = f.position(&t, Long).await.unwrap();
    assert_eq!(after.entry_notional_usd, 2_000 * USDC);
    assert_eq!(after.size_base, before.size_base - before.size_base / 3);
    assert_eq!(after.reserved, before.reserved - before.reserved / 3);
    // Fees for the two minutes were settled from the collateral first.
    assert!(after.collateral < before.collateral * 2 / 3 + 1);
    assert!(after.collateral > before.collateral * 2 / 3 - USDC / 100);

    // A remainder under the $10 minimum is refused; closing in full is the way.
    let snap = f.snapshot(&[t.token, f.position_key(&t, Long)]).await;
    assert_error(
        f.decrease(&t, Long, 1_995 * USDC).await,
        TidepoolError::RemainingPositionTooSmall,
    );
    snap.assert_unchanged(&mut f.env).await;
    f.decrease(&t, Long, 2_000 * USDC).await.unwrap();
    assert!(f.position(&t, Long).await.is_none());
    f.check_invariants().await;
}

/// A 3x move with a 1x profit factor: the trader gets the reserve, not more.
#[tokio::test]
async fn profit_is_capped_at_the_reserve() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_000 * USDC, 200 * USDC).await.unwrap();
    let p = f.position(&t, Long).await.unwrap();
    f.env.advance_time(120).await;
    // Step the price up within the EMA guard.
    for px in [165, 180, 198, 217, 238, 261, 287, 315, 346, 380, 418, 450] {
        set_price_exact(&mut f, usd_e8(px)).await;
    }
    let q = f.quote_decrease(&t, Long, u64::MAX).await.unwrap();
    assert_eq!(q.pnl as u64, p.reserved, "PnL capped at the reserve");
    f.decrease(&t, Long, u64::MAX).await.unwrap();
    let payout = f.env.token_balance(&t.token).await - 800 * USDC;
    assert_eq!(
        payout as i64,
        (p.collateral + p.reserved - q.close_fee - q.borrow_fee) as i64 - q.funding
    );
    assert!(
        payout <= p.collateral + p.reserved,
        "payout ≤ collateral + reserve"
    );
    f.check_invariants().await;
}

/// SPEC 8: a 10x move against a pool at maximum utilization pays out exactly the reserves
/// and the pool stays solvent.
#[tokio::test]
async fn tenfold_move_at_max_utilization_pays_exactly_the_reserves() {
    let mut setup = PoolSetup::default();
    setup.markets[0].params.base_initial_margin_bps = 1_000;
    setup.markets[0].params.base_maintenance_margin_bps = 500;
    setup.markets[0].params.oracle.max_ema_deviation_bps = 5_000;
    let mut f = Fixture::with(setup).await;
    let settle = f.pool.settlement_oracle;
    f.env.update_price(&settle, |p| p.conf = 0);
    f.seed_liquidity(100_000 * USDC).await;
    // Reserve 1x notional at 80 % max utilization of ~100k: 4 traders × 19.9k.
    let mut traders = Vec::new();
    for _ in 0..4 {
        let t = f.new_trader(10_000 * USDC).await;
        f.open(&t, Long, 19_990 * USDC, 5_000 * USDC).await.unwrap();
        traders.push(t);
    }
    let extra = f.new_trader(10_000 * USDC).await;
    let snap = f.snapshot(&[extra.token]).await;
    assert_error(
        f.open(&extra, Long, 1_000 * USDC, 500 * USDC).await,
        TidepoolError::MaxUtilizationExceeded,
    );
    snap.assert_unchanged(&mut f.env).await;

    let pool = f.pool_state().await;
    let reserves: u64 = pool.total_reserved;
    f.env.advance_time(120).await;
    let mut px = 150i64;
    while px < 1_500 {
        px = (px * 3 / 2).min(1_500);
        f.set_market_price(0, usd_e8(px)).await;
    }
    let mut paid_profit = 0i128;
    for t in &traders {
        let p = f.position(t, Long).await.unwrap();
        let q = f.quote_decrease(t, Long, u64::MAX).await.unwrap();
        assert_eq!(q.pnl as u64, p.reserved);
        f.decrease(t, Long, u64::MAX).await.unwrap();
        paid_profit += q.pnl as i128;
    }
    assert_eq!(
        paid_profit, reserves as i128,
        "the pool paid exactly the reserves"
    );
    let after = f.pool_state().await;
    assert_eq!(
        (after.total_reserved, after.total_collateral, after.bad_debt),
        (0, 0, 0)
    );
    assert!(after.lp_balance > 0);
    f.check_invariants().await;
}

/// SPEC 8: open and close in the same second never profits, even with the price moving
/// up in between (the minimum hold forfeits profit; spread and fees remain).
#[tokio::test]
async fn open_and_close_in_the_same_second_never_profits() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 5_000 * USDC, 500 * USDC).await.unwrap();
    set_price_exact(&mut f, usd_e8(153)).await;
    let q = f.quote_decrease(&t, Long, u64::MAX).await.unwrap();
    assert_eq!(q.pnl, 0, "profit forfeited inside the hold time");
    f.decrease(&t, Long, u64::MAX).await.unwrap();
    assert!(f.env.token_balance(&t.token).await < 1_000 * USDC);

    // A loss inside the hold time counts in full.
    f.open(&t, Short, 5_000 * USDC, 500 * USDC).await.unwrap();
    set_price_exact(&mut f, usd_e8(155)).await;
    let q = f.quote_decrease(&t, Short, u64::MAX).await.unwrap();
    assert!(q.pnl < -(60 * USDC as i64), "{}", q.pnl);
    f.check_invariants().await;
}

#[tokio::test]
async fn quote_open_matches_the_open() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    let q = f.quote_open(Short, 2_000 * USDC, 150 * USDC).await.unwrap();
    assert!(q.meets_initial_margin);
    assert_eq!(
        q.max_leverage_bps / 10_000,
        10_000 / q.health.initial_margin_bps
    );
    assert!(
        q.health.liquidation_price > SELL_150,
        "a short is liquidated above its entry"
    );
    let ixn = ix::open_position(
        &t.user.pubkey(),
        &f.market_keys(0),
        &t.token,
        Short,
        2_000 * USDC,
        150 * USDC,
        0,
    );
    let inner = f.env.simulate_inner_data(&[ixn], &[&t.user]).await;
    let e = &decode_events::<PositionIncreased>(&inner)[0];
    assert_eq!(
        (e.fill_price, e.size_base, e.open_fee, e.reserve_added),
        (
            q.outcome.fill_price,
            q.outcome.size_base,
            q.outcome.open_fee,
            q.outcome.reserve
        )
    );
    // Too much leverage: the quote says so, the open refuses it.
    let q = f.quote_open(Short, 2_000 * USDC, 50 * USDC).await.unwrap();
    assert!(!q.meets_initial_margin);
    let snap = f.snapshot(&[t.token, f.position_key(&t, Short)]).await;
    assert_error(
        f.open(&t, Short, 2_000 * USDC, 50 * USDC).await,
        TidepoolError::InsufficientMargin,
    );
    snap.assert_unchanged(&mut f.env).await;
}

#[tokio::test]
async fn position_health_view_reports_equity_and_liquidation_price() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 150 * USDC).await.unwrap();
    let h = f.health(&t, Long).await;
    assert_eq!(h.mark_price, 150 * PRICE_PRECISION);
    let p = f.position(&t, Long).await.unwrap();
    let pnl = pnl_usd(
        true,
        p.size_base,
        p.entry_notional_usd,
        150 * PRICE_PRECISION,
        true,
    )
    .unwrap();
    assert_eq!(h.pnl as i128, pnl);
    assert_eq!(
        h.equity,
        p.collateral as i64 + h.pnl - h.borrow_owed as i64 - h.funding_owed - h.close_fee as i64
    );
    assert!(h.maintenance_margin_bps < h.initial_margin_bps);
    assert!(!h.is_liquidatable());
    // ~10x long: liquidated roughly 7-8 % below entry.
    assert!(
        h.liquidation_price > 135 * PRICE_PRECISION && h.liquidation_price < 142 * PRICE_PRECISION,
        "{}",
        h.liquidation_price
    );
}

#[tokio::test]
async fn collateral_can_be_added_and_removed_down_to_initial_margin() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 300 * USDC).await.unwrap();
    f.add_collateral(&t, Long, 100 * USDC).await.unwrap();
    let p = f.position(&t, Long).await.unwrap();
    assert_eq!(p.collateral, 400 * USDC - 1_500_000);
    assert_eq!(f.env.token_balance(&t.token).await, 600 * USDC);

    // Largest removable amount: equity (marked at the close fill) − initial margin.
    let oracle = f.pool.markets[0].oracle;
    let settle = f.pool.settlement_oracle;
    let price = f.env.prices[&oracle].oracle_price();
    let settlement = f.env.prices[&settle].oracle_price();
    let market = f.market_state(0).await;
    let pool = f.pool_state().await;
    let ratios = market
        .margin_ratios(
            &price,
            &settlement,
            &pool,
            p.is_long(),
            p.entry_notional_usd,
        )
        .unwrap();
    let mark = market.fill_price(&price, false).unwrap();
    let h = p.health(&market, mark, ratios, &settlement, 6).unwrap();
    let max_removable = (h.equity - h.initial_margin_required as i64) as u64;

    let snap = f.snapshot(&[t.token, f.position_key(&t, Long)]).await;
    assert_error(
        f.remove_collateral(&t, Long, max_removable + 1).await,
        TidepoolError::InsufficientMargin,
    );
    snap.assert_unchanged(&mut f.env).await;
    f.remove_collateral(&t, Long, max_removable).await.unwrap();
    assert_eq!(
        f.env.token_balance(&t.token).await,
        600 * USDC + max_removable
    );
    let h = f.health(&t, Long).await;
    assert!(!h.is_liquidatable());
    assert_error(
        f.remove_collateral(&t, Long, 0).await,
        TidepoolError::ZeroAmount,
    );
    assert_error(
        f.add_collateral(&t, Long, 0).await,
        TidepoolError::ZeroAmount,
    );
    f.check_invariants().await;
}

#[tokio::test]
async fn caps_and_sizes_are_enforced_with_nothing_moved() {
    let mut setup = PoolSetup::default();
    setup.markets[0].params.max_long_open_interest_usd = 50_000 * USDC;
    setup.markets[0].params.max_skew_usd = 30_000 * USDC;
    let mut f = Fixture::with(setup).await;
    f.seed_liquidity(POOL_LIQUIDITY).await;
    let t = f.new_trader(100_000 * USDC).await;
    let u = f.new_trader(100_000 * USDC).await;
    let watch = |f: &Fixture| {
        vec![
            t.token,
            u.token,
            f.position_key(&t, Long),
            f.position_key(&t, Short),
            f.position_key(&u, Long),
        ]
    };

    let cases: Vec<(Side, u64, u64, TidepoolError)> = vec![
        (Long, 0, 100 * USDC, TidepoolError::ZeroSize),
        (Long, 9 * USDC, 5 * USDC, TidepoolError::PositionTooSmall),
        (
            Long,
            30_001 * USDC,
            10_000 * USDC,
            TidepoolError::SkewCapExceeded,
        ),
        (
            Long,
            1_000 * USDC,
            USDC,
            TidepoolError::InsufficientCollateral,
        ),
        (
            Long,
            1_000 * USDC,
            20 * USDC,
            TidepoolError::InsufficientMargin,
        ),
    ];
    for (side, size, coll, expected) in cases {
        let keys = watch(&f);
        let snap = f.snapshot(&keys).await;
        assert_error(f.open(&t, side, size, coll).await, expected);
        snap.assert_unchanged(&mut f.env).await;
    }
    // Shorts first let longs grow past the skew cap up to the OI cap.
    f.open(&u, Short, 25_000 * USDC, 5_000 * USDC)
        .await
        .unwrap();
    f.open(&t, Long, 50_000 * USDC, 10_000 * USDC)
        .await
        .unwrap();
    let keys = watch(&f);
    let snap = f.snapshot(&keys).await;
    assert_error(
        f.open(&t, Long, 10 * USDC, 10 * USDC).await,
        TidepoolError::OpenInterestCapExceeded,
    );
    snap.assert_unchanged(&mut f.env).await;
    // A trade that reduces the skew is always allowed.
    f.open(&u, Short, 1_000 * USDC, 1_000 * USDC).await.unwrap();
    f.check_invariants().await;
}

#[tokio::test]
async fn pauses_stop_each_trading_action() {
    let mut f = exact().await;
    let admin = f.admin.insecure_clone();
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 300 * USDC).await.unwrap();
    let (pool, market) = (f.pool.key, f.pool.markets[0].key);
    for flags in [pause::OPEN, pause::DECREASE, pause::COLLATERAL] {
        f.env
            .send(
                &[ix::set_pause_flags(
                    &admin.pubkey(),
                    Some(&pool),
                    Some(&market),
                    flags,
                )],
                &[&admin],
            )
            .await
            .unwrap();
        let keys = [t.token, f.position_key(&t, Long)];
        let snap = f.snapshot(&keys).await;
        let res = match flags {
            pause::OPEN => f.open(&t, Long, 100 * USDC, 10 * USDC).await,
            pause::DECREASE => f.decrease(&t, Long, u64::MAX).await,
            _ => f.add_collateral(&t, Long, USDC).await,
        };
        assert_error(res, TidepoolError::Paused);
        if flags == pause::COLLATERAL {
            assert_error(
                f.remove_collateral(&t, Long, USDC).await,
                TidepoolError::Paused,
            );
        }
        snap.assert_unchanged(&mut f.env).await;
    }
    f.env
        .send(
            &[ix::set_pause_flags(
                &admin.pubkey(),
                Some(&pool),
                Some(&market),
                0,
            )],
            &[&admin],
        )
        .await
        .unwrap();
    f.decrease(&t, Long, u64::MAX).await.unwrap();
}

#[tokio::test]
async fn bad_oracles_and_depeg_refuse_new_risk() {
    let mut f = exact().await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 300 * USDC).await.unwrap();
    let keys = [t.token, f.position_key(&t, Long)];
    // A depegged settlement token stops opening and removing collateral, not closing.
    let settle = f.pool.settlement_oracle;
    f.env.update_price(&settle, |p| {
        p.price = 97_000_000;
        p.ema_price = 97_000_000;
    });
    let snap = f.snapshot(&keys).await;
    assert_error(
        f.open(&t, Long, 100 * USDC, 10 * USDC).await,
        TidepoolError::SettlementDepegged,
    );
    assert_error(
        f.remove_collateral(&t, Long, USDC).await,
        TidepoolError::SettlementDepegged,
    );
    snap.assert_unchanged(&mut f.env).await;
    f.env.update_price(&settle, |p| {
        p.price = 100_000_000;
        p.ema_price = 100_000_000;
    });
    // A stale market price stops everything that needs a price.
    f.env.advance_time(30).await;
    let oracle = f.pool.markets[0].oracle;
    let now = f.env.now().await;
    f.env.update_price(&oracle, |p| p.publish_time = now - 61);
    let snap = f.snapshot(&keys).await;
    assert_error(
        f.open(&t, Long, 100 * USDC, 10 * USDC).await,
        TidepoolError::OracleStale,
    );
    assert_error(
        f.decrease(&t, Long, u64::MAX).await,
        TidepoolError::OracleStale,
    );
    assert_error(
        f.remove_collateral(&t, Long, USDC).await,
        TidepoolError::OracleStale,
    );
    snap.assert_unchanged(&mut f.env).await;
    // Adding collateral needs no price.
    f.add_collateral(&t, Long, USDC).await.unwrap();
}

#[tokio::test]
async fn look_alike_trading_accounts_are_refused() {
    let mut f = exact().await;
    let admin = f.admin.insecure_clone();
    let other = create_pool(
        &mut f.env,
        &admin,
        &PoolSetup {
            id: 1,
            ..PoolSetup::default()
        },
    )
    .await;
    let t = f.new_trader(1_000 * USDC).await;
    let mallory = f.new_trader(1_000 * USDC).await;
    f.open(&t, Long, 1_500 * USDC, 300 * USDC).await.unwrap();
    let victim_position = f.position_key(&t, Long);

    // Mallory closing the victim's position: the PDA is derived from the signer.
    let mut ixn = ix::decrease_position(
        &mallory.user.pubkey(),
        &f.market_keys(0),
        Long,
        &mallory.token,
        u64::MAX,
        0,
        0,
    );
    ixn.accounts[4].pubkey = victim_position;
    let snap = f.snapshot(&[t.token, mallory.token, victim_position]).await;
    assert_error(
        f.env.send(&[ixn], &[&mallory.user]).await,
        AnchorError::ConstraintSeeds,
    );
    // Another pool's market with this pool.
    let mut keys = f.market_keys(0);
    keys.market = other.markets[0].key;
    let ixn = ix::open_position(
        &t.user.pubkey(),
        &keys,
        &t.token,
        Long,
        1_500 * USDC,
        300 * USDC,
        u64::MAX,
    );
    assert_error(
        f.env.send(&[ixn], &[&t.user]).await,
        TidepoolError::MarketPoolMismatch,
    );
    // Mallory's open_position with its position slot on another mutable account of the
    // instruction (the pool) or on the victim's position: the position carries `dup`, so
    // its PDA seeds are what refuse it.
    for wrong in [f.pool.key, victim_position] {
        let mut ixn = ix::open_position(
            &mallory.user.pubkey(),
            &f.market_keys(0),
            &mallory.token,
            Long,
            1_500 * USDC,
            300 * USDC,
            u64::MAX,
        );
        ixn.accounts[4].pubkey = wrong;
        assert_error(
            f.env.send(&[ixn], &[&mallory.user]).await,
            AnchorError::ConstraintSeeds,
        );
    }
    // Another pool's vault.
    let mut ixn = ix::open_position(
        &t.user.pubkey(),
        &f.market_keys(0),
        &t.token,
        Long,
        1_500 * USDC,
        300 * USDC,
        u64::MAX,
    );
    ixn.accounts[5].pubkey = other.vault;
    assert_error(
        f.env.send(&[ixn], &[&t.user]).await,
        TidepoolError::InvalidVault,
    );
    // Another market's price for this market.
    let mut keys = f.market_keys(0);
    keys.price_update = other.markets[0].oracle;
    let ixn = ix::open_position(
        &t.user.pubkey(),
        &keys,
        &t.token,
        Long,
        1_500 * USDC,
        300 * USDC,
        u64::MAX,
    );
    assert_error(
        f.env.send(&[ixn], &[&t.user]).await,
        TidepoolError::OracleFeedMismatch,
    );
    // Funding from someone else's token account.
    let ixn = ix::open_position(
        &t.user.pubkey(),
        &f.market_keys(0),
        &mallory.token,
        Long,
        1_500 * USDC,
        300 * USDC,
        u64::MAX,
    );
    assert_error(
        f.env.send(&[ixn], &[&t.user]).await,
        TidepoolError::InvalidTokenOwner,
    );
    // The pool's own vault as the trader's token account, paying in or receiving.
    let ixn = ix::open_position(
        &t.user.pubkey(),
        &f.market_keys(0),
        &f.pool.vault,
        Long,
        1_500 * USDC,
        300 * USDC,
        u64::MAX,
    );
    assert_error(
        f.env.send(&[ixn], &[&t.user]).await,
        TidepoolError::VaultAsUserAccount,
    );
    let ixn = ix::decrease_position(
        &t.user.pubkey(),
        &f.market_keys(0),
        Long,
        &f.pool.vault,
        u64::MAX,
        0,
        0,
    );
    assert_error(
        f.env.send(&[ixn], &[&t.user]).await,
        TidepoolError::VaultAsUserAccount,
    );
    snap.assert_unchanged(&mut f.env).await;
    let _ = Pubkey::default();
    let _: Option<Position> = None;
}

/// SPEC 8: long idle time, then accrual, at low and at high utilization: the borrow fee
/// is the entry notional times the curve's rate times the time.
#[tokio::test]
async fn borrow_fees_accrue_on_the_curve_over_idle_time() {
    // ~0.1 % and ~99 % utilization (the second pool allows 100 %).
    for (liquidity, size) in [
        (1_000_000 * USDC, 1_000 * USDC),
        (10_000 * USDC, 9_900 * USDC),
    ] {
        let mut setup = PoolSetup::default();
        setup.params.max_utilization_bps = 10_000;
        let mut f = Fixture::with(setup).await;
        let settle = f.pool.settlement_oracle;
        f.env.update_price(&settle, |p| p.conf = 0);
        f.seed_liquidity(liquidity).await;
        let t = f.new_trader(10_000 * USDC).await;
        f.open(&t, Long, size, 5_000 * USDC).await.unwrap();
        let pool = f.pool_state().await;
        let util = tidepool::engine::position::pool_utilization(&pool).unwrap();
        let m = f.market_state(0).await;
        let rate = tidepool::math::rates::borrow_rate_bps(
            util,
            m.params.borrow_base_rate_bps,
            m.params.borrow_optimal_utilization_bps,
            m.params.borrow_slope1_bps,
            m.params.borrow_slope2_bps,
        )
        .unwrap();

        f.env.advance_time(SECONDS_PER_YEAR as i64 / 4).await;
        let h = f.health(&t, Long).await;
        // Quarter-year fee on the notional, in tokens at $1.
        let expected = (size as u128 * rate as u128).div_ceil(4 * 10_000) as u64;
        assert!(
            h.borrow_owed.abs_diff(expected) <= 1,
            "util {util} bps, rate {rate} bps: {} vs {expected}",
            h.borrow_owed
        );
        assert!(
            h.funding_owed > 0,
            "alone on its side, the long pays funding to the pool"
        );
        if size > liquidity / 2 {
            assert!(
                util > 9_800 && rate > 20_000,
                "near full: {util} bps, {rate} bps/yr"
            );
        }
        let p = f.position(&t, Long).await.unwrap();
        f.decrease(&t, Long, u64::MAX).await.unwrap();
        let pool = f.pool_state().await;
        assert!(pool.lp_balance > liquidity, "LPs earned the fees");
        assert!(f.env.token_balance(&t.token).await < 10_000 * USDC - expected);
        assert!(p.collateral > 0);
        f.check_invariants().await;
    }
}

/// Funding between two traders is zero-sum: the heavier side pays, the lighter receives
/// no more than was paid, and the pool keeps only rounding.
#[tokio::test]
async fn funding_is_zero_sum_between_sides() {
    let mut f = exact().await;
    let long = f.new_trader(100_000 * USDC).await;
    let short = f.new_trader(100_000 * USDC).await;
    f.open(&long, Long, 30_000 * USDC, 10_000 * USDC)
        .await
        .unwrap();
    f.open(&short, Short, 10_000 * USDC, 10_000 * USDC)
        .await
        .unwrap();
    f.env.advance_time(30 * 86_400).await;
    let hl = f.health(&long, Long).await;
    let hs = f.health(&short, Short).await;
    assert!(
        hl.funding_owed > 0 && hs.funding_owed < 0,
        "{} {}",
        hl.funding_owed,
        hs.funding_owed
    );
    // What the short receives is what the long pays (within rounding, never more).
    assert!(hl.funding_owed + hs.funding_owed >= 0);
    assert!(
        hl.funding_owed + hs.funding_owed <= 2,
        "{} {}",
        hl.funding_owed,
        hs.funding_owed
    );
    let m = &f.pool.markets[0];
    let refresh = ix::refresh_market(&f.pool.key, &m.key, &m.oracle);
    f.env.send(&[refresh], &[]).await.unwrap();
    assert!(f.market_state(0).await.funding_rate_bps > 0);
    let ql = f.quote_decrease(&long, Long, u64::MAX).await.unwrap();
    let qs = f.quote_decrease(&short, Short, u64::MAX).await.unwrap();
    f.decrease(&long, Long, u64::MAX).await.unwrap();
    f.decrease(&short, Short, u64::MAX).await.unwrap();
    assert_eq!((ql.funding, qs.funding), (hl.funding_owed, hs.funding_owed));
    let events_ok = decode_events::<PositionDecreased>(&[]).is_empty();
    assert!(events_ok);
    f.check_invariants().await;
}

/// An `open_position` fits one legacy transaction with two compute-budget instructions,
/// the owner paying and signing.
#[tokio::test]
async fn open_position_fits_one_legacy_transaction() {
    use solana_compute_budget_interface::ComputeBudgetInstruction;
    use solana_sdk::message::Message;
    let f = exact().await;
    let owner = Pubkey::new_unique();
    let token = Pubkey::new_unique();
    let ixs = [
        ComputeBudgetInstruction::set_compute_unit_limit(400_000),
        ComputeBudgetInstruction::set_compute_unit_price(1_000),
        ix::open_position(
            &owner,
            &f.market_keys(0),
            &token,
            Long,
            1_000 * USDC,
            100 * USDC,
            u64::MAX,
        ),
    ];
    let message = Message::new(&ixs, Some(&owner));
    let signatures = message.header.num_required_signatures as usize;
    let size = 1 + 64 * signatures + message.serialize().len();
    eprintln!(
        "open_position: {} accounts, {size} bytes",
        message.account_keys.len()
    );
    assert_eq!(signatures, 1);
    assert_eq!(message.account_keys.len(), 14);
    assert!(size <= 1_232, "{size} bytes exceed a legacy transaction");
}

/// Pool value subtracts the traders' unrealized PnL from aggregates: a winning long
/// lowers it, a losing one raises it, always inside [LP balance − reserves, LP balance +
/// collateral], with deposits priced at the high end and withdrawals at the low end.
#[tokio::test]
async fn pool_value_follows_the_traders_pnl() {
    let mut f = Fixture::new().await; // confidence 0.05 %: the two ends differ
    f.seed_liquidity(POOL_LIQUIDITY).await;
    let t = f.new_trader(10_000 * USDC).await;
    f.open(&t, Long, 50_000 * USDC, 5_000 * USDC).await.unwrap();
    let flat = f.pool_value().await;
    let pool = f.pool_state().await;
    assert!(flat.pool_value_max > flat.pool_value_min);
    // Just opened: the spread puts the trader slightly under water.
    assert!(flat.pool_value_min >= pool.lp_balance - USDC);

    f.set_market_price(0, usd_e8(160)).await;
    let up = f.pool_value().await;
    // +6.67 % on 50k is ~3.3k of trader profit, ~5 bps of spread aside.
    let profit = pool.lp_balance - up.pool_value_min;
    assert!(profit > 3_300 * USDC && profit < 3_450 * USDC, "{profit}");
    assert!(up.pool_value_min >= pool.lp_balance - pool.total_reserved);

    f.set_market_price(0, usd_e8(140)).await;
    let down = f.pool_value().await;
    let gain = down.pool_value_max - pool.lp_balance;
    assert!(gain > 3_300 * USDC && gain < 3_450 * USDC, "{gain}");
    assert!(down.pool_value_max <= pool.lp_balance + pool.total_collateral);

    // An LP entering now pays the high end; one leaving gets the low end.
    // (A request, executed at the worse of its own and the execution's share price.)
    let lp = f.new_lp(10_000 * USDC).await;
    f.request_deposit(&lp, 10_000 * USDC, 0).await.unwrap();
    f.wait_request_delay().await;
    let later = f.pool_value().await;
    f.execute_request(&lp, &lp.lp_token).await.unwrap();
    let shares = f.env.token_balance(&lp.lp_token).await;
    let quote = |v: &tidepool::engine::pool_value::PoolValueView| {
        tidepool::math::shares::quote_deposit(10_000 * USDC, 10, v.pool_value_max, v.share_supply)
            .unwrap()
            .shares_out
    };
    assert_eq!(shares, quote(&down).min(quote(&later)));
    f.check_invariants().await;
}

/// Risk engine v2: as one side's unrealized profit approaches the pool's PnL cap, its
/// initial margin rises (the other side's does not), and at the cap new risk on that side
/// stops with `PoolProfitCapReached` and nothing moves.
#[tokio::test]
async fn new_risk_stops_on_a_side_at_the_pool_profit_cap() {
    let mut setup = PoolSetup::default();
    setup.params.max_pnl_factor_bps = 100; // 1 % of 200k: 2k USDC of profit
    let mut f = Fixture::with(setup).await;
    f.zero_confidence();
    f.seed_liquidity(200_000 * USDC).await;
    let winner = f.new_trader(100_000 * USDC).await;
    f.open(&winner, Long, 20_000 * USDC, 5_000 * USDC)
        .await
        .unwrap();
    let calm_long = f.quote_open(Long, 1_000 * USDC, 500 * USDC).await.unwrap();
    // +4 %: the longs hold ~0.8k of profit, ~40 % of the cap.
    f.set_market_price(0, usd_e8(156)).await;
    let long = f.quote_open(Long, 1_000 * USDC, 500 * USDC).await.unwrap();
    let short = f.quote_open(Short, 1_000 * USDC, 500 * USDC).await.unwrap();
    assert!(
        long.max_leverage_bps < short.max_leverage_bps,
        "the winning side pays for the pool's stress: {} vs {}",
        long.max_leverage_bps,
        short.max_leverage_bps
    );
    assert!(long.max_leverage_bps < calm_long.max_leverage_bps);

    // +16.7 %: ~3.3k of profit, over the cap.
    f.set_market_price(0, usd_e8(175)).await;
    let t = f.new_trader(10_000 * USDC).await;
    let snap = f.snapshot(&[t.token]).await;
    assert_error(
        f.open(&t, Long, 1_000 * USDC, 500 * USDC).await,
        TidepoolError::PoolProfitCapReached,
    );
    snap.assert_unchanged(&mut f.env).await;
    // The losing side may still open (it offsets the pool's exposure).
    f.open(&t, Short, 1_000 * USDC, 500 * USDC).await.unwrap();
    f.check_invariants().await;
}

/// Risk engine v2: a market's net exposure (|long − short| open interest) is capped at a
/// share of the LP balance: a one-sided crowd cannot take more of the pool's direction than
/// that, while trades that reduce the skew always pass.
#[tokio::test]
async fn net_exposure_is_capped_at_a_share_of_the_lp_balance() {
    let mut setup = PoolSetup::default();
    setup.params.max_net_exposure_bps = 1_000; // 10 % of 200k: 20k USD
    let mut f = Fixture::with(setup).await;
    f.zero_confidence();
    f.seed_liquidity(200_000 * USDC).await;
    let a = f.new_trader(100_000 * USDC).await;
    f.open(&a, Short, 15_000 * USDC, 5_000 * USDC)
        .await
        .unwrap();
    let b = f.new_trader(100_000 * USDC).await;
    let snap = f.snapshot(&[b.token]).await;
    assert_error(
        f.open(&b, Short, 6_000 * USDC, 3_000 * USDC).await,
        TidepoolError::SkewCapExceeded,
    );
    snap.assert_unchanged(&mut f.env).await;
    // Up to the cap passes; the other side reduces the skew and passes too.
    f.open(&b, Short, 4_000 * USDC, 3_000 * USDC).await.unwrap();
    let c = f.new_trader(100_000 * USDC).await;
    f.open(&c, Long, 30_000 * USDC, 10_000 * USDC)
        .await
        .unwrap();
    f.check_invariants().await;
}
