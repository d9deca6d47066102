//! Position-health evaluations per second: the keeper's inner loop (`assess`: accrue the
//! market on a copy, margin ratios, health, triggers). Prints figures; asserts nothing.
//! `cargo bench -p tidepool-keeper`

use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, Discriminator};
use tidepool::math::oracle::OraclePrice;
use tidepool::state::{Market, Pool, Position, Side};
use tidepool_client::keeper::assess;
use tidepool_harness::{default_market_params, default_pool_params};

fn zeroed<T: AccountDeserialize + Discriminator>() -> T {
    let mut bytes = T::DISCRIMINATOR.to_vec();
    bytes.resize(4096, 0);
    T::try_deserialize(&mut &bytes[..]).expect("zero body decodes")
}

fn main() {
    let mut pool: Pool = zeroed();
    pool.params = default_pool_params();
    pool.settlement_decimals = 6;
    pool.lp_balance = 10_000_000_000_000;
    pool.total_reserved = 2_000_000_000_000;
    let mut market: Market = zeroed();
    market.params = default_market_params();
    market.last_price = 150_000_000_000;
    market.last_publish_time = 1_000;
    market.last_accrual_time = 1_000;
    market.variance = 1_000_000_000;
    market.long.open_interest_usd = 3_000_000_000_000;
    market.short.open_interest_usd = 1_000_000_000_000;
    let mut position = Position::empty(Side::Long, Pubkey::new_unique(), Pubkey::new_unique(), 0);
    position.size_base = 10_000_000_000;
    position.entry_notional_usd = 1_500_000_000;
    position.collateral = 150_000_000;
    position.reserved = 1_500_000_000;
    let settle = OraclePrice {
        spot: 1_000_000_000,
        ema: 1_000_000_000,
        confidence: 100_000,
        publish_time: 1_060,
    };

    let n = 200_000u64;
    let started = Instant::now();
    let mut liquidatable = 0u64;
    for i in 0..n {
        let spot = 120_000_000_000 + (i % 1_000) * 50_000_000; // 120..170 USD
        let price = OraclePrice {
            spot,
            ema: spot,
            confidence: spot / 2_000,
            publish_time: 1_060,
        };
        let (action, _) =
            assess(&pool, &market, &position, &price, &settle, 1_060).expect("assess");
        liquidatable += (action == tidepool_client::keeper::Action::Liquidate) as u64;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "assess: {n} position-health evaluations in {secs:.3} s = {:.0} per second ({liquidatable} liquidatable)",
        n as f64 / secs
    );
}
