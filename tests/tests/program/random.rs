//! Randomized sequences of instructions (seeded, reproducible): LPs, traders, price moves,
//! time, refreshes and keepers in any order. The harness checks SPEC 7 after every step that
//! went through; a step the program refuses must fail with a Tidepool or Anchor error code,
//! never a panic or an unexplained runtime error.

use tidepool::math::PRICE_PRECISION;
use tidepool::state::Side;
use tidepool_client::ix;
use tidepool_client::keeper::{assess, Action};
use tidepool_harness::*;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A refused step must say why with a program error code (or be a token-program refusal).
fn refused_cleanly(res: &TxResult) {
    if res.is_ok() {
        return;
    }
    let code = custom_error_code(res).unwrap_or_else(|| panic!("no error code: {res:?}"));
    assert!(
        code >= 6000 || (2000..6000).contains(&code) || code < 20,
        "code {code}"
    );
}

#[tokio::test]
async fn random_sequences_keep_the_books() {
    for seed in [7u64, 1_234_567, 0xdead_beef] {
        let mut rng = Rng(seed);
        let mut f = Fixture::new().await;
        let lps = [
            f.new_lp(2_000_000 * USDC).await,
            f.new_lp(2_000_000 * USDC).await,
        ];
        f.deposit(&lps[0], 500_000 * USDC, 0).await.unwrap();
        let mut traders = Vec::new();
        for _ in 0..4 {
            traders.push(f.new_trader(50_000 * USDC).await);
        }
        let keeper = f.new_keeper().await;
        let mut price = 150.0f64;
        let mut went_through = 0;
        for _ in 0..60 {
            let t = &traders[rng.below(traders.len() as u64) as usize];
            let side = if rng.below(2) == 0 {
                Side::Long
            } else {
                Side::Short
            };
            let res = match rng.below(10) {
                0 | 1 => {
                    let size = (rng.below(20_000) + 10) * USDC;
                    let collateral = (rng.below(8_000) + 1) * USDC;
                    f.open(t, side, size, collateral).await
                }
                2 => {
                    let size = if rng.below(2) == 0 {
                        u64::MAX
                    } else {
                        (rng.below(5_000) + 1) * USDC
                    };
                    f.decrease(t, side, size).await
                }
                3 => f.add_collateral(t, side, (rng.below(500) + 1) * USDC).await,
                4 => {
                    f.remove_collateral(t, side, (rng.below(500) + 1) * USDC)
                        .await
                }
                5 => {
                    let lp = &lps[rng.below(2) as usize];
                    if rng.below(2) == 0 {
                        f.deposit(lp, (rng.below(100_000) + 1) * USDC, 0).await
                    } else {
                        let held = f.env.token_balance(&lp.lp_token).await;
                        f.withdraw(lp, rng.below(held.max(1)) + 1, 0).await
                    }
                }
                6 | 7 => {
                    // Up to ±8 % a step (inside the EMA guard), some time passes.
                    price *= 1.0 + (rng.below(1_601) as f64 - 800.0) / 10_000.0;
                    f.env.advance_time(rng.below(3_600) as i64 + 1).await;
                    f.set_market_price(0, (price * 1e8) as i64).await;
                    let m = f.pool.markets[0].clone();
                    let r = f
                        .env
                        .send(&[ix::refresh_market(&f.pool.key, &m.key, &m.oracle)], &[])
                        .await;
                    f.after_step(&r).await;
                    r
                }
                _ => {
                    // The keeper acts on whatever the shared decision code says.
                    let Some(p) = f.position(t, side).await else {
                        continue;
                    };
                    let pool = f.pool_state().await;
                    let market = f.market_state(0).await;
                    let oracle = f.pool.markets[0].oracle;
                    let settle = f.pool.settlement_oracle;
                    let (px, st) = (
                        f.env.prices[&oracle].oracle_price(),
                        f.env.prices[&settle].oracle_price(),
                    );
                    let now = f.env.now().await;
                    let action = assess(&pool, &market, &p, &px, &st, now).map(|(a, _)| a);
                    match action {
                        Ok(
                            a @ (Action::Liquidate
                            | Action::ExecuteTrigger { .. }
                            | Action::DeleverageAtCap),
                        ) => f
                            .keeper_action_on(0, &keeper, t, side, a)
                            .await
                            .expect("an action"),
                        _ => {
                            let tp = (price * 1.1 * PRICE_PRECISION as f64) as u64;
                            let sl = (price * 0.9 * PRICE_PRECISION as f64) as u64;
                            let (tp, sl) = if side.is_long() { (tp, sl) } else { (sl, tp) };
                            f.set_triggers(t, side, tp, sl).await
                        }
                    }
                }
            };
            refused_cleanly(&res);
            went_through += res.is_ok() as u32;
        }
        eprintln!("seed {seed}: {went_through} of 60 steps went through");
        assert!(
            went_through >= 25,
            "the sequence mostly did things: {went_through}"
        );
        f.check_invariants().await;
    }
}
