//! The security review's findings (issue "close the ten holes"), one test (or more) each,
//! named after the finding. Every refused call asserts that nothing moved.

use anchor_lang::prelude::Pubkey;
use solana_sdk::signature::Signer;
use tidepool::constants::pause;
use tidepool::error::TidepoolError;
use tidepool::math::rates::{borrow_rate_bps, index_delta};
use tidepool::math::shares::quote_deposit;
use tidepool::math::PRICE_PRECISION;
use tidepool::state::Side::{Long, Short};
use tidepool::state::{LiquidityRequest, Market};
use tidepool_client::{ix, pda};
use tidepool_harness::*;

/// A pool without LP fees, confidence or EMA lag: amounts can be compared to the unit.
async fn fee_free(setup: impl FnOnce(&mut PoolSetup)) -> Fixture {
    let mut s = PoolSetup::default();
    s.params.deposit_fee_bps = 0;
    s.params.withdraw_fee_bps = 0;
    s.markets[0].params.oracle.max_ema_deviation_bps = 2_000;
    setup(&mut s);
    let mut f = Fixture::with(s).await;
    f.zero_confidence();
    f
}

/// Move market 0's spot to `dollars_e8`, the EMA to `ema_e8`, zero confidence, dated now.
async fn post_price(f: &mut Fixture, dollars_e8: i64, ema_e8: i64) {
    let now = f.env.now().await;
    let oracle = f.pool.markets[0].oracle;
    f.env.update_price(&oracle, |p| {
        p.price = dollars_e8;
        p.ema_price = ema_e8;
        p.conf = 0;
        p.publish_time = now;
    });
}

async fn withdraw_all(f: &mut Fixture, lp: &Lp) -> u64 {
    let before = f.env.token_balance(&lp.token).await;
    let shares = f.env.token_balance(&lp.lp_token).await;
    f.withdraw(lp, shares, 0).await.unwrap();
    f.env.token_balance(&lp.token).await - before
}

/// Two LPs of 100k each holding exactly as many shares (the first deposit locked its
/// minimum; the second LP gives its surplus away).
async fn equal_lps(f: &mut Fixture) -> (Lp, Lp) {
    let first = f.seed_liquidity(100_000 * USDC).await;
    let second = f.new_lp(100_000 * USDC).await;
    f.deposit(&second, 100_000 * USDC, 0).await.unwrap();
    let extra =
        f.env.token_balance(&second.lp_token).await - f.env.token_balance(&first.lp_token).await;
    let burner = f.new_lp(0).await;
    f.env
        .transfer_tokens(&second.lp_token, &burner.lp_token, &second.user, extra)
        .await
        .unwrap();
    (first, second)
}

/// Three 10x longs of 100k USD each at $150.
async fn leveraged_longs(f: &mut Fixture) -> Vec<Trader> {
    let mut traders = Vec::new();
    for _ in 0..3 {
        let t = f.new_trader(20_000 * USDC).await;
        f.open(&t, Long, 100_000 * USDC, 10_000 * USDC)
            .await
            .unwrap();
        traders.push(t);
    }
    traders
}

// ---- 1. sandwiching a known price jump --------------------------------------------------

/// Finding 1, deposit side: an LP who knows that a −10 % jump is coming (the traders, all
/// long, lose; the pool gains) requests a deposit against the pre-jump update. The request
/// can only execute with prices published after the jump, so the attacker ends up with
/// exactly what an honest LP who deposited at the same moment gets, and the jump's gain
/// stays with the LPs who carried the risk before it.
#[tokio::test]
async fn audit_1_lp_cannot_sandwich_a_known_drop() {
    let mut f = fee_free(|_| {}).await;
    let incumbent = f.seed_liquidity(1_000_000 * USDC).await;
    let longs = leveraged_longs(&mut f).await;
    let keeper = f.new_keeper().await;
    let attacker = f.new_lp(1_000_000 * USDC).await;
    let honest = f.new_lp(1_000_000 * USDC).await;
    let price_before = f.pool_value().await.share_price_min;

    // Both request against the last (pre-jump) update.
    f.request_deposit(&attacker, 1_000_000 * USDC, 0)
        .await
        .unwrap();
    f.request_deposit(&honest, 1_000_000 * USDC, 0)
        .await
        .unwrap();
    // The jump is published (EMA still at the old price) and the losers are liquidated.
    post_price(&mut f, usd_e8(135), usd_e8(150)).await;
    for t in &longs {
        f.liquidate(&keeper, t, Long).await.unwrap();
    }
    f.wait_request_delay().await;
    f.execute_request(&attacker, &attacker.lp_token)
        .await
        .unwrap();
    f.execute_request(&honest, &honest.lp_token).await.unwrap();
    // The EMA catches up; both leave.
    f.env.advance_time(600).await;
    post_price(&mut f, usd_e8(135), usd_e8(135)).await;
    let attacker_out = withdraw_all(&mut f, &attacker).await;
    let honest_out = withdraw_all(&mut f, &honest).await;

    assert!(
        attacker_out <= honest_out,
        "the attacker ({attacker_out}) gained more than an honest LP ({honest_out})"
    );
    assert!(
        attacker_out <= 1_000_000 * USDC,
        "the attacker gained from a jump it joined after: {attacker_out}"
    );
    let price_after = f.pool_value().await.share_price_min;
    assert!(
        price_after > price_before,
        "the jump's gain went to the LPs who were there before it"
    );
    assert!(f.env.token_balance(&incumbent.lp_token).await > 0);
    f.check_invariants().await;
}

/// Finding 1, withdrawal side: an LP who knows that a +10 % jump is coming (the longs win,
/// the pool loses) requests a withdrawal against the pre-jump update. It is paid at the
/// post-jump value, like an honest LP who asked at the same moment.
#[tokio::test]
async fn audit_1_lp_cannot_escape_a_known_rise() {
    let mut f = fee_free(|_| {}).await;
    let attacker = f.seed_liquidity(1_000_000 * USDC).await;
    let honest = f.new_lp(1_000_000 * USDC).await;
    f.deposit(&honest, 1_000_000 * USDC, 0).await.unwrap();
    // Equal shares, each less than half the liquidity the longs leave free.
    let shares = 400_000 * USDC;
    leveraged_longs(&mut f).await;
    let pre_jump = f.pool_value().await;

    let before = [
        f.env.token_balance(&attacker.token).await,
        f.env.token_balance(&honest.token).await,
    ];
    f.request_withdrawal(&attacker, shares, 0).await.unwrap();
    f.request_withdrawal(&honest, shares, 0).await.unwrap();
    post_price(&mut f, usd_e8(165), usd_e8(150)).await;
    f.wait_request_delay().await;
    f.execute_request(&attacker, &attacker.token).await.unwrap();
    f.execute_request(&honest, &honest.token).await.unwrap();
    let attacker_out = f.env.token_balance(&attacker.token).await - before[0];
    let honest_out = f.env.token_balance(&honest.token).await - before[1];

    assert_eq!(attacker_out, honest_out, "equal shares, equal pay");
    let pre_jump_value =
        shares as u128 * pre_jump.pool_value_min as u128 / pre_jump.share_supply as u128;
    assert!(
        (attacker_out as u128) < pre_jump_value,
        "paid at the post-jump value ({attacker_out}), not the pre-jump one ({pre_jump_value})"
    );
    f.check_invariants().await;
}

/// Finding 1: a request cannot execute with a price published before its delay passed.
#[tokio::test]
async fn audit_1_request_needs_prices_published_after_its_delay() {
    let mut f = fee_free(|_| {}).await;
    f.seed_liquidity(1_000_000 * USDC).await;
    let lp = f.new_lp(1_000 * USDC).await;
    f.request_deposit(&lp, 1_000 * USDC, 0).await.unwrap();
    let delay = f.pool_state().await.params.lp_request_delay_seconds as i64;
    // The clock moves on, but the oracles still show updates from before the delay.
    let now = f.env.now().await;
    f.env.set_time(now + delay).await;
    for oracle in [f.pool.markets[0].oracle, f.pool.settlement_oracle] {
        f.env
            .update_price(&oracle, |p| p.publish_time = now + delay - 1);
    }
    let request = pda::lp_request(&f.pool.key, &lp.user.pubkey()).0;
    let snap = f.snapshot(&[request, lp.token, lp.lp_token]).await;
    assert_error(
        f.execute_request(&lp, &lp.lp_token).await,
        TidepoolError::PriceBeforeRequest,
    );
    snap.assert_unchanged(&mut f.env).await;
    // The market's own price published in time but the settlement's not: refused too.
    let oracle = f.pool.markets[0].oracle;
    f.env
        .update_price(&oracle, |p| p.publish_time = now + delay);
    assert_error(
        f.execute_request(&lp, &lp.lp_token).await,
        TidepoolError::PriceBeforeRequest,
    );
    snap.assert_unchanged(&mut f.env).await;
}

/// Finding 1: the execution pays the worse of the request's and the execution's share
/// price: a deposit made just before traders win gets the (higher) request-time price.
#[tokio::test]
async fn audit_1_request_executes_at_the_worse_share_price() {
    let mut f = fee_free(|_| {}).await;
    f.seed_liquidity(1_000_000 * USDC).await;
    leveraged_longs(&mut f).await;
    let lp = f.new_lp(100_000 * USDC).await;
    f.request_deposit(&lp, 100_000 * USDC, 0).await.unwrap();
    let request: LiquidityRequest = f
        .env
        .account(&pda::lp_request(&f.pool.key, &lp.user.pubkey()).0)
        .await;
    // The longs win 5 %: the pool is worth less at execution, shares would be cheaper.
    post_price(&mut f, usd_e8(157), usd_e8(157)).await;
    f.wait_request_delay().await;
    let at_execution = f.pool_value().await;
    assert!(at_execution.pool_value_max < request.pool_value);
    f.execute_request(&lp, &lp.lp_token).await.unwrap();
    let expected = quote_deposit(100_000 * USDC, 0, request.pool_value, request.share_supply)
        .unwrap()
        .shares_out;
    assert_eq!(f.env.token_balance(&lp.lp_token).await, expected);
    f.check_invariants().await;
}

/// Finding 1: the LP experience. The request holds the deposit and the keeper fee; the
/// owner can cancel and gets everything back; a keeper that executes is paid the fee and
/// the owner gets the rent back; one request per owner and pool at a time.
#[tokio::test]
async fn audit_1_requests_cancel_refund_and_pay_the_keeper() {
    let mut f = fee_free(|_| {}).await;
    f.seed_liquidity(1_000_000 * USDC).await;
    let lp = f.new_lp(2_000 * USDC).await;
    let owner = lp.user.pubkey();
    let request = pda::lp_request(&f.pool.key, &owner).0;
    let fee = f.pool_state().await.params.lp_request_keeper_fee_lamports;
    assert!(fee > 0);

    // Deposit request, then cancel: tokens, rent and fee back.
    let lamports = f.env.raw_account(&owner).await.unwrap().lamports;
    f.request_deposit(&lp, 1_000 * USDC, 0).await.unwrap();
    assert_eq!(f.env.token_balance(&lp.token).await, 1_000 * USDC);
    assert_eq!(f.pool_state().await.pending_deposits, 1_000 * USDC);
    let held = f.env.raw_account(&request).await.unwrap().lamports;
    assert_eq!(
        f.env.raw_account(&owner).await.unwrap().lamports,
        lamports - held
    );
    // A second request while one is pending is refused (the account exists).
    assert!(f.request_deposit(&lp, 1_000 * USDC, 0).await.is_err());
    f.cancel_request(&lp, &lp.token).await.unwrap();
    assert_eq!(f.env.token_balance(&lp.token).await, 2_000 * USDC);
    assert_eq!(f.env.raw_account(&owner).await.unwrap().lamports, lamports);
    assert!(f.env.raw_account(&request).await.is_none());
    assert_eq!(f.pool_state().await.pending_deposits, 0);

    // Executed by a keeper that is not the fee payer: it gets exactly the fee.
    f.request_deposit(&lp, 1_000 * USDC, 0).await.unwrap();
    f.wait_request_delay().await;
    let keeper = f.env.new_user().await;
    let keeper_before = f.env.raw_account(&keeper.pubkey()).await.unwrap().lamports;
    let owner_before = f.env.raw_account(&owner).await.unwrap().lamports;
    let ixn = ix::execute_liquidity_request(&keeper.pubkey(), &f.pool.keys(), &owner, &lp.lp_token);
    f.env.send(&[ixn], &[&keeper]).await.unwrap();
    assert_eq!(
        f.env.raw_account(&keeper.pubkey()).await.unwrap().lamports,
        keeper_before + fee
    );
    assert_eq!(
        f.env.raw_account(&owner).await.unwrap().lamports,
        owner_before + held - fee
    );
    assert!(f.env.token_balance(&lp.lp_token).await > 0);

    // Withdrawal request: shares burnt at once, minted back on cancel.
    let shares = f.env.token_balance(&lp.lp_token).await;
    let supply = f.pool_value().await.share_supply;
    f.request_withdrawal(&lp, shares, 0).await.unwrap();
    assert_eq!(f.env.token_balance(&lp.lp_token).await, 0);
    assert_eq!(f.pool_value().await.share_supply, supply, "still counted");
    // The refund must go to an account of the right mint.
    let snap = f.snapshot(&[request, lp.token, lp.lp_token]).await;
    assert_error(
        f.cancel_request(&lp, &lp.token).await,
        TidepoolError::InvalidMint,
    );
    snap.assert_unchanged(&mut f.env).await;
    f.cancel_request(&lp, &lp.lp_token).await.unwrap();
    assert_eq!(f.env.token_balance(&lp.lp_token).await, shares);
    assert_eq!(f.pool_state().await.pending_withdrawal_shares, 0);
    f.check_invariants().await;
}

// ---- 2. a bankrupt position's deficit is not LP value ----------------------------------

/// Finding 2: one long is bankrupt and not yet liquidated, another is merely losing. The
/// first LP to leave must not take the deficit the liquidation later books as bad debt:
/// equal shares are paid at least as much by staying.
#[tokio::test]
async fn audit_2_bankrupt_deficit_is_not_paid_to_the_first_leaver() {
    let mut f = fee_free(|_| {}).await;
    let (first, second) = equal_lps(&mut f).await;
    let bankrupt = f.new_trader(2_000 * USDC).await;
    f.open(&bankrupt, Long, 10_000 * USDC, 1_000 * USDC)
        .await
        .unwrap();
    let solvent = f.new_trader(6_000 * USDC).await;
    f.open(&solvent, Long, 10_000 * USDC, 5_000 * USDC)
        .await
        .unwrap();
    f.env.advance_time(120).await;
    // −15 %: the 10x long has lost more than its collateral; nobody liquidated it yet.
    post_price(&mut f, usd_e8(1275) / 10, usd_e8(1275) / 10).await;
    assert!(f.health(&bankrupt, Long).await.equity < 0);

    let first_out = withdraw_all(&mut f, &first).await;
    let keeper = f.new_keeper().await;
    f.liquidate(&keeper, &bankrupt, Long).await.unwrap();
    assert!(f.pool_state().await.bad_debt > 0);
    f.decrease(&solvent, Long, 10_000 * USDC).await.unwrap();
    let second_out = withdraw_all(&mut f, &second).await;
    assert!(
        first_out <= second_out,
        "the first leaver ({first_out}) took value the stayer ({second_out}) lost"
    );
    f.check_invariants().await;
}

/// Finding 2, fees: a long made bankrupt by borrow fees alone (the price never moves) is
/// no more LP value than one made bankrupt by the price: the first leaver is not paid the
/// fees it will never pay.
#[tokio::test]
async fn audit_2_fees_a_position_cannot_pay_are_not_paid_to_the_first_leaver() {
    let mut f = fee_free(|s| s.markets[0].params.borrow_base_rate_bps = 100_000).await;
    let (first, second) = equal_lps(&mut f).await;
    let bankrupt = f.new_trader(2_000 * USDC).await;
    f.open(&bankrupt, Long, 10_000 * USDC, 1_000 * USDC)
        .await
        .unwrap();
    let solvent = f.new_trader(9_000 * USDC).await;
    f.open(&solvent, Long, 10_000 * USDC, 8_000 * USDC)
        .await
        .unwrap();
    // Five days at 1,000 % a year: ~14 % of the notional in fees, more than the first long
    // holds; the price stays where it was.
    f.env.advance_time(5 * 86_400).await;
    assert!(f.health(&bankrupt, Long).await.equity < 0);

    let first_out = withdraw_all(&mut f, &first).await;
    let keeper = f.new_keeper().await;
    let before = f.env.token_balance(&bankrupt.token).await;
    f.liquidate(&keeper, &bankrupt, Long).await.unwrap();
    assert_eq!(
        f.env.token_balance(&bankrupt.token).await,
        before,
        "nothing left for it"
    );
    f.decrease(&solvent, Long, 10_000 * USDC).await.unwrap();
    let second_out = withdraw_all(&mut f, &second).await;
    assert!(
        first_out <= second_out,
        "the first leaver ({first_out}) took fees the stayer ({second_out}) never got"
    );
    f.check_invariants().await;
}

/// Finding 2, mirror: one long's profit is beyond its (small) reserve while another long
/// loses. A depositor must not buy shares at a value that nets the capped profit against
/// the loss: it gets nothing back beyond its deposit once both positions close.
#[tokio::test]
async fn audit_2_capped_profit_is_not_a_discount_for_depositors() {
    let mut f = fee_free(|s| {
        s.markets[0].params.max_profit_factor_bps = 100;
        s.markets[0].params.open_fee_bps = 0;
        s.markets[0].params.close_fee_bps = 0;
        s.markets[0].params.base_spread_bps = 0;
        s.markets[0].params.borrow_base_rate_bps = 0;
        s.markets[0].params.borrow_slope1_bps = 0;
        s.markets[0].params.borrow_slope2_bps = 0;
        s.markets[0].params.funding_rate_bps = 0;
    })
    .await;
    f.seed_liquidity(100_000 * USDC).await;
    post_price(&mut f, usd_e8(100), usd_e8(100)).await;
    let winner = f.new_trader(5_000 * USDC).await;
    f.open(&winner, Long, 10_000 * USDC, 5_000 * USDC)
        .await
        .unwrap();
    f.env.advance_time(30).await;
    post_price(&mut f, usd_e8(150), usd_e8(150)).await;
    let loser = f.new_trader(5_000 * USDC).await;
    f.open(&loser, Long, 10_000 * USDC, 5_000 * USDC)
        .await
        .unwrap();
    f.env.advance_time(120).await;
    // At $120 the winner is 20 % up (capped at 1 %), the loser 20 % down.
    post_price(&mut f, usd_e8(120), usd_e8(120)).await;

    let depositor = f.new_lp(50_000 * USDC).await;
    f.deposit(&depositor, 50_000 * USDC, 0).await.unwrap();
    f.decrease(&winner, Long, 10_000 * USDC).await.unwrap();
    f.decrease(&loser, Long, 10_000 * USDC).await.unwrap();
    let out = withdraw_all(&mut f, &depositor).await;
    assert!(
        out <= 50_000 * USDC,
        "the depositor gained {} from netting a capped profit",
        out - 50_000 * USDC
    );
    f.check_invariants().await;
}

// ---- 3. deleveraging never pays more than a close ----------------------------------------

/// Finding 3: with a 1 % profit cap, a trader's second wallet deleverages it seconds after
/// opening. Inside the minimum hold that is refused; afterwards it pays what the owner's
/// own close would (close fill price, spread included) less the keeper fee.
#[tokio::test]
async fn audit_3_self_deleveraging_gets_no_more_than_a_close() {
    let mut f = fee_free(|s| s.markets[0].params.max_profit_factor_bps = 100).await;
    f.seed_liquidity(1_000_000 * USDC).await;
    let t = f.new_trader(2_000 * USDC).await;
    f.open(&t, Long, 10_000 * USDC, 1_000 * USDC).await.unwrap();
    post_price(&mut f, usd_e8(155), usd_e8(155)).await;
    let second_wallet = f.new_keeper().await;
    let snap = f
        .snapshot(&[t.token, second_wallet.token, f.position_key(&t, Long)])
        .await;
    assert_error(
        f.deleverage(&second_wallet, &t, Long, AdlCap::PositionReserve)
            .await,
        TidepoolError::DeleverageInMinHold,
    );
    snap.assert_unchanged(&mut f.env).await;

    f.env.advance_time(61).await;
    let close = f.quote_decrease(&t, Long, 10_000 * USDC).await.unwrap();
    let before =
        f.env.token_balance(&t.token).await + f.env.token_balance(&second_wallet.token).await;
    f.deleverage(&second_wallet, &t, Long, AdlCap::PositionReserve)
        .await
        .unwrap();
    let got = f.env.token_balance(&t.token).await + f.env.token_balance(&second_wallet.token).await
        - before;
    assert!(
        got <= close.payout,
        "deleveraging paid {got}, a close would pay {}",
        close.payout
    );
    f.check_invariants().await;
}

// ---- 4. take-profit inside the minimum hold ---------------------------------------------

/// Finding 4: a crossed take-profit inside the minimum hold would realize no profit; a
/// keeper cannot fire it then. After the hold it pays at least the take-profit price.
#[tokio::test]
async fn audit_4_take_profit_waits_for_the_minimum_hold() {
    let mut f = fee_free(|_| {}).await;
    f.seed_liquidity(1_000_000 * USDC).await;
    let t = f.new_trader(2_000 * USDC).await;
    f.open(&t, Long, 10_000 * USDC, 1_000 * USDC).await.unwrap();
    let tp = 160 * PRICE_PRECISION;
    f.set_triggers(&t, Long, tp, 0).await.unwrap();
    let keeper = f.new_keeper().await;
    // Spot exactly at the take-profit: the fill (spot − spread) is below it.
    post_price(&mut f, usd_e8(160), usd_e8(160)).await;
    let position = f.position_key(&t, Long);
    let snap = f.snapshot(&[t.token, keeper.token, position]).await;
    assert_error(
        f.execute_trigger(&keeper, &t, Long).await,
        TidepoolError::TriggerNotReached,
    );
    post_price(&mut f, usd_e8(161), usd_e8(161)).await;
    assert_error(
        f.execute_trigger(&keeper, &t, Long).await,
        TidepoolError::TriggerInMinHold,
    );
    snap.assert_unchanged(&mut f.env).await;

    f.env.advance_time(61).await;
    let before = f.env.token_balance(&t.token).await;
    f.execute_trigger(&keeper, &t, Long).await.unwrap();
    let paid = f.env.token_balance(&t.token).await - before;
    assert!(paid > 1_000 * USDC, "the profit was realized: {paid}");
    f.check_invariants().await;
}

// ---- 5. funding never pushes reserves past the cap ----------------------------------------

async fn funding_to_a_lone_short(max_utilization_bps: u16) {
    let mut f = fee_free(|s| {
        s.params.max_utilization_bps = max_utilization_bps;
        s.markets[0].params.funding_rate_bps = 100_000;
        s.markets[0].params.max_skew_usd = 2_000_000 * USDC;
        // Opens right up to the cap: no pool-stress margin in the way.
        s.markets[0].params.pool_stress_margin_bps = 0;
    })
    .await;
    f.seed_liquidity(1_000_000 * USDC).await;
    let cap = 1_000_000 * USDC as u128 * max_utilization_bps as u128 / 10_000;
    // A lone short of 10k, and longs reserving the rest of the cap.
    let short = f.new_trader(2_000 * USDC).await;
    f.open(&short, Short, 10_000 * USDC, 1_000 * USDC)
        .await
        .unwrap();
    let longs = (cap as u64 - 10_000 * USDC) * 999 / 1_000;
    let long = f.new_trader(longs / 5).await;
    f.open(&long, Long, longs, longs / 8).await.unwrap();
    let pool = f.pool_state().await;
    assert!(pool.total_reserved as u128 * 1_000 >= cap * 995);

    // Two days idle: the longs owe the short far more funding than its reserve.
    f.env.advance_time(2 * 86_400).await;
    let h = f.health(&short, Short).await;
    assert!(h.funding_owed < 0);
    f.decrease(&short, Short, 10_000 * USDC).await.unwrap();
    // `after_step` checked SPEC 7.2; check it once more, explicitly.
    let pool = f.pool_state().await;
    assert!(
        pool.total_reserved as u128 * 10_000
            <= max_utilization_bps as u128 * pool.lp_balance as u128,
        "reserves {} above {max_utilization_bps} bps of the LP balance {}",
        pool.total_reserved,
        pool.lp_balance
    );
    f.check_invariants().await;
}

/// Finding 5 at the default 80 % utilization cap.
#[tokio::test]
async fn audit_5_funding_keeps_reserves_within_the_cap_at_80_percent() {
    funding_to_a_lone_short(8_000).await;
}

/// Finding 5 at a 100 % cap: the reserves never exceed the LP balance itself.
#[tokio::test]
async fn audit_5_funding_keeps_reserves_within_the_cap_at_100_percent() {
    funding_to_a_lone_short(10_000).await;
}

// ---- 6. past borrow fees and flash deposits ----------------------------------------------

/// Finding 6: a month at high utilization, then a large deposit drops it, then the position
/// closes. The month is charged at the month's utilization, not at the moment's.
#[tokio::test]
async fn audit_6_a_deposit_cannot_cut_past_borrow_fees() {
    // 70 % utilization at 8.75x: no pool-stress margin in the way.
    let mut f = fee_free(|s| s.markets[0].params.pool_stress_margin_bps = 0).await;
    f.seed_liquidity(100_000 * USDC).await;
    let t = f.new_trader(10_000 * USDC).await;
    f.open(&t, Long, 70_000 * USDC, 8_000 * USDC).await.unwrap();
    let market: Market = f.market_state(0).await;
    let utilization = f.pool_state().await.utilization_bps().unwrap();
    assert!(utilization >= 6_900);
    let p = market.params;
    let rate = borrow_rate_bps(
        utilization,
        p.borrow_base_rate_bps,
        p.borrow_optimal_utilization_bps,
        p.borrow_slope1_bps,
        p.borrow_slope2_bps,
    )
    .unwrap();
    let month = 30 * 86_400;
    f.env.advance_time(month).await;
    let whale = f.new_lp(10_000_000 * USDC).await;
    f.deposit(&whale, 10_000_000 * USDC, 0).await.unwrap();
    f.decrease(&t, Long, 70_000 * USDC).await.unwrap();
    let after: Market = f.market_state(0).await;
    let charged = after.cumulative_borrow_index - market.cumulative_borrow_index;
    assert!(
        charged >= index_delta(rate, month as u64).unwrap(),
        "the month was charged {charged}, less than at its utilization"
    );
}

// ---- 7. LP instructions record the publish time -----------------------------------------

/// Finding 7: a deposit request on a newer update records it; a withdrawal request on an
/// older one (still within max age) is then refused.
#[tokio::test]
async fn audit_7_lp_cannot_go_back_to_an_older_update() {
    let mut f = fee_free(|_| {}).await;
    let lp = f.seed_liquidity(1_000_000 * USDC).await;
    let other = f.new_lp(1_000 * USDC).await;
    let oracle = f.pool.markets[0].oracle;
    let older = f.env.prices[&oracle];
    f.env.advance_time(10).await;
    let newer = f.env.prices[&oracle].publish_time;
    f.request_deposit(&other, 1_000 * USDC, 0).await.unwrap();
    let market: Market = f.market_state(0).await;
    assert_eq!(market.last_publish_time, newer);

    f.env.set_price(&oracle, older);
    let snap = f.snapshot(&[lp.token, lp.lp_token]).await;
    let shares = f.env.token_balance(&lp.lp_token).await;
    assert_error(
        f.request_withdrawal(&lp, shares, 0).await,
        TidepoolError::OracleOlderThanLastUsed,
    );
    snap.assert_unchanged(&mut f.env).await;
}

// ---- 8. a DECREASE pause means every decrease ---------------------------------------------

/// Finding 8: with decreases paused on the market, a keeper can neither execute a crossed
/// stop-loss nor deleverage; liquidation still works (never paused).
#[tokio::test]
async fn audit_8_decrease_pause_stops_triggers_and_deleveraging() {
    let mut f = fee_free(|s| s.markets[0].params.max_profit_factor_bps = 100).await;
    f.seed_liquidity(1_000_000 * USDC).await;
    let stop = f.new_trader(2_000 * USDC).await;
    f.open(&stop, Long, 10_000 * USDC, 1_000 * USDC)
        .await
        .unwrap();
    f.set_triggers(&stop, Long, 0, 149 * PRICE_PRECISION)
        .await
        .unwrap();
    let capped = f.new_trader(2_000 * USDC).await;
    f.open(&capped, Short, 10_000 * USDC, 1_000 * USDC)
        .await
        .unwrap();
    f.env.advance_time(61).await;
    post_price(&mut f, usd_e8(140), usd_e8(140)).await;
    let (pool, market) = (f.pool.key, f.pool.markets[0].key);
    f.env
        .send(
            &[ix::set_pause_flags(
                &f.admin.pubkey(),
                Some(&pool),
                Some(&market),
                pause::DECREASE,
            )],
            &[&f.admin],
        )
        .await
        .unwrap();
    let keeper = f.new_keeper().await;
    let snap = f
        .snapshot(&[
            stop.token,
            capped.token,
            keeper.token,
            f.position_key(&stop, Long),
            f.position_key(&capped, Short),
        ])
        .await;
    assert_error(
        f.execute_trigger(&keeper, &stop, Long).await,
        TidepoolError::Paused,
    );
    assert_error(
        f.deleverage(&keeper, &capped, Short, AdlCap::PositionReserve)
            .await,
        TidepoolError::Paused,
    );
    snap.assert_unchanged(&mut f.env).await;
    // −10 % on a 10x long: liquidation goes through the pause.
    post_price(&mut f, usd_e8(135), usd_e8(135)).await;
    f.liquidate(&keeper, &stop, Long).await.unwrap();
}

// ---- 9. confidence alone never liquidates -----------------------------------------------

/// Finding 9: a position just above its maintenance margin stays unliquidatable when only
/// the oracle's confidence band widens (it raises the initial margin, not the liquidation
/// line).
#[tokio::test]
async fn audit_9_a_wide_confidence_band_alone_does_not_liquidate() {
    let mut f = fee_free(|_| {}).await;
    f.seed_liquidity(1_000_000 * USDC).await;
    let t = f.new_trader(2_000 * USDC).await;
    f.open(&t, Long, 10_000 * USDC, 700 * USDC).await.unwrap();
    f.env.advance_time(61).await;
    post_price(&mut f, usd_e8(145), usd_e8(145)).await;
    let keeper = f.new_keeper().await;
    let oracle = f.pool.markets[0].oracle;
    f.env
        .send(
            &[ix::refresh_market(
                &f.pool.key,
                &f.pool.markets[0].key,
                &oracle,
            )],
            &[],
        )
        .await
        .unwrap();
    // Just above the liquidation price (same publish time: the volatility stays).
    let liq = f.health(&t, Long).await.liquidation_price;
    let near = (liq as u128 * 10_002 / 10_000) as i64 / 10;
    f.env.update_price(&oracle, |p| {
        p.price = near;
        p.ema_price = near;
    });
    let calm = f.health(&t, Long).await;
    assert!(!calm.is_liquidatable());
    // The band widens to 1.9 % of the price (the market accepts 2 %).
    f.env
        .update_price(&oracle, |p| p.conf = near.unsigned_abs() * 19 / 1_000);
    let wide = f.health(&t, Long).await;
    assert_eq!(wide.maintenance_margin_bps, calm.maintenance_margin_bps);
    assert!(wide.initial_margin_bps > calm.initial_margin_bps);
    let snap = f
        .snapshot(&[t.token, keeper.token, f.position_key(&t, Long)])
        .await;
    assert_error(
        f.liquidate(&keeper, &t, Long).await,
        TidepoolError::PositionHealthy,
    );
    snap.assert_unchanged(&mut f.env).await;
}

// ---- 10. short sizes round for the pool -------------------------------------------------

/// Finding 10: on a fee-free, spread-free market with no hold, a short opened and closed at
/// one price never gains a base unit, however often it is repeated.
#[tokio::test]
async fn audit_10_short_round_trips_never_gain() {
    let mut f = fee_free(|s| {
        let m = &mut s.markets[0];
        m.price = 9_712_345_678_901; // $97,123.45678901: base units round
        m.params.open_fee_bps = 0;
        m.params.close_fee_bps = 0;
        m.params.base_spread_bps = 0;
        m.params.confidence_spread_bps = 0;
        m.params.min_hold_seconds = 0;
        m.params.borrow_base_rate_bps = 0;
        m.params.borrow_slope1_bps = 0;
        m.params.borrow_slope2_bps = 0;
        m.params.funding_rate_bps = 0;
    })
    .await;
    f.seed_liquidity(1_000_000 * USDC).await;
    for side in [Short, Long] {
        let t = f.new_trader(1_000 * USDC).await;
        for _ in 0..5 {
            f.open(&t, side, 10_000_333_333, 900 * USDC).await.unwrap();
            f.decrease(&t, side, 10_000_333_333).await.unwrap();
            assert!(
                f.env.token_balance(&t.token).await <= 1_000 * USDC,
                "{side:?} gained on a round trip"
            );
        }
    }
    f.check_invariants().await;
}

// ---- also fixed ---------------------------------------------------------------------------

/// `initialize` is the upgrade authority's alone: nobody can front-run it after deployment.
#[tokio::test]
async fn initialize_requires_the_upgrade_authority() {
    let mut env = TestEnv::start().await;
    let authority = env.new_user().await;
    let intruder = env.new_user().await;
    env.set_upgrade_authority(&authority.pubkey()).await;
    let config = pda::config().0;
    let snap = env.snapshot(&[config, intruder.pubkey()]).await;
    assert_error(
        env.send(
            &[ix::initialize(&intruder.pubkey(), &intruder.pubkey())],
            &[&intruder],
        )
        .await,
        TidepoolError::NotUpgradeAuthority,
    );
    snap.assert_unchanged(&mut env).await;
    env.send(
        &[ix::initialize(&authority.pubkey(), &authority.pubkey())],
        &[&authority],
    )
    .await
    .unwrap();
    assert!(env.raw_account(&config).await.is_some());
}

/// Pool-level deleveraging values the position's own market with the price it closes at:
/// another update for that market among the remaining accounts is refused.
#[tokio::test]
async fn deleverage_uses_one_price_per_market() {
    let mut f = fee_free(|s| s.params.max_pnl_factor_bps = 1).await;
    f.seed_liquidity(1_000_000 * USDC).await;
    let t = f.new_trader(2_000 * USDC).await;
    f.open(&t, Long, 10_000 * USDC, 1_000 * USDC).await.unwrap();
    f.env.advance_time(61).await;
    post_price(&mut f, usd_e8(152), usd_e8(152)).await;
    // A second, older-looking update for the same feed at another address.
    let oracle = f.pool.markets[0].oracle;
    let other = Pubkey::new_unique();
    let state = f.env.prices[&oracle];
    f.env.set_price(&other, state);
    let keeper = f.new_keeper().await;
    let mut markets = f.pool.keys().markets;
    markets[0].price_update = other;
    let ixn = ix::auto_deleverage(&f.keeper_keys(&keeper, &t, Long), &markets);
    let snap = f
        .snapshot(&[t.token, keeper.token, f.position_key(&t, Long)])
        .await;
    assert_error(
        f.env.send(&[ixn], &[&keeper.user]).await,
        TidepoolError::MarketAccountsMismatch,
    );
    snap.assert_unchanged(&mut f.env).await;
    f.deleverage(&keeper, &t, Long, AdlCap::PoolProfit)
        .await
        .unwrap();
}

/// The liquidation fee must fit under the base maintenance margin.
#[tokio::test]
async fn liquidation_fee_must_fit_under_the_maintenance_margin() {
    let mut f = Fixture::new().await;
    let mut params = default_market_params();
    params.liquidation_fee_bps = params.base_maintenance_margin_bps;
    let (pool, market) = (f.pool.key, f.pool.markets[0].key);
    let snap = f.snapshot(&[]).await;
    assert_error(
        f.env
            .send(
                &[ix::update_market_params(
                    &f.admin.pubkey(),
                    &pool,
                    &market,
                    params,
                )],
                &[&f.admin],
            )
            .await,
        TidepoolError::InvalidLiquidationFee,
    );
    snap.assert_unchanged(&mut f.env).await;
    params.liquidation_fee_bps -= 1;
    f.env
        .send(
            &[ix::update_market_params(
                &f.admin.pubkey(),
                &pool,
                &market,
                params,
            )],
            &[&f.admin],
        )
        .await
        .unwrap();
}

/// Found by the random sequences: lowering the utilization cap below the reserves already
/// taken would leave SPEC 7.2 broken; it is refused, and a cap that still holds them passes.
#[tokio::test]
async fn utilization_cap_cannot_be_lowered_below_the_reserves() {
    let mut f = fee_free(|_| {}).await;
    f.seed_liquidity(100_000 * USDC).await;
    let t = f.new_trader(10_000 * USDC).await;
    f.open(&t, Long, 40_000 * USDC, 4_000 * USDC).await.unwrap();
    let pool = f.pool_state().await;
    let utilization = pool.utilization_bps().unwrap() as u16;
    let mut params = pool.params;
    params.max_utilization_bps = utilization - 1;
    let snap = f.snapshot(&[]).await;
    assert_error(
        f.env
            .send(
                &[ix::update_pool_params(
                    &f.admin.pubkey(),
                    &f.pool.key,
                    params,
                )],
                &[&f.admin],
            )
            .await,
        TidepoolError::MaxUtilizationExceeded,
    );
    snap.assert_unchanged(&mut f.env).await;
    params.max_utilization_bps = utilization + 1;
    f.env
        .send(
            &[ix::update_pool_params(
                &f.admin.pubkey(),
                &f.pool.key,
                params,
            )],
            &[&f.admin],
        )
        .await
        .unwrap();
    f.check_invariants().await;
}
