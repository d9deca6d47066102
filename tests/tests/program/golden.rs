//! Golden vectors for the TypeScript client (app/): every instruction as the Rust client
//! builds it (accounts and data), and the raw bytes of a Config, Pool, Market and Position
//! taken from the runtime after real instructions, with the values they must decode to.
//! Written to `app/test/fixtures/`; `npm test` in app/ compares the generated client
//! against them byte for byte.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use base64::Engine;
use serde_json::{json, Value};
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::Signer;
use tidepool::state::{Config, LiquidityRequest, Market, Pool, Position, Side};
use tidepool_client::ix::{self, KeeperCloseKeys, MarketKeys, MarketOracle, PoolKeys};
use tidepool_client::pda;
use tidepool_harness::*;

fn key(n: u8) -> Pubkey {
    Pubkey::new_from_array([n; 32])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn vector(name: &str, args: Value, ix: Instruction) -> Value {
    json!({
        "name": name,
        "args": args,
        "accounts": ix.accounts.iter().map(|m| json!({
            "pubkey": m.pubkey.to_string(),
            "isSigner": m.is_signer,
            "isWritable": m.is_writable,
        })).collect::<Vec<_>>(),
        "data": hex(&ix.data),
    })
}

/// u64 as a string (JSON numbers lose precision past 2^53).
fn n(v: u64) -> Value {
    Value::String(v.to_string())
}

fn bytes_json(b: &[u8]) -> Value {
    Value::Array(b.iter().map(|x| json!(x)).collect())
}

fn oracle_json(o: &tidepool::state::OracleGuards) -> Value {
    json!({ "max_age_seconds": o.max_age_seconds, "max_confidence_bps": o.max_confidence_bps, "max_ema_deviation_bps": o.max_ema_deviation_bps })
}

fn pool_params_json(p: &tidepool::state::PoolParams) -> Value {
    json!({
        "settlement_oracle": oracle_json(&p.settlement_oracle),
        "max_depeg_bps": p.max_depeg_bps,
        "deposit_fee_bps": p.deposit_fee_bps,
        "withdraw_fee_bps": p.withdraw_fee_bps,
        "max_utilization_bps": p.max_utilization_bps,
        "max_pnl_factor_bps": p.max_pnl_factor_bps,
        "max_net_exposure_bps": p.max_net_exposure_bps,
        "protocol_fee_share_bps": p.protocol_fee_share_bps,
        "lp_request_delay_seconds": p.lp_request_delay_seconds,
        "lp_request_keeper_fee_lamports": n(p.lp_request_keeper_fee_lamports),
    })
}

fn market_params_json(p: &tidepool::state::MarketParams) -> Value {
    json!({
        "oracle": oracle_json(&p.oracle),
        "base_initial_margin_bps": p.base_initial_margin_bps,
        "base_maintenance_margin_bps": p.base_maintenance_margin_bps,
        "volatility_multiplier_bps": p.volatility_multiplier_bps,
        "pool_stress_margin_bps": p.pool_stress_margin_bps,
        "size_margin_bps": p.size_margin_bps,
        "size_margin_scale_usd": n(p.size_margin_scale_usd),
        "liquidation_horizon_seconds": p.liquidation_horizon_seconds,
        "volatility_ewma_seconds": p.volatility_ewma_seconds,
        "fast_volatility_ewma_seconds": p.fast_volatility_ewma_seconds,
        "max_long_open_interest_usd": n(p.max_long_open_interest_usd),
        "max_short_open_interest_usd": n(p.max_short_open_interest_usd),
        "max_skew_usd": n(p.max_skew_usd),
        "max_profit_factor_bps": p.max_profit_factor_bps,
        "min_hold_seconds": p.min_hold_seconds,
        "min_position_usd": n(p.min_position_usd),
        "open_fee_bps": p.open_fee_bps,
        "close_fee_bps": p.close_fee_bps,
        "base_spread_bps": p.base_spread_bps,
        "confidence_spread_bps": p.confidence_spread_bps,
        "borrow_base_rate_bps": p.borrow_base_rate_bps,
        "borrow_optimal_utilization_bps": p.borrow_optimal_utilization_bps,
        "borrow_slope1_bps": p.borrow_slope1_bps,
        "borrow_slope2_bps": p.borrow_slope2_bps,
        "funding_rate_bps": p.funding_rate_bps,
        "liquidation_fee_bps": p.liquidation_fee_bps,
        "keeper_fee_usd": n(p.keeper_fee_usd),
    })
}

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../app/test/fixtures")
}

#[tokio::test]
async fn write_golden_vectors_for_the_typescript_client() {
    let (admin, owner, keeper, mint) = (key(1), key(2), key(3), key(4));
    let pool = pda::pool(3).0;
    let market = pda::market(&pool, 0).0;
    let (price, settle, token, lp_token) = (key(5), key(6), key(7), key(8));
    let pool_params = default_pool_params();
    let market_params = default_market_params();
    let pool_keys = PoolKeys {
        pool,
        settlement_mint: mint,
        settlement_price_update: settle,
        markets: vec![MarketOracle {
            market,
            price_update: price,
        }],
    };
    let m = MarketKeys {
        pool,
        market,
        price_update: price,
        settlement_price_update: settle,
    };
    let position = m.position(&owner, Side::Short);
    let k = KeeperCloseKeys {
        keeper,
        market: m,
        position,
        owner,
        owner_token_account: token,
        keeper_token_account: key(9),
    };
    let feed = [0xab; 32];
    let sym = symbol("SOL-PERP");
    let vectors = vec![
        vector(
            "initialize",
            json!({ "fee_recipient": key(10).to_string() }),
            ix::initialize(&admin, &key(10)),
        ),
        vector(
            "create_pool",
            json!({ "pool_id": 3, "settlement_feed_id": bytes_json(&feed), "params": pool_params_json(&pool_params) }),
            ix::create_pool(&admin, 3, &mint, feed, pool_params),
        ),
        vector(
            "create_market",
            json!({ "symbol": bytes_json(&sym), "feed_id": bytes_json(&feed), "params": market_params_json(&market_params) }),
            ix::create_market(&admin, &pool, 0, sym, feed, market_params),
        ),
        vector(
            "update_pool_params",
            json!({ "params": pool_params_json(&pool_params) }),
            ix::update_pool_params(&admin, &pool, pool_params),
        ),
        vector(
            "update_market_params",
            json!({ "params": market_params_json(&market_params) }),
            ix::update_market_params(&admin, &pool, &market, market_params),
        ),
        vector(
            "set_pause_flags",
            json!({ "flags": 5 }),
            ix::set_pause_flags(&admin, Some(&pool), None, 5),
        ),
        vector(
            "transfer_admin",
            json!({ "new_admin": key(11).to_string() }),
            ix::transfer_admin(&admin, &key(11)),
        ),
        vector("accept_admin", json!({}), ix::accept_admin(&key(11))),
        vector(
            "collect_protocol_fees",
            json!({}),
            ix::collect_protocol_fees(&key(10), &pool, &token),
        ),
        vector(
            "deposit_liquidity",
            json!({ "amount": n(1_000_000_000), "min_shares_out": n(990_000_000) }),
            ix::deposit_liquidity(
                &owner,
                &pool_keys,
                &token,
                &lp_token,
                1_000_000_000,
                990_000_000,
            ),
        ),
        vector(
            "execute_liquidity_request",
            json!({}),
            ix::execute_liquidity_request(&keeper, &pool_keys, &owner, &lp_token),
        ),
        vector(
            "cancel_liquidity_request",
            json!({}),
            ix::cancel_liquidity_request(&owner, &pool, &token),
        ),
        vector(
            "withdraw_liquidity",
            json!({ "shares": n(5_000_000), "min_amount_out": n(4_000_000) }),
            ix::withdraw_liquidity(&owner, &pool_keys, &lp_token, &token, 5_000_000, 4_000_000),
        ),
        vector(
            "open_position",
            json!({ "side": "Short", "size_usd": n(1_500_000_000), "collateral": n(150_000_000), "acceptable_price": n(149_000_000_000) }),
            ix::open_position(
                &owner,
                &m,
                &token,
                Side::Short,
                1_500_000_000,
                150_000_000,
                149_000_000_000,
            ),
        ),
        vector(
            "decrease_position",
            json!({ "size_usd": n(u64::MAX), "acceptable_price": n(151_000_000_000), "min_amount_out": n(1) }),
            ix::decrease_position(
                &owner,
                &m,
                Side::Short,
                &token,
                u64::MAX,
                151_000_000_000,
                1,
            ),
        ),
        vector(
            "add_collateral",
            json!({ "amount": n(7) }),
            ix::add_collateral(&owner, &m, Side::Short, &token, 7),
        ),
        vector(
            "remove_collateral",
            json!({ "amount": n(8) }),
            ix::remove_collateral(&owner, &m, Side::Short, &token, 8),
        ),
        vector(
            "set_trigger_orders",
            json!({ "take_profit_price": n(120_000_000_000), "stop_loss_price": n(160_000_000_000) }),
            ix::set_trigger_orders(
                &owner,
                &market,
                Side::Short,
                120_000_000_000,
                160_000_000_000,
            ),
        ),
        vector(
            "refresh_market",
            json!({}),
            ix::refresh_market(&pool, &market, &price),
        ),
        vector("liquidate", json!({}), ix::liquidate(&k)),
        vector(
            "execute_trigger_order",
            json!({}),
            ix::execute_trigger_order(&k),
        ),
        vector(
            "auto_deleverage",
            json!({}),
            ix::auto_deleverage(&k, &pool_keys.markets),
        ),
        vector("get_pool_value", json!({}), ix::get_pool_value(&pool_keys)),
        vector(
            "quote_open_position",
            json!({ "side": "Long", "size_usd": n(10), "collateral": n(20) }),
            ix::quote_open_position(&m, None, Side::Long, 10, 20),
        ),
        vector(
            "quote_decrease_position",
            json!({ "size_usd": n(30) }),
            ix::quote_decrease_position(&m, &position, 30),
        ),
        vector(
            "get_position_health",
            json!({}),
            ix::get_position_health(&m, &position),
        ),
    ];

    // Accounts as the runtime holds them after real instructions.
    let mut f = Fixture::new().await;
    f.zero_confidence();
    f.seed_liquidity(100_000 * USDC).await;
    let t = f.new_trader(1_000 * USDC).await;
    f.open(&t, Side::Long, 1_500 * USDC, 150 * USDC)
        .await
        .unwrap();
    f.set_triggers(&t, Side::Long, 0, 140_000_000_000)
        .await
        .unwrap();
    let lp = f.new_lp(1_000 * USDC).await;
    f.request_deposit(&lp, 1_000 * USDC, 0).await.unwrap();
    let request_key = pda::lp_request(&f.pool.key, &lp.user.pubkey()).0;
    let b64 = |d: &[u8]| base64::engine::general_purpose::STANDARD.encode(d);
    let config_key = pda::config().0;
    let raw = |a: Option<solana_sdk::account::Account>| a.expect("account").data;
    let config_bytes = raw(f.env.raw_account(&config_key).await);
    let pool_bytes = raw(f.env.raw_account(&f.pool.key).await);
    let market_key = f.pool.markets[0].key;
    let market_bytes = raw(f.env.raw_account(&market_key).await);
    let position_key = f.position_key(&t, Side::Long);
    let position_bytes = raw(f.env.raw_account(&position_key).await);
    let request_bytes = raw(f.env.raw_account(&request_key).await);
    let request: LiquidityRequest = f.env.account(&request_key).await;
    let config: Config = f.env.account(&config_key).await;
    let p: Pool = f.pool_state().await;
    let mk: Market = f.market_state(0).await;
    let pos: Position = f.position(&t, Side::Long).await.unwrap();
    let accounts = json!([
        { "name": "Config", "data": b64(&config_bytes), "expect": {
            "admin": config.admin.to_string(), "feeRecipient": config.fee_recipient.to_string(), "version": config.version } },
        { "name": "Pool", "data": b64(&pool_bytes), "expect": {
            "poolId": p.pool_id, "settlementMint": p.settlement_mint.to_string(), "lpBalance": n(p.lp_balance),
            "totalReserved": n(p.total_reserved), "totalCollateral": n(p.total_collateral), "marketCount": p.market_count,
            "params.maxUtilizationBps": p.params.max_utilization_bps } },
        { "name": "Market", "data": b64(&market_bytes), "expect": {
            "pool": mk.pool.to_string(), "symbol": bytes_json(&mk.symbol), "lastPrice": n(mk.last_price),
            "long.openInterestUsd": n(mk.long.open_interest_usd), "variance": mk.variance.to_string(),
            "cumulativeBorrowIndex": mk.cumulative_borrow_index.to_string() } },
        { "name": "Position", "data": b64(&position_bytes), "expect": {
            "owner": pos.owner.to_string(), "market": pos.market.to_string(), "side": "Long",
            "sizeBase": n(pos.size_base), "entryNotionalUsd": n(pos.entry_notional_usd), "collateral": n(pos.collateral),
            "reserved": n(pos.reserved), "stopLossPrice": n(pos.stop_loss_price) } },
        { "name": "LiquidityRequest", "data": b64(&request_bytes), "expect": {
            "owner": request.owner.to_string(), "pool": request.pool.to_string(), "kind": "Deposit",
            "amount": n(request.amount), "receiver": request.receiver.to_string(),
            "requestTime": n(request.request_time as u64), "poolValue": n(request.pool_value),
            "shareSupply": n(request.share_supply) } },
    ]);
    assert_eq!(position_bytes.len(), Position::SIZE);
    assert_eq!(t.user.pubkey(), pos.owner);

    let dir = fixtures_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("instructions.json"),
        serde_json::to_string_pretty(&vectors).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("accounts.json"),
        serde_json::to_string_pretty(&accounts).unwrap(),
    )
    .unwrap();
    assert_eq!(vectors.len(), 26, "every instruction of the program");
}
