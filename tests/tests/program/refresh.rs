//! `refresh_market`: permissionless, never paused, keeps the on-chain volatility estimate.

use solana_sdk::signature::Signer;
use tidepool::constants::pause;
use tidepool::error::TidepoolError;
use tidepool::events::MarketRefreshed;
use tidepool::math::volatility::{squared_log_return, update_variance, volatility_over};
use tidepool_client::ix;
use tidepool_harness::*;

/// The default market's slow and fast EWMA time constants and liquidation horizon.
fn taus() -> (u64, u64, u64) {
    let p = tidepool_client::defaults::market_params();
    (
        p.volatility_ewma_seconds as u64,
        p.fast_volatility_ewma_seconds as u64,
        p.liquidation_horizon_seconds as u64,
    )
}

async fn refresh(f: &mut Fixture) -> TxResult {
    let m = &f.pool.markets[0];
    let ixn = ix::refresh_market(&f.pool.key, &m.key, &m.oracle);
    f.env.send(&[ixn], &[]).await
}

async fn move_price(f: &mut Fixture, seconds: i64, price: i64) {
    f.env.advance_time(seconds).await;
    let oracle = f.pool.markets[0].oracle;
    f.env.update_price(&oracle, |p| {
        p.price = price;
        p.ema_price = price;
        p.conf = price as u64 / 2_000;
    });
}

#[tokio::test]
async fn volatility_follows_observed_log_returns() {
    let (slow, fast, horizon) = taus();
    let mut f = Fixture::new().await;
    refresh(&mut f).await.unwrap();
    let m = f.market_state(0).await;
    assert_eq!(
        (m.last_price, m.variance, m.fast_variance),
        (150_000_000_000, 0, 0),
        "first observation"
    );

    // +1 % an hour later.
    move_price(&mut f, 3_600, 15_150_000_000).await;
    refresh(&mut f).await.unwrap();
    let r2 = squared_log_return(150_000_000_000, 151_500_000_000).unwrap();
    let expected = update_variance(0, r2, 3_600, slow).unwrap();
    let expected_fast = update_variance(0, r2, 3_600, fast).unwrap();
    let m = f.market_state(0).await;
    assert_eq!((m.variance, m.fast_variance), (expected, expected_fast));
    assert_eq!(m.last_price, 151_500_000_000);
    assert_eq!(m.last_publish_time, f.env.now().await);

    // A quiet hour decays the estimate.
    move_price(&mut f, 3_600, 15_150_000_000).await;
    refresh(&mut f).await.unwrap();
    let decayed = update_variance(expected, 0, 3_600, slow).unwrap();
    let decayed_fast = update_variance(expected_fast, 0, 3_600, fast).unwrap();
    let m = f.market_state(0).await;
    assert_eq!((m.variance, m.fast_variance), (decayed, decayed_fast));
    assert!(decayed < expected);
    assert!(
        decayed_fast * expected < decayed * expected_fast,
        "the fast estimate forgets more of a quiet hour"
    );

    // A crash raises it sharply; the event reports it with the horizon volatility.
    move_price(&mut f, 3_600, 12_000_000_000).await;
    let m = &f.pool.markets[0];
    let ixn = ix::refresh_market(&f.pool.key, &m.key, &m.oracle);
    let inner = f.env.simulate_inner_data(&[ixn], &[]).await;
    let events = decode_events::<MarketRefreshed>(&inner);
    let r2 = squared_log_return(151_500_000_000, 120_000_000_000).unwrap();
    let crashed = update_variance(decayed, r2, 3_600, slow).unwrap();
    let crashed_fast = update_variance(decayed_fast, r2, 3_600, fast).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].variance, events[0].fast_variance),
        (crashed, crashed_fast)
    );
    assert_eq!(events[0].price, 120_000_000_000);
    // The fast estimate reacts to the crash at once, and margin uses the higher one.
    assert!(crashed_fast > crashed && crashed > 10 * expected);
    assert_eq!(
        events[0].volatility,
        volatility_over(crashed_fast, horizon).unwrap()
    );
}

#[tokio::test]
async fn the_same_update_twice_changes_no_estimate() {
    let mut f = Fixture::new().await;
    refresh(&mut f).await.unwrap();
    move_price(&mut f, 600, usd_e8(152)).await;
    refresh(&mut f).await.unwrap();
    let before = f.market_state(0).await;
    let now = f.env.now().await;
    f.env.set_time(now + 5).await;
    refresh(&mut f).await.unwrap();
    let after = f.market_state(0).await;
    assert_eq!(after.variance, before.variance);
    assert_eq!(after.last_publish_time, before.last_publish_time);
    assert_eq!(after.last_update_time, before.last_update_time + 5);
}

#[tokio::test]
async fn refresh_refuses_a_market_of_another_pool() {
    let mut f = Fixture::new().await;
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
    let m = &other.markets[0];
    let snap = f.snapshot(&[m.key]).await;
    let res = f
        .env
        .send(&[ix::refresh_market(&f.pool.key, &m.key, &m.oracle)], &[])
        .await;
    assert_error(res, TidepoolError::MarketPoolMismatch);
    snap.assert_unchanged(&mut f.env).await;
}

#[tokio::test]
async fn refresh_runs_while_everything_is_paused() {
    let mut f = Fixture::new().await;
    let admin = f.admin.insecure_clone();
    let market = f.pool.markets[0].key;
    let pool = f.pool.key;
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
    refresh(&mut f).await.unwrap();
    assert_eq!(f.market_state(0).await.last_price, 150_000_000_000);
}
