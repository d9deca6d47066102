//! LP deposits and withdrawals: pricing, fees, slippage, liquidity, pauses, substitution.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::{AccountMeta, Pubkey};
use solana_sdk::signature::Signer;
use tidepool::constants::pause;
use tidepool::error::TidepoolError;
use tidepool::events::{LiquidityDeposited, LiquidityRequested, LiquidityWithdrawn};
use tidepool::math::shares::{quote_deposit, quote_withdraw, MINIMUM_LOCKED_SHARES};
use tidepool::math::SHARE_PRICE_PRECISION;
use tidepool::state::{LiquidityRequestKind, Side};
use tidepool_client::{ix, pda};
use tidepool_harness::*;

fn fee_free() -> PoolSetup {
    let mut setup = PoolSetup::default();
    setup.params.deposit_fee_bps = 0;
    setup.params.withdraw_fee_bps = 0;
    setup
}

#[tokio::test]
async fn first_deposit_mints_shares_and_locks_minimum() {
    let mut f = Fixture::new().await;
    let lp = f.new_lp(1_000 * USDC).await;
    f.deposit(&lp, 1_000 * USDC, 0).await.unwrap();

    let fee = 1_000 * USDC / 1_000; // 10 bps
    let shares = 1_000 * USDC - fee - MINIMUM_LOCKED_SHARES;
    assert_eq!(f.env.token_balance(&lp.lp_token).await, shares);
    assert_eq!(f.env.token_balance(&lp.token).await, 0);
    assert_eq!(f.env.token_balance(&f.pool.vault).await, 1_000 * USDC);
    assert_eq!(f.env.mint_supply(&f.pool.lp_mint).await, shares);
    let pool = f.pool_state().await;
    assert_eq!(pool.lp_balance, 1_000 * USDC);
    assert_eq!(pool.locked_shares, MINIMUM_LOCKED_SHARES);
    assert_eq!(pool.cumulative_lp_fees, fee);
    f.check_invariants().await;
}

#[tokio::test]
async fn later_deposits_mint_pro_rata_and_fees_accrue_to_lps() {
    let mut f = Fixture::new().await;
    let a = f.new_lp(1_000 * USDC).await;
    let b = f.new_lp(500 * USDC).await;
    f.deposit(&a, 1_000 * USDC, 0).await.unwrap();
    let before = f.pool_value().await;
    // Pool: value 1000 USDC, supply 999 USDC of shares (the fee stayed in).
    assert_eq!(
        (before.pool_value_max, before.share_supply),
        (1_000 * USDC, 999 * USDC)
    );

    f.deposit(&b, 500 * USDC, 0).await.unwrap();
    // fee 0.5, net 499.5; shares = 499.5 * 999 / 1000 = 499.0005 -> 499_000_500.
    assert_eq!(f.env.token_balance(&b.lp_token).await, 499_000_500);
    let after = f.pool_value().await;
    assert_eq!(after.pool_value_max, 1_500 * USDC);
    assert_share_price_not_lower(&before, &after);
    assert!(
        after.share_price_min > SHARE_PRICE_PRECISION,
        "fees raised the share price"
    );
    f.check_invariants().await;
}

#[tokio::test]
async fn withdrawal_pays_pro_rata_less_fee() {
    let mut f = Fixture::new().await;
    let a = f.new_lp(1_000 * USDC).await;
    let b = f.new_lp(1_000 * USDC).await;
    f.deposit(&a, 1_000 * USDC, 0).await.unwrap();
    f.deposit(&b, 1_000 * USDC, 0).await.unwrap();
    let shares = f.env.token_balance(&b.lp_token).await;
    let pool = f.pool_state().await;
    let supply = pool.locked_shares + f.env.mint_supply(&f.pool.lp_mint).await;
    let expected = quote_withdraw(shares, 10, pool.lp_balance, supply).unwrap();
    let before = f.pool_value().await;

    f.withdraw(&b, shares, expected.amount_out).await.unwrap();
    assert_eq!(f.env.token_balance(&b.token).await, expected.amount_out);
    assert_eq!(f.env.token_balance(&b.lp_token).await, 0);
    // B paid two fees of 10 bps and rounding: never gets back what it put in.
    assert!(expected.amount_out < 1_000 * USDC);
    assert!(expected.amount_out > 997 * USDC);
    let pool = f.pool_state().await;
    assert_eq!(pool.lp_balance, 2_000 * USDC - expected.amount_out);
    assert_share_price_not_lower(&before, &f.pool_value().await);
    f.check_invariants().await;
}

#[tokio::test]
async fn liquidity_events_carry_every_amount() {
    let mut f = Fixture::new().await;
    let lp = f.new_lp(1_000 * USDC).await;
    let ixn = ix::deposit_liquidity(
        &lp.user.pubkey(),
        &f.pool.keys(),
        &lp.token,
        &lp.lp_token,
        1_000 * USDC,
        0,
    );
    let inner = f.env.simulate_inner_data(&[ixn], &[&lp.user]).await;
    let r = &decode_events::<LiquidityRequested>(&inner)[0];
    let request_time = f.env.now().await;
    assert_eq!((r.pool, r.owner), (f.pool.key, lp.user.pubkey()));
    assert_eq!(r.request, pda::lp_request(&f.pool.key, &lp.user.pubkey()).0);
    assert_eq!(r.kind, LiquidityRequestKind::Deposit);
    assert_eq!((r.amount, r.min_out), (1_000 * USDC, 0));
    assert_eq!((r.pool_value, r.share_supply), (0, 0));
    assert_eq!(r.request_time, request_time);
    assert_eq!(r.executable_from, request_time + 15);

    f.request_deposit(&lp, 1_000 * USDC, 0).await.unwrap();
    f.wait_request_delay().await;
    let keeper = f.env.payer();
    let execute =
        ix::execute_liquidity_request(&keeper, &f.pool.keys(), &lp.user.pubkey(), &lp.lp_token);
    let inner = f
        .env
        .simulate_inner_data(std::slice::from_ref(&execute), &[])
        .await;
    let e = &decode_events::<LiquidityDeposited>(&inner)[0];
    assert_eq!(e.pool, f.pool.key);
    assert_eq!((e.owner, e.keeper), (lp.user.pubkey(), keeper));
    assert_eq!((e.amount, e.fee), (1_000 * USDC, USDC));
    assert_eq!((e.shares_out, e.shares_locked), (999 * USDC - 1_000, 1_000));
    assert_eq!(
        (e.pool_value, e.share_supply, e.lp_balance),
        (0, 999 * USDC, 1_000 * USDC)
    );
    f.env.send(&[execute], &[]).await.unwrap();

    let ixn = ix::withdraw_liquidity(
        &lp.user.pubkey(),
        &f.pool.keys(),
        &lp.lp_token,
        &lp.token,
        1_000_000,
        0,
    );
    f.env.send(&[ixn], &[&lp.user]).await.unwrap();
    f.wait_request_delay().await;
    let execute =
        ix::execute_liquidity_request(&keeper, &f.pool.keys(), &lp.user.pubkey(), &lp.token);
    let inner = f.env.simulate_inner_data(&[execute], &[]).await;
    let e = &decode_events::<LiquidityWithdrawn>(&inner)[0];
    let q = quote_withdraw(1_000_000, 10, 1_000 * USDC, 999 * USDC).unwrap();
    assert_eq!(
        (e.shares, e.amount_out, e.fee),
        (1_000_000, q.amount_out, q.fee)
    );
    assert_eq!(e.lp_balance, 1_000 * USDC - q.amount_out);
}

#[tokio::test]
async fn round_trips_never_profit() {
    let mut f = Fixture::new().await;
    let seed = f.new_lp(10_000 * USDC).await;
    f.deposit(&seed, 10_000 * USDC, 0).await.unwrap();
    for amount in [1_001_234u64, 77 * USDC, 5_000 * USDC] {
        let lp = f.new_lp(amount).await;
        let before = f.pool_value().await;
        f.deposit(&lp, amount, 0).await.unwrap();
        let shares = f.env.token_balance(&lp.lp_token).await;
        f.withdraw(&lp, shares, 0).await.unwrap();
        let back = f.env.token_balance(&lp.token).await;
        assert!(back < amount, "round trip of {amount} returned {back}");
        assert_share_price_not_lower(&before, &f.pool_value().await);
        f.check_invariants().await;
    }
}

#[tokio::test]
async fn slippage_bounds_are_exact() {
    let mut f = Fixture::new().await;
    let a = f.new_lp(2_000 * USDC).await;
    f.deposit(&a, 1_000 * USDC, 0).await.unwrap();
    let quote = quote_deposit(1_000 * USDC, 10, 1_000 * USDC, 999 * USDC).unwrap();

    let snap = f.snapshot(&Fixture::lp_keys(&a)).await;
    assert_error(
        f.deposit(&a, 1_000 * USDC, quote.shares_out + 1).await,
        TidepoolError::SlippageExceeded,
    );
    snap.assert_unchanged(&mut f.env).await;
    f.deposit(&a, 1_000 * USDC, quote.shares_out).await.unwrap();

    let pool = f.pool_state().await;
    let supply = pool.locked_shares + f.env.mint_supply(&f.pool.lp_mint).await;
    let w = quote_withdraw(5 * USDC, 10, pool.lp_balance, supply).unwrap();
    let snap = f.snapshot(&Fixture::lp_keys(&a)).await;
    assert_error(
        f.withdraw(&a, 5 * USDC, w.amount_out + 1).await,
        TidepoolError::SlippageExceeded,
    );
    snap.assert_unchanged(&mut f.env).await;
    f.withdraw(&a, 5 * USDC, w.amount_out).await.unwrap();
    f.check_invariants().await;
}

#[tokio::test]
async fn zero_dust_and_oversized_amounts_are_refused() {
    let mut f = Fixture::new().await;
    let lp = f.new_lp(1_000 * USDC).await;
    let snap = f.snapshot(&Fixture::lp_keys(&lp)).await;
    assert_error(f.deposit(&lp, 0, 0).await, TidepoolError::ZeroAmount);
    // A first deposit that would leave nothing above the locked minimum (fee included).
    assert_error(
        f.deposit(&lp, MINIMUM_LOCKED_SHARES + 1, 0).await,
        TidepoolError::DepositTooSmall,
    );
    // More than the LP holds: the token program refuses (InsufficientFunds = 1).
    assert_error(f.deposit(&lp, u64::MAX, 0).await, 1u32);
    snap.assert_unchanged(&mut f.env).await;

    f.deposit(&lp, 1_000 * USDC, 0).await.unwrap();
    let snap = f.snapshot(&Fixture::lp_keys(&lp)).await;
    assert_error(f.withdraw(&lp, 0, 0).await, TidepoolError::ZeroAmount);
    // One share is worth one base unit, all of it fee.
    assert_error(
        f.withdraw(&lp, 1, 0).await,
        TidepoolError::WithdrawalTooSmall,
    );
    assert_error(
        f.withdraw(&lp, u64::MAX, 0).await,
        TidepoolError::InsufficientShares,
    );
    snap.assert_unchanged(&mut f.env).await;
    f.check_invariants().await;
}

/// SPEC 8: first-depositor inflation with a donation. The attacker makes the smallest
/// first deposit, donates a fortune to the vault, and hopes the victim's deposit rounds to
/// nothing. Donations do not move the tracked pool value, so the victim is priced fairly.
#[tokio::test]
async fn first_depositor_inflation_with_donation_fails() {
    let mut f = Fixture::with(fee_free()).await;
    let attacker = f.new_lp(1_000_000 * USDC).await;
    let victim = f.new_lp(1_000 * USDC).await;

    f.deposit(&attacker, MINIMUM_LOCKED_SHARES + 1, 0)
        .await
        .unwrap();
    assert_eq!(f.env.token_balance(&attacker.lp_token).await, 1);
    let before = f.pool_value().await;

    let donation = 999_999 * USDC;
    let vault = f.pool.vault;
    f.env
        .transfer_tokens(&attacker.token, &vault, &attacker.user, donation)
        .await
        .unwrap();
    *f.env.donations.entry(vault).or_default() += donation;
    let after_donation = f.pool_value().await;
    assert_eq!(
        after_donation, before,
        "a donation does not move the pool value"
    );

    f.deposit(&victim, 1_000 * USDC, 1).await.unwrap();
    let victim_shares = f.env.token_balance(&victim.lp_token).await;
    assert_eq!(victim_shares, 1_000 * USDC);
    f.withdraw(&victim, victim_shares, 0).await.unwrap();
    assert_eq!(
        f.env.token_balance(&victim.token).await,
        1_000 * USDC,
        "the victim loses nothing"
    );

    // The attacker's single share is still worth one base unit; the donation is stranded.
    let shares = f.env.token_balance(&attacker.lp_token).await;
    f.withdraw(&attacker, shares, 0).await.unwrap();
    let attacker_tokens = f.env.token_balance(&attacker.token).await;
    assert_eq!(
        attacker_tokens,
        1_000_000 * USDC - MINIMUM_LOCKED_SHARES - 1 - donation + 1
    );
    f.check_invariants().await;
}

/// SPEC 8: withdrawing reserved liquidity. A long of 400 USD reserves 400 USDC (1x profit
/// factor); at 80 % max utilization 500 USDC of the LP balance must stay.
#[tokio::test]
async fn reserved_liquidity_cannot_be_withdrawn() {
    let mut f = Fixture::with(fee_free()).await;
    f.zero_confidence();
    let lp = f.new_lp(1_000 * USDC).await;
    f.deposit(&lp, 1_000 * USDC, 0).await.unwrap();
    let trader = f.new_trader(1_000 * USDC).await;
    f.open(&trader, Side::Long, 400 * USDC, 100 * USDC)
        .await
        .unwrap();
    let view = f.pool_value().await;
    assert_eq!(view.total_reserved, 400 * USDC);
    let pool = f.pool_state().await;
    assert_eq!(view.withdrawable, pool.lp_balance - 500 * USDC);
    assert_eq!(
        view.utilization_bps,
        4_000 - 4_000 * (pool.lp_balance - 1_000 * USDC) / pool.lp_balance
    );

    // Shares worth a little more than the withdrawable amount are refused.
    let shares_for = |amount: u64| {
        (amount as u128 * SHARE_PRICE_PRECISION as u128).div_ceil(view.share_price_min as u128)
            as u64
    };
    let snap = f.snapshot(&Fixture::lp_keys(&lp)).await;
    let too_many = shares_for(view.withdrawable + 1_000);
    assert_error(
        f.withdraw(&lp, too_many, 0).await,
        TidepoolError::InsufficientLiquidity,
    );
    snap.assert_unchanged(&mut f.env).await;
    // The free part goes out; then nothing more.
    let allowed = shares_for(view.withdrawable) - 1_000;
    f.withdraw(&lp, allowed, 0).await.unwrap();
    assert!(f.env.token_balance(&lp.token).await > view.withdrawable - 2 * USDC);
    assert_error(
        f.withdraw(&lp, 3_000_000, 0).await,
        TidepoolError::InsufficientLiquidity,
    );
    f.check_invariants().await;
}

#[tokio::test]
async fn pause_flags_stop_lp_actions_but_market_flags_do_not() {
    let mut f = Fixture::new().await;
    let admin = f.admin.insecure_clone();
    let lp = f.new_lp(1_000 * USDC).await;
    f.deposit(&lp, 500 * USDC, 0).await.unwrap();
    let pool = f.pool.key;
    let market = f.pool.markets[0].key;

    // A market pause does not touch the pool's LPs.
    f.env
        .send(
            &[ix::set_pause_flags(
                &admin.pubkey(),
                Some(&pool),
                Some(&market),
                pause::ALL,
            )],
            &[&admin],
        )
        .await
        .unwrap();
    f.deposit(&lp, 10 * USDC, 0).await.unwrap();

    for (target_pool, flags, deposit_paused) in [
        (None, pause::DEPOSIT, true),
        (None, pause::WITHDRAW, false),
        (Some(&pool), pause::DEPOSIT, true),
        (Some(&pool), pause::WITHDRAW, false),
    ] {
        f.env
            .send(
                &[ix::set_pause_flags(
                    &admin.pubkey(),
                    target_pool,
                    None,
                    flags,
                )],
                &[&admin],
            )
            .await
            .unwrap();
        let snap = f.snapshot(&Fixture::lp_keys(&lp)).await;
        if deposit_paused {
            assert_error(f.deposit(&lp, 10 * USDC, 0).await, TidepoolError::Paused);
            snap.assert_unchanged(&mut f.env).await;
            f.withdraw(&lp, USDC, 0).await.unwrap();
        } else {
            assert_error(f.withdraw(&lp, USDC, 0).await, TidepoolError::Paused);
            snap.assert_unchanged(&mut f.env).await;
            f.deposit(&lp, 10 * USDC, 0).await.unwrap();
        }
        f.env
            .send(
                &[ix::set_pause_flags(&admin.pubkey(), target_pool, None, 0)],
                &[&admin],
            )
            .await
            .unwrap();
    }
    f.check_invariants().await;
}

/// Replace the account at `index` of the deposit instruction and expect `expected`.
async fn deposit_with(f: &mut Fixture, lp: &Lp, index: usize, key: Pubkey, expected: u32) {
    let mut ixn = ix::deposit_liquidity(
        &lp.user.pubkey(),
        &f.pool.keys(),
        &lp.token,
        &lp.lp_token,
        10 * USDC,
        0,
    );
    ixn.accounts[index].pubkey = key;
    let snap = f.snapshot(&[lp.token, lp.lp_token, key]).await;
    let res = f.env.send(&[ixn], &[&lp.user]).await;
    assert_error(res, expected);
    snap.assert_unchanged(&mut f.env).await;
}

// Account order of `deposit_liquidity` (see the IDL).
const D_POOL: usize = 2;
const D_VAULT: usize = 3;
const D_LP_MINT: usize = 4;
const D_FUNDING: usize = 5;
const D_LP_RECEIVER: usize = 6;
const D_TOKEN_PROGRAM: usize = 9;

#[tokio::test]
async fn look_alike_accounts_are_refused() {
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
    let lp = f.new_lp(1_000 * USDC).await;
    f.deposit(&lp, 100 * USDC, 0).await.unwrap();
    let stranger = f.env.new_user().await;
    let strangers_usdc = f
        .env
        .create_token_account(&f.pool.mint, &stranger.pubkey())
        .await;
    f.env
        .mint_to(&f.pool.mint.clone(), &strangers_usdc, 100 * USDC)
        .await;
    let other_mint_account = f
        .env
        .create_token_account(&other.mint, &lp.user.pubkey())
        .await;

    let cases: Vec<(usize, Pubkey, u32)> = vec![
        (D_VAULT, other.vault, TidepoolError::InvalidVault.into()),
        (
            D_LP_MINT,
            other.lp_mint,
            TidepoolError::InvalidLpMint.into(),
        ),
        (
            D_FUNDING,
            other_mint_account,
            TidepoolError::InvalidMint.into(),
        ),
        (
            D_FUNDING,
            strangers_usdc,
            TidepoolError::InvalidTokenOwner.into(),
        ),
        // The vault as the LP's own token account.
        (
            D_FUNDING,
            f.pool.vault,
            TidepoolError::VaultAsUserAccount.into(),
        ),
        (
            D_LP_RECEIVER,
            strangers_usdc,
            TidepoolError::InvalidMint.into(),
        ),
        // The receiver is only named at the request (not written): the mint check decides.
        (D_LP_RECEIVER, lp.token, TidepoolError::InvalidMint.into()),
        // The request's address is derived from the pool: another pool does not match it.
        (D_POOL, other.key, AnchorError::ConstraintSeeds.into()),
        (
            D_POOL,
            f.pool.markets[0].key,
            AnchorError::AccountDiscriminatorMismatch.into(),
        ),
        (
            D_TOKEN_PROGRAM,
            Pubkey::new_unique(),
            AnchorError::InvalidProgramId.into(),
        ),
    ];
    for (index, key, expected) in cases {
        deposit_with(&mut f, &lp, index, key, expected).await;
    }

    // Withdraw side: another owner's LP account, the vault as receiver.
    let mut ixn = ix::withdraw_liquidity(
        &stranger.pubkey(),
        &f.pool.keys(),
        &lp.lp_token,
        &strangers_usdc,
        USDC,
        0,
    );
    let snap = f.snapshot(&[lp.lp_token, strangers_usdc]).await;
    assert_error(
        f.env.send(&[ixn.clone()], &[&stranger]).await,
        TidepoolError::InvalidTokenOwner,
    );
    ixn = ix::withdraw_liquidity(
        &lp.user.pubkey(),
        &f.pool.keys(),
        &lp.lp_token,
        &f.pool.vault,
        USDC,
        0,
    );
    assert_error(
        f.env.send(&[ixn], &[&lp.user]).await,
        TidepoolError::InvalidReceiver,
    );
    snap.assert_unchanged(&mut f.env).await;

    // Missing owner signature.
    let mut ixn = ix::deposit_liquidity(
        &lp.user.pubkey(),
        &f.pool.keys(),
        &lp.token,
        &lp.lp_token,
        USDC,
        0,
    );
    ixn.accounts[0].is_signer = false;
    let snap = f.snapshot(&Fixture::lp_keys(&lp)).await;
    assert_error(f.env.send(&[ixn], &[]).await, AnchorError::AccountNotSigner);
    snap.assert_unchanged(&mut f.env).await;
    f.check_invariants().await;
}

#[tokio::test]
async fn every_market_must_be_priced_once_in_order() {
    let mut setup = PoolSetup::default();
    setup.markets.push(MarketSetup::new("ETH-PERP", 3_000));
    let mut f = Fixture::with(setup).await;
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
    let lp = f.new_lp(1_000 * USDC).await;
    let (m0, m1) = (f.pool.markets[0].clone(), f.pool.markets[1].clone());
    let om = other.markets[0].clone();
    let pair = |m: &MarketFixture| {
        vec![
            AccountMeta::new_readonly(m.key, false),
            AccountMeta::new_readonly(m.oracle, false),
        ]
    };

    let cases: Vec<(Vec<AccountMeta>, TidepoolError)> = vec![
        (vec![], TidepoolError::MarketAccountsMismatch),
        (pair(&m0), TidepoolError::MarketAccountsMismatch),
        (
            [pair(&m0), pair(&m0)].concat(),
            TidepoolError::MarketAccountsMismatch,
        ),
        (
            [pair(&m1), pair(&m0)].concat(),
            TidepoolError::MarketAccountsMismatch,
        ),
        (
            [pair(&m0), pair(&om)].concat(),
            TidepoolError::MarketAccountsMismatch,
        ),
        (
            [pair(&m0), pair(&m1), pair(&m1)].concat(),
            TidepoolError::MarketAccountsMismatch,
        ),
        (
            vec![
                AccountMeta::new_readonly(m0.key, false),
                AccountMeta::new_readonly(m1.oracle, false),
                AccountMeta::new_readonly(m1.key, false),
                AccountMeta::new_readonly(m1.oracle, false),
            ],
            TidepoolError::OracleFeedMismatch,
        ),
    ];
    for (remaining, expected) in cases {
        let mut ixn = ix::deposit_liquidity(
            &lp.user.pubkey(),
            &f.pool.keys(),
            &lp.token,
            &lp.lp_token,
            10 * USDC,
            0,
        );
        let fixed = ixn.accounts.len() - 4;
        ixn.accounts.truncate(fixed);
        ixn.accounts.extend(remaining);
        let snap = f.snapshot(&Fixture::lp_keys(&lp)).await;
        assert_error(f.env.send(&[ixn], &[&lp.user]).await, expected);
        snap.assert_unchanged(&mut f.env).await;
    }
    f.deposit(&lp, 10 * USDC, 0).await.unwrap();
    f.check_invariants().await;
}

#[tokio::test]
async fn pool_value_view_reports_the_books() {
    let mut f = Fixture::new().await;
    let empty = f.pool_value().await;
    assert_eq!((empty.pool_value_max, empty.share_supply), (0, 0));
    assert_eq!(empty.share_price_min, SHARE_PRICE_PRECISION);

    let lp = f.new_lp(2_000 * USDC).await;
    f.deposit(&lp, 2_000 * USDC, 0).await.unwrap();
    let v = f.pool_value().await;
    assert_eq!(
        (v.pool_value_max, v.pool_value_min),
        (2_000 * USDC, 2_000 * USDC)
    );
    assert_eq!(v.share_supply, 1_998 * USDC);
    assert_eq!(v.lp_balance, 2_000 * USDC);
    assert_eq!((v.total_collateral, v.total_reserved), (0, 0));
    assert_eq!((v.withdrawable, v.utilization_bps), (2_000 * USDC, 0));
    assert_eq!(v.settlement_price, 1_000_000_000);
    // 2000 / 1998 at 1e-9, rounded each way.
    assert_eq!(v.share_price_min, 1_001_001_001);
    assert_eq!(v.share_price_max, 1_001_001_002);
}

/// SPEC 7.4: through any sequence of LP deposits, withdrawals and donations the share
/// price never falls, and the books balance after every step.
#[tokio::test]
async fn random_lp_sequences_keep_invariants() {
    let mut f = Fixture::new().await;
    let mut lps = Vec::new();
    for _ in 0..3 {
        lps.push(f.new_lp(1_000_000 * USDC).await);
    }
    f.deposit(&lps[0], 10_000 * USDC, 0).await.unwrap();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for _ in 0..40 {
        let lp = &lps[(next() % 3) as usize];
        let before = f.pool_value().await;
        match next() % 5 {
            0 | 1 => {
                let amount = next() % (50_000 * USDC) + 1;
                let _ = f.deposit(lp, amount, 0).await;
            }
            2 | 3 => {
                let held = f.env.token_balance(&lp.lp_token).await;
                if held > 0 {
                    let shares = next() % held + 1;
                    let _ = f.withdraw(lp, shares, 0).await;
                }
            }
            _ => {
                let amount = next() % (100 * USDC) + 1;
                let vault = f.pool.vault;
                f.env
                    .transfer_tokens(&lp.token, &vault, &lp.user, amount)
                    .await
                    .unwrap();
                *f.env.donations.entry(vault).or_default() += amount;
            }
        }
        assert_share_price_not_lower(&before, &f.pool_value().await);
        f.check_invariants().await;
    }
}
