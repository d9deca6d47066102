//! SPEC 4 / 8: every way a Pyth price can be unusable is refused with its own error and
//! moves nothing. Market prices are exercised through `refresh_market`, the settlement
//! price through `deposit_liquidity`, and market prices again through LP withdrawal.

use anchor_lang::prelude::Pubkey;
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use tidepool::constants::ORACLE_MAX_FUTURE_SECONDS;
use tidepool::error::TidepoolError;
use tidepool_client::ix;
use tidepool_harness::*;

async fn refresh(f: &mut Fixture) -> TxResult {
    let m = &f.pool.markets[0];
    let ixn = ix::refresh_market(&f.pool.key, &m.key, &m.oracle);
    f.env.send(&[ixn], &[]).await
}

/// Apply `mutate` to the market's price, refresh, and expect `expected` with nothing moved.
async fn refresh_fails_with(
    f: &mut Fixture,
    mutate: impl FnOnce(&mut PriceState),
    expected: TidepoolError,
) {
    let oracle = f.pool.markets[0].oracle;
    let saved = f.env.prices[&oracle];
    f.env.update_price(&oracle, mutate);
    let snap = f.snapshot(&[]).await;
    let res = refresh(f).await;
    assert_error(res, expected);
    snap.assert_unchanged(&mut f.env).await;
    f.env.set_price(&oracle, saved);
}

#[tokio::test]
async fn a_valid_price_is_accepted() {
    let mut f = Fixture::new().await;
    refresh(&mut f).await.unwrap();
    let m = f.market_state(0).await;
    assert_eq!(m.last_price, 150_000_000_000);
    assert_eq!(m.last_publish_time, f.env.now().await);
}

#[tokio::test]
async fn wrong_owner_or_discriminator_is_refused() {
    let mut f = Fixture::new().await;
    let oracle = f.pool.markets[0].oracle;
    let good = f.env.prices[&oracle].to_account();

    // Same bytes, owned by someone else.
    let mut fake = good.clone();
    fake.owner = Pubkey::new_unique();
    f.env.set_account(&oracle, fake);
    let snap = f.snapshot(&[]).await;
    assert_error(refresh(&mut f).await, TidepoolError::OracleWrongOwner);
    snap.assert_unchanged(&mut f.env).await;

    // Right owner, wrong discriminator.
    let mut fake = good.clone();
    fake.data[0] ^= 0xff;
    f.env.set_account(&oracle, fake);
    assert_error(refresh(&mut f).await, TidepoolError::OracleInvalidAccount);
    // Right owner, truncated.
    let mut fake = good;
    fake.data.truncate(40);
    f.env.set_account(&oracle, fake);
    assert_error(refresh(&mut f).await, TidepoolError::OracleInvalidAccount);
    snap.assert_unchanged(&mut f.env).await;
}

#[tokio::test]
async fn another_feeds_update_is_refused() {
    let mut f = Fixture::new().await;
    // A perfectly valid update, for the settlement token's feed.
    let m = f.pool.markets[0].key;
    let snap = f.snapshot(&[]).await;
    let res = f
        .env
        .send(
            &[ix::refresh_market(
                &f.pool.key,
                &m,
                &f.pool.settlement_oracle,
            )],
            &[],
        )
        .await;
    assert_error(res, TidepoolError::OracleFeedMismatch);
    snap.assert_unchanged(&mut f.env).await;
}

#[tokio::test]
async fn partial_verification_is_refused() {
    let mut f = Fixture::new().await;
    refresh_fails_with(
        &mut f,
        |p| p.verification = VerificationLevel::Partial { num_signatures: 12 },
        TidepoolError::OracleNotFullyVerified,
    )
    .await;
}

#[tokio::test]
async fn age_is_bounded_on_both_sides() {
    let mut f = Fixture::new().await;
    let now = f.env.now().await;
    let max_age = default_market_params().oracle.max_age_seconds as i64;
    refresh_fails_with(
        &mut f,
        |p| p.publish_time = now - max_age - 1,
        TidepoolError::OracleStale,
    )
    .await;
    refresh_fails_with(
        &mut f,
        |p| p.publish_time = now + ORACLE_MAX_FUTURE_SECONDS + 1,
        TidepoolError::OracleFutureDated,
    )
    .await;
    // Exactly at both bounds is fine.
    let oracle = f.pool.markets[0].oracle;
    f.env
        .update_price(&oracle, |p| p.publish_time = now - max_age);
    refresh(&mut f).await.unwrap();
    f.env.update_price(&oracle, |p| {
        p.publish_time = now + ORACLE_MAX_FUTURE_SECONDS
    });
    refresh(&mut f).await.unwrap();
    assert_eq!(
        f.market_state(0).await.last_publish_time,
        now + ORACLE_MAX_FUTURE_SECONDS
    );
}

#[tokio::test]
async fn an_update_older_than_the_last_used_is_refused() {
    let mut f = Fixture::new().await;
    let now = f.env.now().await;
    refresh(&mut f).await.unwrap();
    // Still fresh by max age, but older than what the market already used.
    refresh_fails_with(
        &mut f,
        |p| p.publish_time = now - 1,
        TidepoolError::OracleOlderThanLastUsed,
    )
    .await;
    // The same update again is fine (nothing newer exists yet).
    refresh(&mut f).await.unwrap();
}

#[tokio::test]
async fn non_positive_prices_are_refused() {
    let mut f = Fixture::new().await;
    refresh_fails_with(
        &mut f,
        |p| p.price = 0,
        TidepoolError::OracleNonPositivePrice,
    )
    .await;
    refresh_fails_with(
        &mut f,
        |p| p.price = -5,
        TidepoolError::OracleNonPositivePrice,
    )
    .await;
    refresh_fails_with(
        &mut f,
        |p| p.ema_price = 0,
        TidepoolError::OracleNonPositivePrice,
    )
    .await;
    // Positive but below the program's 1e-9 precision.
    refresh_fails_with(
        &mut f,
        |p| {
            p.price = 5;
            p.ema_price = 5;
            p.conf = 0;
            p.expo = -12;
        },
        TidepoolError::OracleNonPositivePrice,
    )
    .await;
}

#[tokio::test]
async fn confidence_bound_is_exact() {
    let mut f = Fixture::new().await;
    let oracle = f.pool.markets[0].oracle;
    let price = usd_e8(150) as u64;
    let max_bps = default_market_params().oracle.max_confidence_bps as u64;
    let at_bound = price * max_bps / 10_000;
    refresh_fails_with(
        &mut f,
        |p| p.conf = at_bound + 1,
        TidepoolError::OracleConfidenceTooWide,
    )
    .await;
    f.env.update_price(&oracle, |p| p.conf = at_bound);
    refresh(&mut f).await.unwrap();
}

#[tokio::test]
async fn ema_divergence_bound_is_exact() {
    let mut f = Fixture::new().await;
    let oracle = f.pool.markets[0].oracle;
    let ema = usd_e8(150);
    let max_bps = default_market_params().oracle.max_ema_deviation_bps as i64;
    let at_bound = ema + ema * max_bps / 10_000;
    refresh_fails_with(
        &mut f,
        |p| p.price = at_bound + 1,
        TidepoolError::OracleEmaDivergence,
    )
    .await;
    let below = ema - ema * max_bps / 10_000;
    refresh_fails_with(
        &mut f,
        |p| p.price = below - 1,
        TidepoolError::OracleEmaDivergence,
    )
    .await;
    f.env.update_price(&oracle, |p| p.price = at_bound);
    refresh(&mut f).await.unwrap();
}

#[tokio::test]
async fn absurd_exponents_are_refused() {
    let mut f = Fixture::new().await;
    refresh_fails_with(
        &mut f,
        |p| p.expo = 11,
        TidepoolError::OracleInvalidExponent,
    )
    .await;
    refresh_fails_with(
        &mut f,
        |p| p.expo = -40,
        TidepoolError::OracleInvalidExponent,
    )
    .await;
}

#[tokio::test]
async fn settlement_oracle_failures_stop_lp_deposits() {
    let mut f = Fixture::new().await;
    let lp = f.new_lp(1_000 * USDC).await;
    let settle = f.pool.settlement_oracle;
    let saved = f.env.prices[&settle];
    let now = f.env.now().await;
    type Case = (Box<dyn Fn(&mut PriceState)>, TidepoolError);
    let cases: Vec<Case> = vec![
        (
            Box::new(move |p| p.publish_time = now - 61),
            TidepoolError::OracleStale,
        ),
        (
            Box::new(|p| p.verification = VerificationLevel::Partial { num_signatures: 5 }),
            TidepoolError::OracleNotFullyVerified,
        ),
        (
            Box::new(|p| p.feed_id = feed_id(4242)),
            TidepoolError::OracleFeedMismatch,
        ),
        (
            Box::new(|p| p.conf = p.price as u64 / 50),
            TidepoolError::OracleConfidenceTooWide,
        ),
        (
            Box::new(|p| p.price = -1),
            TidepoolError::OracleNonPositivePrice,
        ),
    ];
    for (mutate, expected) in cases {
        f.env.update_price(&settle, |p| mutate(p));
        let snap = f.snapshot(&Fixture::lp_keys(&lp)).await;
        assert_error(f.deposit(&lp, 100 * USDC, 0).await, expected);
        snap.assert_unchanged(&mut f.env).await;
        f.env.set_price(&settle, saved);
    }
    f.deposit(&lp, 100 * USDC, 0).await.unwrap();
    f.check_invariants().await;
}

#[tokio::test]
async fn market_oracle_failures_stop_lp_withdrawals() {
    let mut f = Fixture::new().await;
    let lp = f.new_lp(1_000 * USDC).await;
    f.deposit(&lp, 1_000 * USDC, 0).await.unwrap();
    let oracle = f.pool.markets[0].oracle;
    f.env.advance_time(120).await;
    let now = f.env.now().await;
    f.env.update_price(&oracle, |p| p.publish_time = now - 61);
    let snap = f.snapshot(&Fixture::lp_keys(&lp)).await;
    assert_error(f.withdraw(&lp, 1_000, 0).await, TidepoolError::OracleStale);
    snap.assert_unchanged(&mut f.env).await;
    // With a fresh price the same withdrawal goes through.
    f.env.update_price(&oracle, |p| p.publish_time = now);
    f.withdraw(&lp, 1_000, 0).await.unwrap();
    f.check_invariants().await;
}
