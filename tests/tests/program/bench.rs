//! Not a test: the workload of `scripts/bench-cu.sh` (compute units on the SBF build) and
//! of `scripts/bench-instructions.sh`, which runs it natively under
//! `valgrind --tool=callgrind` and prints the native instruction count of every program
//! instruction. Each instruction runs here exactly once (after `Fixture::with_env`, which runs
//! `initialize`, `create_pool` and `create_market` once each), so the inclusive cost of its
//! Anchor dispatcher is the cost of one call. Ignored by `cargo test`.

use solana_sdk::signature::Signer;
use tidepool::math::PRICE_PRECISION;
use tidepool::state::Side::Long;
use tidepool_client::ix;
use tidepool_harness::*;

#[tokio::test]
#[ignore = "workload for scripts/bench-instructions.sh"]
async fn bench_instruction_costs() {
    // Every key from one seed: creating a position or an LP request searches its bump
    // from the owner's key (`find_program_address`, ~1.5k CU a try), so random keys
    // would make those costs vary from run to run.
    let env = TestEnv::start_seeded(7).await;
    let mut f = Fixture::with_env(env, PoolSetup::default()).await;
    f.check_every_step = false;
    f.zero_confidence();
    let admin = f.admin.insecure_clone();
    let lp = f.seed_liquidity(1_000_000 * USDC).await;
    f.withdraw(&lp, 1_000 * USDC, 0).await.unwrap();
    let m = f.pool.markets[0].clone();
    f.env
        .send(&[ix::refresh_market(&f.pool.key, &m.key, &m.oracle)], &[])
        .await
        .unwrap();
    let t = f.new_trader(10_000 * USDC).await;
    let keeper = f.new_keeper().await;
    f.open(&t, Long, 3_000 * USDC, 300 * USDC).await.unwrap();
    f.add_collateral(&t, Long, 10 * USDC).await.unwrap();
    f.remove_collateral(&t, Long, 10 * USDC).await.unwrap();
    f.set_triggers(&t, Long, 165 * PRICE_PRECISION, 0)
        .await
        .unwrap();
    f.quote_open(Long, 1_000 * USDC, 100 * USDC).await.unwrap();
    f.quote_decrease(&t, Long, u64::MAX).await.unwrap();
    f.health(&t, Long).await;
    f.pool_value().await;
    f.env.advance_time(120).await;
    f.decrease(&t, Long, 1_000 * USDC).await.unwrap();
    f.set_market_price(0, usd_e8(138)).await;
    f.zero_confidence();
    f.liquidate(&keeper, &t, Long).await.unwrap();
    assert!(f.position(&t, Long).await.is_some(), "partial liquidation");
    f.set_market_price(0, usd_e8(170)).await;
    f.zero_confidence();
    f.execute_trigger(&keeper, &t, Long).await.unwrap();
    let (pool, market) = (f.pool.key, m.key);
    let a = admin.pubkey();
    let admin_ixs = [
        ix::update_pool_params(&a, &pool, default_pool_params()),
        ix::update_market_params(&a, &pool, &market, default_market_params()),
        ix::set_pause_flags(&a, Some(&pool), None, 0),
        ix::transfer_admin(&a, &a),
        ix::accept_admin(&a),
    ];
    for i in admin_ixs {
        f.env.send(&[i], &[&admin]).await.unwrap();
    }
    let recipient = f.fee_recipient.insecure_clone();
    let mint = f.pool.mint;
    let account = f.env.create_token_account(&mint, &recipient.pubkey()).await;
    f.env
        .send(
            &[ix::collect_protocol_fees(
                &recipient.pubkey(),
                &pool,
                &account,
            )],
            &[&recipient],
        )
        .await
        .unwrap();
}
