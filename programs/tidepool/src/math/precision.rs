//! Precision constants. The exponent of every fixed-point unit is in its name or comment.

/// Prices: USD per one whole unit of the asset, `expo = -9`.
pub const PRICE_DECIMALS: u32 = 9;
/// `10^PRICE_DECIMALS`.
pub const PRICE_PRECISION: u64 = 1_000_000_000;

/// USD amounts (notional, PnL, fees in USD): `expo = -6`.
pub const USD_DECIMALS: u32 = 6;
/// `10^USD_DECIMALS`.
pub const USD_PRECISION: u64 = 1_000_000;

/// Position sizes in base units of the index asset: `expo = -9`.
pub const BASE_DECIMALS: u32 = 9;
/// `10^BASE_DECIMALS`.
pub const BASE_PRECISION: u64 = 1_000_000_000;

/// Basis points: `1 bps = 1 / 10_000`.
pub const BPS_DENOMINATOR: u64 = 10_000;

/// Share price (settlement base units per LP base unit): `expo = -9`.
pub const SHARE_PRICE_PRECISION: u64 = 1_000_000_000;

/// Variance per second of log returns: `expo = -18`.
pub const VARIANCE_PRECISION: u128 = 1_000_000_000_000_000_000;

/// Volatility (standard deviation of log returns over a horizon, a plain ratio): `expo = -9`.
pub const VOLATILITY_PRECISION: u64 = 1_000_000_000;

/// Largest number of decimals a settlement mint may have. Keeps every
/// `tokens <-> USD` conversion inside `u128` with room to spare.
pub const MAX_SETTLEMENT_DECIMALS: u8 = 12;

/// `10^exp` for every `exp` a `u128` holds.
const POW10: [u128; 39] = {
    let mut table = [1u128; 39];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// `10^exp` as `u128`, for `exp <= 38`: a table read, where a loop of 128-bit multiplies
/// costs hundreds of compute units on SBF.
pub const fn pow10(exp: u32) -> u128 {
    POW10[exp as usize]
}
