//! Admin instructions: success, each failure with its exact error, nothing moved.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use solana_sdk::instruction::InstructionError;
use solana_sdk::signature::Signer;
use tidepool::constants::{pause, ACCOUNT_VERSION, MAX_MARKETS_PER_POOL};
use tidepool::error::TidepoolError;
use tidepool::events::{MarketCreated, PoolCreated};
use tidepool::state::{Config, Market, MarketParams, Pool, PoolParams};
use tidepool_client::{ix, pda};
use tidepool_harness::*;

#[tokio::test]
async fn initialize_sets_config_once() {
    let f = Fixture::new().await;
    let mut env = f.env;
    let config: Config = env.account(&pda::config().0).await;
    assert_eq!(config.version, ACCOUNT_VERSION);
    assert_eq!(config.admin, f.admin.pubkey());
    assert_eq!(config.fee_recipient, f.fee_recipient.pubkey());
    assert_eq!(config.pending_admin, Pubkey::default());
    assert_eq!(config.pause_flags, 0);

    // A second initialize cannot take the config over.
    let intruder = env.new_user().await;
    let snap = env.snapshot(&[pda::config().0]).await;
    let res = env
        .send(
            &[ix::initialize(&intruder.pubkey(), &intruder.pubkey())],
            &[&intruder],
        )
        .await;
    // The system program refuses to allocate an account that exists: on SBF its
    // `AccountAlreadyInUse` (custom 0) surfaces; the native CPI path cannot carry a custom
    // code of 0 and reports `InvalidInstructionData`. Either way: refused.
    match custom_error_code(&res) {
        Some(0) => {}
        _ => assert_instruction_error(res, InstructionError::InvalidInstructionData),
    }
    snap.assert_unchanged(&mut env).await;
}

#[tokio::test]
async fn create_pool_sets_state_vault_and_lp_mint() {
    let mut f = Fixture::new().await;
    let pool: Pool = f.pool_state().await;
    assert_eq!(pool.version, ACCOUNT_VERSION);
    assert_eq!(pool.pool_id, 0);
    assert_eq!(pool.settlement_mint, f.pool.mint);
    assert_eq!(pool.vault, f.pool.vault);
    assert_eq!(pool.lp_mint, f.pool.lp_mint);
    assert_eq!(pool.settlement_decimals, 6);
    assert_eq!(pool.settlement_feed_id, f.pool.settlement_feed);
    assert_eq!(pool.params, PoolSetup::default().params);
    assert_eq!(pool.market_count, 1);
    assert_eq!(pool.markets[0], f.pool.markets[0].key);
    assert_eq!(
        (pool.lp_balance, pool.total_reserved, pool.locked_shares),
        (0, 0, 0)
    );

    let vault = f.env.raw_account(&f.pool.vault).await.unwrap();
    assert_eq!(vault.owner, spl_token::ID);
    let vault = spl_token::state::Account::unpack(&vault.data).unwrap();
    assert_eq!(vault.owner, f.pool.key, "vault authority is the pool PDA");
    assert_eq!(vault.mint, f.pool.mint);
    let lp_mint = f.env.raw_account(&f.pool.lp_mint).await.unwrap();
    let lp_mint = spl_token::state::Mint::unpack(&lp_mint.data).unwrap();
    assert_eq!(lp_mint.mint_authority, Some(f.pool.key).into());
    assert_eq!(lp_mint.decimals, 6);
    assert_eq!(lp_mint.supply, 0);
    f.check_invariants().await;
}

#[tokio::test]
async fn create_pool_emits_event() {
    let mut f = Fixture::new().await;
    let mint = f.env.create_mint(9).await;
    let ixn = ix::create_pool(
        &f.admin.pubkey(),
        7,
        &mint,
        feed_id(700),
        default_pool_params(),
    );
    let admin = f.admin.insecure_clone();
    let inner = f.env.simulate_inner_data(&[ixn], &[&admin]).await;
    let events = decode_events::<PoolCreated>(&inner);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.pool, pda::pool(7).0);
    assert_eq!(e.pool_id, 7);
    assert_eq!(e.settlement_mint, mint);
    assert_eq!(e.vault, pda::vault(&pda::pool(7).0).0);
    assert_eq!(e.settlement_feed_id, feed_id(700));
    assert_eq!(e.params, default_pool_params());
}

#[tokio::test]
async fn non_admin_cannot_call_admin_instructions() {
    let mut f = Fixture::new().await;
    let intruder = f.env.new_user().await;
    let who = intruder.pubkey();
    let mint = f.env.create_mint(6).await;
    let market = f.pool.markets[0].key;
    let cases = vec![
        ix::create_pool(&who, 9, &mint, feed_id(900), default_pool_params()),
        ix::create_market(
            &who,
            &f.pool.key,
            1,
            symbol("ETH-PERP"),
            feed_id(901),
            default_market_params(),
        ),
        ix::update_pool_params(&who, &f.pool.key, default_pool_params()),
        ix::update_market_params(&who, &f.pool.key, &market, default_market_params()),
        ix::set_pause_flags(&who, None, None, pause::ALL),
        ix::set_pause_flags(&who, Some(&f.pool.key), None, pause::ALL),
        ix::set_pause_flags(&who, Some(&f.pool.key), Some(&market), pause::ALL),
        ix::transfer_admin(&who, &who),
    ];
    for ixn in cases {
        let snap = f.snapshot(&[pda::pool(9).0]).await;
        let res = f.env.send(&[ixn], &[&intruder]).await;
        assert_error(res, TidepoolError::Unauthorized);
        snap.assert_unchanged(&mut f.env).await;
    }
}

#[tokio::test]
async fn admin_instructions_require_the_admin_signature() {
    let mut f = Fixture::new().await;
    let mut ixn = ix::update_pool_params(&f.admin.pubkey(), &f.pool.key, default_pool_params());
    ixn.accounts[0].is_signer = false;
    let snap = f.snapshot(&[]).await;
    let res = f.env.send(&[ixn], &[]).await;
    assert_error(res, AnchorError::AccountNotSigner);
    snap.assert_unchanged(&mut f.env).await;
}

type PoolCase = (fn(&mut PoolParams), TidepoolError);

#[tokio::test]
async fn pool_params_are_bounded_each_with_its_error() {
    let mut f = Fixture::new().await;
    let cases: Vec<PoolCase> = vec![
        (
            |p| p.settlement_oracle.max_age_seconds = 0,
            TidepoolError::InvalidOracleMaxAge,
        ),
        (
            |p| p.settlement_oracle.max_age_seconds = 3_601,
            TidepoolError::InvalidOracleMaxAge,
        ),
        (
            |p| p.settlement_oracle.max_confidence_bps = 0,
            TidepoolError::InvalidOracleConfidenceBound,
        ),
        (
            |p| p.settlement_oracle.max_confidence_bps = 1_001,
            TidepoolError::InvalidOracleConfidenceBound,
        ),
        (
            |p| p.settlement_oracle.max_ema_deviation_bps = 0,
            TidepoolError::InvalidOracleDeviationBound,
        ),
        (|p| p.max_depeg_bps = 0, TidepoolError::InvalidDepegBound),
        (
            |p| p.max_depeg_bps = 2_001,
            TidepoolError::InvalidDepegBound,
        ),
        (|p| p.deposit_fee_bps = 1_001, TidepoolError::InvalidFee),
        (|p| p.withdraw_fee_bps = 10_001, TidepoolError::InvalidFee),
        (
            |p| p.protocol_fee_share_bps = 10_001,
            TidepoolError::InvalidFee,
        ),
        (
            |p| p.max_utilization_bps = 0,
            TidepoolError::InvalidUtilization,
        ),
        (
            |p| p.max_utilization_bps = 10_001,
            TidepoolError::InvalidUtilization,
        ),
        (
            |p| p.max_pnl_factor_bps = 0,
            TidepoolError::InvalidPnlFactor,
        ),
    ];
    let mint = f.env.create_mint(6).await;
    let admin = f.admin.insecure_clone();
    for (mutate, expected) in cases {
        let mut params = default_pool_params();
        mutate(&mut params);
        // On create ...
        let snap = f.snapshot(&[pda::pool(3).0]).await;
        let res = f
            .env
            .send(
                &[ix::create_pool(
                    &admin.pubkey(),
                    3,
                    &mint,
                    feed_id(300),
                    params,
                )],
                &[&admin],
            )
            .await;
        assert_error(res, expected);
        snap.assert_unchanged(&mut f.env).await;
        // ... and on update.
        let res = f
            .env
            .send(
                &[ix::update_pool_params(&admin.pubkey(), &f.pool.key, params)],
                &[&admin],
            )
            .await;
        assert_error(res, expected);
        snap.assert_unchanged(&mut f.env).await;
    }
}

type MarketCase = (fn(&mut MarketParams), TidepoolError);

#[tokio::test]
async fn market_params_are_bounded_each_with_its_error() {
    let mut f = Fixture::new().await;
    let cases: Vec<MarketCase> = vec![
        (
            |p| p.oracle.max_age_seconds = 0,
            TidepoolError::InvalidOracleMaxAge,
        ),
        (
            |p| p.oracle.max_confidence_bps = 5_000,
            TidepoolError::InvalidOracleConfidenceBound,
        ),
        (
            |p| p.oracle.max_ema_deviation_bps = 5_001,
            TidepoolError::InvalidOracleDeviationBound,
        ),
        (
            |p| p.base_initial_margin_bps = 5_001,
            TidepoolError::InvalidMarginRatio,
        ),
        (
            |p| p.base_initial_margin_bps = 10_001,
            TidepoolError::InvalidMarginRatio,
        ),
        (
            |p| p.base_maintenance_margin_bps = 0,
            TidepoolError::InvalidMarginRatio,
        ),
        (
            |p| p.base_maintenance_margin_bps = p.base_initial_margin_bps,
            TidepoolError::InvalidMarginRatio,
        ),
        (
            |p| p.volatility_multiplier_bps = 1_000_001,
            TidepoolError::InvalidMarginMultiplier,
        ),
        (
            |p| p.pool_stress_margin_bps = 10_001,
            TidepoolError::InvalidMarginMultiplier,
        ),
        (
            |p| p.size_margin_scale_usd = 0,
            TidepoolError::InvalidMarginMultiplier,
        ),
        (
            |p| p.liquidation_horizon_seconds = 9,
            TidepoolError::InvalidVolatilityParams,
        ),
        (
            |p| p.fast_volatility_ewma_seconds = p.volatility_ewma_seconds + 1,
            TidepoolError::InvalidVolatilityParams,
        ),
        (
            |p| p.volatility_ewma_seconds = 31 * 86_400,
            TidepoolError::InvalidVolatilityParams,
        ),
        (
            |p| p.max_long_open_interest_usd = 0,
            TidepoolError::InvalidOpenInterestCap,
        ),
        (
            |p| p.max_skew_usd = 0,
            TidepoolError::InvalidOpenInterestCap,
        ),
        (
            |p| p.max_profit_factor_bps = 99,
            TidepoolError::InvalidProfitFactor,
        ),
        (
            |p| p.max_profit_factor_bps = 100_001,
            TidepoolError::InvalidProfitFactor,
        ),
        (
            |p| p.min_hold_seconds = 86_401,
            TidepoolError::InvalidMinHold,
        ),
        (|p| p.min_position_usd = 0, TidepoolError::InvalidSizeLimits),
        (|p| p.open_fee_bps = 1_001, TidepoolError::InvalidFee),
        (|p| p.close_fee_bps = 10_001, TidepoolError::InvalidFee),
        (|p| p.liquidation_fee_bps = 1_001, TidepoolError::InvalidFee),
        (
            |p| p.borrow_optimal_utilization_bps = 0,
            TidepoolError::InvalidBorrowCurve,
        ),
        (
            |p| p.borrow_slope2_bps = 1_000_001,
            TidepoolError::InvalidBorrowCurve,
        ),
        (
            |p| p.funding_rate_bps = 1_000_001,
            TidepoolError::InvalidFundingParams,
        ),
    ];
    let admin = f.admin.insecure_clone();
    let market = f.pool.markets[0].key;
    let new_market = pda::market(&f.pool.key, 1).0;
    for (mutate, expected) in cases {
        let mut params = default_market_params();
        mutate(&mut params);
        let snap = f.snapshot(&[new_market]).await;
        let res = f
            .env
            .send(
                &[ix::create_market(
                    &admin.pubkey(),
                    &f.pool.key,
                    1,
                    symbol("ETH"),
                    feed_id(5),
                    params,
                )],
                &[&admin],
            )
            .await;
        assert_error(res, expected);
        snap.assert_unchanged(&mut f.env).await;
        let res = f
            .env
            .send(
                &[ix::update_market_params(
                    &admin.pubkey(),
                    &f.pool.key,
                    &market,
                    params,
                )],
                &[&admin],
            )
            .await;
        assert_error(res, expected);
        snap.assert_unchanged(&mut f.env).await;
    }
}

#[tokio::test]
async fn zero_feed_ids_and_wide_decimals_are_refused() {
    let mut f = Fixture::new().await;
    let admin = f.admin.insecure_clone();
    let mint = f.env.create_mint(6).await;
    let snap = f.snapshot(&[pda::pool(4).0]).await;
    let res = f
        .env
        .send(
            &[ix::create_pool(
                &admin.pubkey(),
                4,
                &mint,
                [0; 32],
                default_pool_params(),
            )],
            &[&admin],
        )
        .await;
    assert_error(res, TidepoolError::InvalidFeedId);
    let res = f
        .env
        .send(
            &[ix::create_market(
                &admin.pubkey(),
                &f.pool.key,
                1,
                symbol("X"),
                [0; 32],
                default_market_params(),
            )],
            &[&admin],
        )
        .await;
    assert_error(res, TidepoolError::InvalidFeedId);
    let wide = f.env.create_mint(13).await;
    let res = f
        .env
        .send(
            &[ix::create_pool(
                &admin.pubkey(),
                4,
                &wide,
                feed_id(400),
                default_pool_params(),
            )],
            &[&admin],
        )
        .await;
    assert_error(res, TidepoolError::InvalidSettlementDecimals);
    snap.assert_unchanged(&mut f.env).await;
}

#[tokio::test]
async fn create_pool_refuses_a_fake_token_program() {
    let mut f = Fixture::new().await;
    let admin = f.admin.insecure_clone();
    let mint = f.env.create_mint(6).await;
    let mut ixn = ix::create_pool(
        &admin.pubkey(),
        5,
        &mint,
        feed_id(500),
        default_pool_params(),
    );
    let token_program = ixn
        .accounts
        .iter_mut()
        .find(|m| m.pubkey == spl_token::ID)
        .unwrap();
    token_program.pubkey = Pubkey::new_unique();
    let snap = f.snapshot(&[pda::pool(5).0]).await;
    let res = f.env.send(&[ixn], &[&admin]).await;
    assert_error(res, AnchorError::InvalidProgramId);
    snap.assert_unchanged(&mut f.env).await;
}

#[tokio::test]
async fn create_market_appends_and_caps_the_market_list() {
    let mut f = Fixture::new().await;
    let admin = f.admin.insecure_clone();
    let pool_key = f.pool.key;
    // The market's event and state.
    let ixn = ix::create_market(
        &admin.pubkey(),
        &pool_key,
        1,
        symbol("ETH-PERP"),
        feed_id(11),
        default_market_params(),
    );
    let inner = f
        .env
        .simulate_inner_data(std::slice::from_ref(&ixn), &[&admin])
        .await;
    let events = decode_events::<MarketCreated>(&inner);
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].index, events[0].market),
        (1, pda::market(&pool_key, 1).0)
    );
    f.env.send(&[ixn], &[&admin]).await.unwrap();
    let market: Market = f.env.account(&pda::market(&pool_key, 1).0).await;
    assert_eq!(market.pool, pool_key);
    assert_eq!(market.index, 1);
    assert_eq!(market.symbol, symbol("ETH-PERP"));
    assert_eq!(market.feed_id, feed_id(11));
    assert_eq!(market.params, default_market_params());
    assert_eq!(market.last_price, 0);

    // A market at the wrong index does not derive.
    let snap = f.snapshot(&[pda::market(&pool_key, 3).0]).await;
    let res = f
        .env
        .send(
            &[ix::create_market(
                &admin.pubkey(),
                &pool_key,
                3,
                symbol("BAD"),
                feed_id(12),
                default_market_params(),
            )],
            &[&admin],
        )
        .await;
    assert_error(res, AnchorError::ConstraintSeeds);
    snap.assert_unchanged(&mut f.env).await;

    for index in 2..MAX_MARKETS_PER_POOL as u8 {
        f.env
            .send(
                &[ix::create_market(
                    &admin.pubkey(),
                    &pool_key,
                    index,
                    symbol("M"),
                    feed_id(20 + index as u16),
                    default_market_params(),
                )],
                &[&admin],
            )
            .await
            .unwrap();
    }
    let pool: Pool = f.env.account(&pool_key).await;
    assert_eq!(pool.market_count as usize, MAX_MARKETS_PER_POOL);
    for i in 0..MAX_MARKETS_PER_POOL {
        assert_eq!(pool.markets[i], pda::market(&pool_key, i as u8).0);
    }
    let over = MAX_MARKETS_PER_POOL as u8;
    let snap = f.snapshot(&[pda::market(&pool_key, over).0]).await;
    let res = f
        .env
        .send(
            &[ix::create_market(
                &admin.pubkey(),
                &pool_key,
                over,
                symbol("M"),
                feed_id(99),
                default_market_params(),
            )],
            &[&admin],
        )
        .await;
    assert_error(res, TidepoolError::TooManyMarkets);
    snap.assert_unchanged(&mut f.env).await;
}

#[tokio::test]
async fn params_update_in_place() {
    let mut f = Fixture::new().await;
    let admin = f.admin.insecure_clone();
    let mut pool_params = default_pool_params();
    pool_params.max_utilization_bps = 6_000;
    pool_params.deposit_fee_bps = 0;
    f.env
        .send(
            &[ix::update_pool_params(
                &admin.pubkey(),
                &f.pool.key,
                pool_params,
            )],
            &[&admin],
        )
        .await
        .unwrap();
    assert_eq!(f.pool_state().await.params, pool_params);

    let mut market_params = default_market_params();
    market_params.base_initial_margin_bps = 1_000;
    market_params.max_skew_usd = 42 * USDC;
    let market = f.pool.markets[0].key;
    f.env
        .send(
            &[ix::update_market_params(
                &admin.pubkey(),
                &f.pool.key,
                &market,
                market_params,
            )],
            &[&admin],
        )
        .await
        .unwrap();
    assert_eq!(f.market_state(0).await.params, market_params);
    f.check_invariants().await;
}

#[tokio::test]
async fn pause_flags_target_protocol_pool_or_market() {
    let mut f = Fixture::new().await;
    let admin = f.admin.insecure_clone();
    let market = f.pool.markets[0].key;
    let pool_key = f.pool.key;
    f.env
        .send(
            &[ix::set_pause_flags(
                &admin.pubkey(),
                None,
                None,
                pause::DEPOSIT,
            )],
            &[&admin],
        )
        .await
        .unwrap();
    f.env
        .send(
            &[ix::set_pause_flags(
                &admin.pubkey(),
                Some(&pool_key),
                None,
                pause::WITHDRAW,
            )],
            &[&admin],
        )
        .await
        .unwrap();
    f.env
        .send(
            &[ix::set_pause_flags(
                &admin.pubkey(),
                Some(&pool_key),
                Some(&market),
                pause::OPEN,
            )],
            &[&admin],
        )
        .await
        .unwrap();
    let config: Config = f.env.account(&pda::config().0).await;
    assert_eq!(config.pause_flags, pause::DEPOSIT);
    assert_eq!(f.pool_state().await.pause_flags, pause::WITHDRAW);
    assert_eq!(f.market_state(0).await.pause_flags, pause::OPEN);

    // Unknown bits, a market without its pool, a market with another pool.
    let other = create_pool(
        &mut f.env,
        &admin,
        &PoolSetup {
            id: 1,
            ..PoolSetup::default()
        },
    )
    .await;
    let snap = f.snapshot(&[other.key, other.markets[0].key]).await;
    let res = f
        .env
        .send(
            &[ix::set_pause_flags(&admin.pubkey(), None, None, 1 << 15)],
            &[&admin],
        )
        .await;
    assert_error(res, TidepoolError::InvalidPauseFlags);
    let res = f
        .env
        .send(
            &[ix::set_pause_flags(
                &admin.pubkey(),
                None,
                Some(&market),
                pause::ALL,
            )],
            &[&admin],
        )
        .await;
    assert_error(res, TidepoolError::MissingPool);
    let res = f
        .env
        .send(
            &[ix::set_pause_flags(
                &admin.pubkey(),
                Some(&other.key),
                Some(&market),
                pause::ALL,
            )],
            &[&admin],
        )
        .await;
    assert_error(res, TidepoolError::MarketPoolMismatch);
    snap.assert_unchanged(&mut f.env).await;
}

#[tokio::test]
async fn admin_handover_takes_two_steps() {
    let mut f = Fixture::new().await;
    let old = f.admin.insecure_clone();
    let new = f.env.new_user().await;
    let stranger = f.env.new_user().await;

    f.env
        .send(&[ix::transfer_admin(&old.pubkey(), &new.pubkey())], &[&old])
        .await
        .unwrap();
    let config: Config = f.env.account(&pda::config().0).await;
    assert_eq!(
        (config.admin, config.pending_admin),
        (old.pubkey(), new.pubkey())
    );

    // Only the pending admin can accept.
    let snap = f.snapshot(&[]).await;
    let res = f
        .env
        .send(&[ix::accept_admin(&stranger.pubkey())], &[&stranger])
        .await;
    assert_error(res, TidepoolError::NotPendingAdmin);
    snap.assert_unchanged(&mut f.env).await;

    f.env
        .send(&[ix::accept_admin(&new.pubkey())], &[&new])
        .await
        .unwrap();
    let config: Config = f.env.account(&pda::config().0).await;
    assert_eq!(
        (config.admin, config.pending_admin),
        (new.pubkey(), Pubkey::default())
    );

    // The old admin has lost its powers; the new one has them.
    let res = f
        .env
        .send(
            &[ix::set_pause_flags(&old.pubkey(), None, None, pause::ALL)],
            &[&old],
        )
        .await;
    assert_error(res, TidepoolError::Unauthorized);
    f.env
        .send(
            &[ix::set_pause_flags(&new.pubkey(), None, None, pause::ALL)],
            &[&new],
        )
        .await
        .unwrap();

    // A proposal can be cancelled with the default key; nobody can accept it then.
    f.env
        .send(
            &[ix::transfer_admin(&new.pubkey(), &stranger.pubkey())],
            &[&new],
        )
        .await
        .unwrap();
    f.env
        .send(
            &[ix::transfer_admin(&new.pubkey(), &Pubkey::default())],
            &[&new],
        )
        .await
        .unwrap();
    let res = f
        .env
        .send(&[ix::accept_admin(&stranger.pubkey())], &[&stranger])
        .await;
    assert_error(res, TidepoolError::NotPendingAdmin);
}
