//! Checked arithmetic that returns an error instead of panicking or wrapping.

/// Why a math operation failed. The program maps each to its own error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MathError {
    /// A result did not fit its type.
    Overflow,
    /// Division by zero.
    DivisionByZero,
    /// A value was out of the domain the function accepts (e.g. a Pyth exponent out of range).
    OutOfDomain,
}

impl core::fmt::Display for MathError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MathError::Overflow => write!(f, "arithmetic overflow"),
            MathError::DivisionByZero => write!(f, "division by zero"),
            MathError::OutOfDomain => write!(f, "value out of domain"),
        }
    }
}

pub type MathResult<T> = core::result::Result<T, MathError>;

#[cfg(not(target_os = "solana"))]
std::thread_local! {
    static LAST_FAILURE: core::cell::Cell<Option<&'static core::panic::Location<'static>>> =
        const { core::cell::Cell::new(None) };
}

/// `e`, noted where it arose. The checked operations below are `#[track_caller]` natively,
/// so the place noted is the line that called them (as drift's `safe_math.rs` does): the
/// client, keeper, simulator, tests and fuzzer read it with [`last_failure`]. The SBF build
/// notes nothing, and its checked operations carry no location: one per call site would
/// grow the program, and the error code already names the failure.
#[cold]
#[cfg_attr(not(target_os = "solana"), track_caller)]
pub fn fail(e: MathError) -> MathError {
    #[cfg(not(target_os = "solana"))]
    {
        let at = core::panic::Location::caller();
        LAST_FAILURE.with(|l| l.set(Some(at)));
    }
    e
}

/// Where this thread's last math error arose (native builds; see [`fail`]).
#[cfg(not(target_os = "solana"))]
pub fn last_failure() -> Option<&'static core::panic::Location<'static>> {
    LAST_FAILURE.with(|l| l.get())
}

/// Forget the last math error (before a step whose own failure is to be read).
#[cfg(not(target_os = "solana"))]
pub fn clear_last_failure() {
    LAST_FAILURE.with(|l| l.set(None));
}

/// `v`, or the error noted at the caller when there is none.
#[inline]
#[cfg_attr(not(target_os = "solana"), track_caller)]
fn or_fail<T>(v: Option<T>, e: MathError) -> MathResult<T> {
    match v {
        Some(v) => Ok(v),
        None => Err(fail(e)),
    }
}

/// Which way a division or conversion rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Towards zero (floor for non-negative values).
    Down,
    /// Away from zero (ceiling for non-negative values).
    Up,
}

/// Checked arithmetic on integers.
pub trait SafeMath: Sized + Copy {
    fn safe_add(self, rhs: Self) -> MathResult<Self>;
    fn safe_sub(self, rhs: Self) -> MathResult<Self>;
    fn safe_mul(self, rhs: Self) -> MathResult<Self>;
    /// Division rounding towards zero.
    fn safe_div(self, rhs: Self) -> MathResult<Self>;
}

macro_rules! impl_safe_math {
    ($($t:ty),*) => {$(
        impl SafeMath for $t {
            #[inline]
            #[cfg_attr(not(target_os = "solana"), track_caller)]
            fn safe_add(self, rhs: Self) -> MathResult<Self> {
                or_fail(self.checked_add(rhs), MathError::Overflow)
            }
            #[inline]
            #[cfg_attr(not(target_os = "solana"), track_caller)]
            fn safe_sub(self, rhs: Self) -> MathResult<Self> {
                or_fail(self.checked_sub(rhs), MathError::Overflow)
            }
            #[inline]
            #[cfg_attr(not(target_os = "solana"), track_caller)]
            fn safe_mul(self, rhs: Self) -> MathResult<Self> {
                or_fail(self.checked_mul(rhs), MathError::Overflow)
            }
            #[inline]
            #[cfg_attr(not(target_os = "solana"), track_caller)]
            fn safe_div(self, rhs: Self) -> MathResult<Self> {
                if rhs == 0 {
                    return Err(fail(MathError::DivisionByZero));
                }
                or_fail(self.checked_div(rhs), MathError::Overflow)
            }
        }
    )*};
}
impl_safe_math!(u16, u32, u64, u128, i64, i128);

/// `a * b / c` in `u128` with the stated rounding.
#[inline]
#[cfg_attr(not(target_os = "solana"), track_caller)]
pub fn mul_div(a: u128, b: u128, c: u128, rounding: Rounding) -> MathResult<u128> {
    if c == 0 {
        return Err(fail(MathError::DivisionByZero));
    }
    // Nearly every call multiplies two `u64`s, whose product cannot overflow: skip the
    // 128-bit overflow check, which SBF has no instruction for.
    let product = if (a | b) >> 64 == 0 {
        a.wrapping_mul(b)
    } else {
        a.safe_mul(b)?
    };
    let (q, r) = div_rem(product, c);
    match rounding {
        Rounding::Down => Ok(q),
        Rounding::Up if r == 0 => Ok(q),
        Rounding::Up => q.safe_add(1),
    }
}

/// `(n / d, n % d)` for `d != 0`. SBF has 64-bit division but none for 128 bits, where each
/// `/` and `%` is a software routine: both operands below `2^64` divide natively, and
/// otherwise one 128-bit division gives the quotient and a multiply the remainder.
#[inline]
fn div_rem(n: u128, d: u128) -> (u128, u128) {
    if (n | d) >> 64 == 0 {
        let (n, d) = (n as u64, d as u64);
        return ((n / d) as u128, (n % d) as u128);
    }
    let q = n / d;
    // q·d ≤ n by definition of the quotient.
    (q, n.wrapping_sub(q.wrapping_mul(d)))
}

/// `a / b` in `u128` with the stated rounding.
#[inline]
#[cfg_attr(not(target_os = "solana"), track_caller)]
pub fn div_round(a: u128, b: u128, rounding: Rounding) -> MathResult<u128> {
    mul_div(a, 1, b, rounding)
}

/// Convert between integer types, failing rather than truncating or changing sign: the
/// checked form of a narrowing `as`.
#[inline]
#[cfg_attr(not(target_os = "solana"), track_caller)]
pub fn cast<T, U: TryFrom<T>>(v: T) -> MathResult<U> {
    or_fail(U::try_from(v).ok(), MathError::Overflow)
}

/// Narrow a `u128` to `u64`, failing rather than truncating.
#[inline]
#[cfg_attr(not(target_os = "solana"), track_caller)]
pub fn to_u64(v: u128) -> MathResult<u64> {
    or_fail(u64::try_from(v).ok(), MathError::Overflow)
}

/// `value + delta` for a signed `delta`, failing rather than going negative or overflowing.
#[inline]
#[cfg_attr(not(target_os = "solana"), track_caller)]
pub fn add_signed(value: u64, delta: i128) -> MathResult<u64> {
    let sum = (value as i128).safe_add(delta)?;
    if sum < 0 {
        return Err(fail(MathError::Overflow));
    }
    to_u64(sum as u128)
}

/// Narrow an `i128` to `i64`, failing rather than truncating.
#[inline]
#[cfg_attr(not(target_os = "solana"), track_caller)]
pub fn to_i64(v: i128) -> MathResult<i64> {
    or_fail(i64::try_from(v).ok(), MathError::Overflow)
}

/// Narrow an `i128` to `u128`, failing on negative values.
#[inline]
#[cfg_attr(not(target_os = "solana"), track_caller)]
pub fn to_u128(v: i128) -> MathResult<u128> {
    or_fail(u128::try_from(v).ok(), MathError::OutOfDomain)
}

/// `amount * bps / 10_000` with the stated rounding.
#[inline]
#[cfg_attr(not(target_os = "solana"), track_caller)]
pub fn bps_of(amount: u64, bps: u64, rounding: Rounding) -> MathResult<u64> {
    to_u64(mul_div(
        amount as u128,
        bps as u128,
        super::BPS_DENOMINATOR as u128,
        rounding,
    )?)
}

/// Integer square root (floor) of a `u128`.
pub fn isqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    if n >> 64 == 0 {
        return isqrt_u64(n as u64) as u128;
    }
    // Newton's method from a power-of-two start above the root; monotonically decreasing.
    let shift = (128 - n.leading_zeros()).div_ceil(2);
    let mut x: u128 = 1u128 << shift;
    loop {
        let y = (x + n / x) >> 1;
        if y >= x {
            return x;
        }
        x = y;
    }
}

/// `isqrt` in native 64-bit arithmetic (the usual case: a variance over a horizon).
fn isqrt_u64(n: u64) -> u64 {
    let shift = (64 - n.leading_zeros()).div_ceil(2);
    // 2^shift ≥ √n, and `x + n / x` stays below 2^64 for x ≤ 2^32.
    let mut x: u64 = 1u64 << shift;
    loop {
        let y = (x + n / x) >> 1;
        if y >= x {
            return x;
        }
        x = y;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_math_error_notes_the_line_that_called() {
        let (r, line) = (u64::MAX.safe_add(1), line!());
        assert_eq!(r, Err(MathError::Overflow));
        let at = last_failure().expect("noted");
        assert_eq!((at.file(), at.line()), (file!(), line));
        let (r, line) = (mul_div(1, 1, 0, Rounding::Up), line!());
        assert_eq!(r, Err(MathError::DivisionByZero));
        assert_eq!(last_failure().map(|l| l.line()), Some(line));
        let (r, line) = (add_signed(5, -6), line!());
        assert_eq!(r, Err(MathError::Overflow));
        assert_eq!(last_failure().map(|l| l.line()), Some(line));
        let (r, line) = (cast::<i64, u8>(-1), line!());
        assert_eq!(r, Err(MathError::Overflow));
        assert_eq!(last_failure().map(|l| l.line()), Some(line));
    }

    #[test]
    fn mul_div_rounds_as_told() {
        assert_eq!(mul_div(10, 1, 3, Rounding::Down), Ok(3));
        assert_eq!(mul_div(10, 1, 3, Rounding::Up), Ok(4));
        assert_eq!(mul_div(9, 1, 3, Rounding::Up), Ok(3));
        assert_eq!(
            mul_div(1, 1, 0, Rounding::Up),
            Err(MathError::DivisionByZero)
        );
        assert_eq!(
            mul_div(u128::MAX, 2, 1, Rounding::Down),
            Err(MathError::Overflow)
        );
    }

    #[test]
    fn bps_and_narrowing() {
        assert_eq!(bps_of(10_001, 30, Rounding::Up), Ok(31));
        assert_eq!(bps_of(10_001, 30, Rounding::Down), Ok(30));
        assert_eq!(to_u64(u64::MAX as u128 + 1), Err(MathError::Overflow));
        assert_eq!(to_u128(-1), Err(MathError::OutOfDomain));
        assert_eq!(5u64.safe_sub(6), Err(MathError::Overflow));
        assert_eq!(add_signed(5, -5), Ok(0));
        assert_eq!(add_signed(5, 7), Ok(12));
        assert_eq!(add_signed(5, -6), Err(MathError::Overflow));
        assert_eq!(add_signed(u64::MAX, 1), Err(MathError::Overflow));
        assert_eq!(to_i64(i64::MIN as i128), Ok(i64::MIN));
        assert_eq!(to_i64(i64::MAX as i128 + 1), Err(MathError::Overflow));
        assert_eq!(cast::<i64, u64>(-1), Err(MathError::Overflow));
        assert_eq!(cast::<i64, u64>(7), Ok(7));
        assert_eq!(
            cast::<u128, u64>(u64::MAX as u128 + 1),
            Err(MathError::Overflow)
        );
    }

    proptest! {
        #[test]
        fn isqrt_is_floor_root(n in any::<u128>()) {
            let r = isqrt(n);
            prop_assert!(r.checked_mul(r).is_some_and(|sq| sq <= n));
            let r1 = r + 1;
            prop_assert!(r1.checked_mul(r1).is_none_or(|sq| sq > n));
        }

        #[test]
        fn isqrt_is_floor_root_below_2_64(n in any::<u64>()) {
            let (n, r) = (n as u128, isqrt(n as u128));
            prop_assert!(r * r <= n && (r + 1) * (r + 1) > n);
        }

        #[test]
        fn mul_div_matches_u128_division(
            a in any::<u128>(), b in any::<u128>(), c in 1u128..,
            narrow in any::<bool>()
        ) {
            // Half the cases in the 64-bit fast path, half anywhere in u128.
            let (a, b, c) = if narrow { (a >> 64, b >> 64, c >> 64 | 1) } else { (a, b, c) };
            match a.checked_mul(b) {
                None => prop_assert_eq!(mul_div(a, b, c, Rounding::Down), Err(MathError::Overflow)),
                Some(p) => {
                    prop_assert_eq!(mul_div(a, b, c, Rounding::Down), Ok(p / c));
                    let up = if p % c == 0 { Ok(p / c) } else { Ok(p / c + 1) };
                    prop_assert_eq!(mul_div(a, b, c, Rounding::Up), up);
                }
            }
        }

        #[test]
        fn up_minus_down_is_at_most_one(a in any::<u64>(), b in any::<u64>(), c in 1u64..) {
            let d = mul_div(a as u128, b as u128, c as u128, Rounding::Down).unwrap();
            let u = mul_div(a as u128, b as u128, c as u128, Rounding::Up).unwrap();
            prop_assert!(u == d || u == d + 1);
            prop_assert!(d * (c as u128) <= (a as u128) * (b as u128));
            prop_assert!(u * (c as u128) >= (a as u128) * (b as u128));
        }
    }
}
