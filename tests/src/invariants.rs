//! SPEC section 7, checked from outside after every step.

use anchor_lang::AccountDeserialize;
use tidepool::engine::pool_value::PoolValueView;
use tidepool::state::{Market, Pool, Position};

use anchor_lang::prelude::Pubkey;

use crate::env::TestEnv;
use crate::setup::PoolFixture;

/// 1. vault = LP balance + Σ collateral + protocol fees owed + pending deposits (+ donations,
///    tracked apart);
/// 2. Σ reserved ≤ max utilization × LP balance;
/// 3. the pool's totals equal the sums over its markets' sides, and every side's open
///    interest, entry notional, collateral and reserves equal the sums over its positions.
pub async fn check_invariants(env: &mut TestEnv, fixture: &PoolFixture) {
    let pool: Pool = env.account(&fixture.key).await;
    let vault = env.token_balance(&fixture.vault).await;
    let donated = env.donations.get(&fixture.vault).copied().unwrap_or(0);
    assert_eq!(
        vault as u128,
        pool.lp_balance as u128
            + pool.total_collateral as u128
            + pool.protocol_fees_owed as u128
            + pool.pending_deposits as u128
            + donated as u128,
        "vault balance must equal LP balance + collateral + protocol fees + pending deposits (+ donations)"
    );
    assert!(
        pool.total_reserved as u128 * 10_000
            <= pool.params.max_utilization_bps as u128 * pool.lp_balance as u128,
        "reserved {} exceeds max utilization of LP balance {}",
        pool.total_reserved,
        pool.lp_balance
    );
    let (mut collateral, mut reserved) = (0u128, 0u128);
    assert_eq!(pool.market_count as usize, fixture.markets.len());
    for m in &fixture.markets {
        let market: Market = env.account(&m.key).await;
        assert_eq!(market.pool, fixture.key);
        for side in [&market.long, &market.short] {
            collateral += side.total_collateral as u128;
            reserved += side.total_reserved as u128;
        }
    }
    assert_eq!(
        collateral, pool.total_collateral as u128,
        "Σ market collateral"
    );
    assert_eq!(reserved, pool.total_reserved as u128, "Σ market reserves");

    // Σ over positions, per market and side: [size, notional, collateral, reserved, count].
    let mut sums = std::collections::HashMap::<(Pubkey, bool), [u128; 5]>::new();
    let keys: Vec<Pubkey> = env.positions.iter().copied().collect();
    for key in keys {
        let Some(acc) = env.raw_account(&key).await else {
            continue;
        };
        if acc.owner != tidepool::ID || acc.data.is_empty() {
            continue;
        }
        let p = Position::try_deserialize(&mut &acc.data[..]).expect("position decodes");
        let s = sums.entry((p.market, p.is_long())).or_default();
        s[0] += p.size_base as u128;
        s[1] += p.entry_notional_usd as u128;
        s[2] += p.collateral as u128;
        s[3] += p.reserved as u128;
        s[4] += 1;
    }
    for m in &fixture.markets {
        let market: Market = env.account(&m.key).await;
        for (is_long, side) in [(true, &market.long), (false, &market.short)] {
            let s = sums.get(&(m.key, is_long)).copied().unwrap_or_default();
            let got = [
                side.open_interest_base as u128,
                side.open_interest_usd as u128,
                side.total_collateral as u128,
                side.total_reserved as u128,
                side.position_count as u128,
            ];
            let name = if is_long { "long" } else { "short" };
            assert_eq!(got, s, "market {} {name} side equals Σ positions", m.key);
        }
    }
}

/// Invariant 4: the share price an LP can withdraw at never falls through LP deposits
/// and withdrawals alone (`value_after / supply_after >= value_before / supply_before`).
#[track_caller]
pub fn assert_share_price_not_lower(before: &PoolValueView, after: &PoolValueView) {
    if before.share_supply == 0 {
        return;
    }
    assert!(
        after.pool_value_min as u128 * before.share_supply as u128
            >= before.pool_value_min as u128 * after.share_supply as u128,
        "share price fell: {before:?} -> {after:?}"
    );
}
