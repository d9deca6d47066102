//! LP share pricing. Deposits mint at the pool value least favourable to the depositor
//! (the highest), withdrawals burn at the value least favourable to the withdrawer (the
//! lowest); every rounding leaves the remainder in the pool.

use super::SHARE_PRICE_PRECISION;
use super::{bps_of, fail, mul_div, to_u64, MathError, MathResult, Rounding, SafeMath};

/// Shares minted by the first deposit that nobody owns, kept forever. With the pool's
/// value tracked in its own books (donations to the vault are ignored) they make the
/// classic first-depositor inflation attack pointless: the attacker's shares are never
/// the whole supply and a donation never moves the share price.
pub const MINIMUM_LOCKED_SHARES: u64 = 1_000;

/// What a deposit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositQuote {
    /// LP fee, rounded up; stays in the pool for the existing LPs.
    pub fee: u64,
    /// Shares minted to the depositor, rounded down.
    pub shares_out: u64,
    /// Shares locked forever (only on the first deposit).
    pub shares_locked: u64,
}

/// Quote a deposit of `amount` settlement base units.
///
/// `pool_value` must be the highest (depositor-unfavourable) pool value and
/// `share_supply` all shares in existence including the locked ones.
/// A quote with `shares_out == 0` is a deposit the program refuses.
pub fn quote_deposit(
    amount: u64,
    fee_bps: u16,
    pool_value: u64,
    share_supply: u64,
) -> MathResult<DepositQuote> {
    let fee = bps_of(amount, fee_bps as u64, Rounding::Up)?;
    let net = amount.safe_sub(fee)?;
    if share_supply == 0 {
        // First deposit: one share per base unit, the first MINIMUM_LOCKED_SHARES locked.
        return Ok(DepositQuote {
            fee,
            shares_out: net.saturating_sub(MINIMUM_LOCKED_SHARES),
            shares_locked: MINIMUM_LOCKED_SHARES.min(net),
        });
    }
    if pool_value == 0 {
        return Err(fail(MathError::DivisionByZero));
    }
    let shares_out = to_u64(mul_div(
        net as u128,
        share_supply as u128,
        pool_value as u128,
        Rounding::Down,
    )?)?;
    Ok(DepositQuote {
        fee,
        shares_out,
        shares_locked: 0,
    })
}

/// What a withdrawal does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithdrawQuote {
    /// Value of the burnt shares, rounded down.
    pub gross: u64,
    /// LP fee, rounded up; stays in the pool.
    pub fee: u64,
    /// Settlement base units paid out: `gross - fee`.
    pub amount_out: u64,
}

/// Quote burning `shares`. `pool_value` must be the lowest (withdrawer-unfavourable) value.
pub fn quote_withdraw(
    shares: u64,
    fee_bps: u16,
    pool_value: u64,
    share_supply: u64,
) -> MathResult<WithdrawQuote> {
    if shares > share_supply {
        return Err(fail(MathError::OutOfDomain));
    }
    let gross = to_u64(mul_div(
        shares as u128,
        pool_value as u128,
        share_supply as u128,
        Rounding::Down,
    )?)?;
    let fee = bps_of(gross, fee_bps as u64, Rounding::Up)?;
    Ok(WithdrawQuote {
        gross,
        fee,
        amount_out: gross.safe_sub(fee)?,
    })
}

/// A pool's value and share supply at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareState {
    pub pool_value: u64,
    pub share_supply: u64,
}

/// A deposit request executed: the fewer shares of two quotes, at the share price of the
/// request and at that of the execution. (A first deposit, into a pool with no shares at
/// either moment, is priced at the execution alone.)
pub fn quote_deposit_request(
    amount: u64,
    fee_bps: u16,
    requested: ShareState,
    executed: ShareState,
) -> MathResult<DepositQuote> {
    let now = quote_deposit(amount, fee_bps, executed.pool_value, executed.share_supply)?;
    if executed.share_supply == 0 || requested.share_supply == 0 {
        return Ok(now);
    }
    let then = quote_deposit(
        amount,
        fee_bps,
        requested.pool_value,
        requested.share_supply,
    )?;
    Ok(if then.shares_out < now.shares_out {
        then
    } else {
        now
    })
}

/// A withdrawal request executed: the fewer tokens of two quotes, at the share price of the
/// request and at that of the execution.
pub fn quote_withdraw_request(
    shares: u64,
    fee_bps: u16,
    requested: ShareState,
    executed: ShareState,
) -> MathResult<WithdrawQuote> {
    let now = quote_withdraw(shares, fee_bps, executed.pool_value, executed.share_supply)?;
    let then = quote_withdraw(
        shares,
        fee_bps,
        requested.pool_value,
        requested.share_supply,
    )?;
    Ok(if then.amount_out < now.amount_out {
        then
    } else {
        now
    })
}

/// Settlement base units per LP base unit, `expo = -9`. Zero supply prices at 1.
pub fn share_price(pool_value: u64, share_supply: u64, rounding: Rounding) -> MathResult<u64> {
    if share_supply == 0 {
        return Ok(SHARE_PRICE_PRECISION);
    }
    to_u64(mul_div(
        pool_value as u128,
        SHARE_PRICE_PRECISION as u128,
        share_supply as u128,
        rounding,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn first_deposit_locks_minimum() {
        let q = quote_deposit(1_000_000, 10, 0, 0).unwrap();
        assert_eq!(q.fee, 1_000);
        assert_eq!(q.shares_locked, MINIMUM_LOCKED_SHARES);
        assert_eq!(q.shares_out, 999_000 - MINIMUM_LOCKED_SHARES);
        // A first deposit no larger than the locked minimum mints nothing to the depositor.
        assert_eq!(
            quote_deposit(MINIMUM_LOCKED_SHARES, 0, 0, 0)
                .unwrap()
                .shares_out,
            0
        );
    }

    #[test]
    fn deposit_and_withdraw_round_down() {
        let q = quote_deposit(100, 0, 300, 100).unwrap();
        assert_eq!(q.shares_out, 33);
        let w = quote_withdraw(33, 0, 300, 100).unwrap();
        assert_eq!(w.gross, 99);
        assert_eq!(
            quote_withdraw(101, 0, 300, 100),
            Err(MathError::OutOfDomain)
        );
        assert_eq!(quote_deposit(1, 0, 0, 5), Err(MathError::DivisionByZero));
    }

    proptest! {
        /// Depositing then withdrawing at once never returns more than was deposited.
        #[test]
        fn round_trip_never_profits(
            amount in 1u64..=u64::MAX / 4,
            value in 1u64..=u64::MAX / 4,
            supply in 1u64..=u64::MAX / 4,
            dep_fee in 0u16..=1_000,
            wd_fee in 0u16..=1_000,
        ) {
            // A deposit whose share count does not fit u64 is refused (Overflow), not priced.
            let Ok(d) = quote_deposit(amount, dep_fee, value, supply) else { return Ok(()) };
            let new_value = value + amount;
            let Some(new_supply) = supply.checked_add(d.shares_out) else { return Ok(()) };
            let w = quote_withdraw(d.shares_out, wd_fee, new_value, new_supply).unwrap();
            prop_assert!(w.amount_out <= amount);
        }

        /// The share price never falls through a deposit or a withdrawal.
        #[test]
        fn share_price_never_falls(
            amount in 1u64..=1u64 << 60,
            value in 1u64..=1u64 << 60,
            supply in 1u64..=1u64 << 60,
            fee in 0u16..=1_000,
        ) {
            let before = (value as u128, supply as u128);
            let Ok(d) = quote_deposit(amount, fee, value, supply) else { return Ok(()) };
            let Some(new_supply) = supply.checked_add(d.shares_out) else { return Ok(()) };
            let after_dep = ((value + amount) as u128, new_supply as u128);
            // value'/supply' >= value/supply  <=>  value' * supply >= value * supply'
            prop_assert!(after_dep.0 * before.1 >= before.0 * after_dep.1);

            let shares = d.shares_out.min(supply);
            let w = quote_withdraw(shares, fee, after_dep.0 as u64, after_dep.1 as u64).unwrap();
            let after_wd = (after_dep.0 - w.amount_out as u128, after_dep.1 - shares as u128);
            prop_assert!(after_wd.0 * after_dep.1 >= after_dep.0 * after_wd.1);
        }
    }
}
