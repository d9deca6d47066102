//! Marks: reading Pyth prices safely (SPEC section 4), and bringing a market up to now with
//! them (`mark_market`).
//!
//! Prices come from `PriceUpdateV2` accounts owned by the Pyth Solana Receiver. A price
//! is used only when it is fully verified, for the expected feed, not older than
//! `max_age_seconds`, not dated more than `ORACLE_MAX_FUTURE_SECONDS` ahead, not older
//! than the last publish time the reader used, positive, with a confidence and an
//! EMA divergence inside their bounds. Nothing falls back to an older price.

use anchor_lang::prelude::*;
use pyth_solana_receiver_sdk::price_update::{PriceUpdateV2, VerificationLevel};

use crate::constants::ORACLE_MAX_FUTURE_SECONDS;
use crate::error::TidepoolError;
use crate::math::oracle::{
    confidence_within, ema_deviation_within, peg_within, pyth_to_price, OraclePrice,
};
use crate::math::{cast, Rounding};
use crate::state::{Market, OracleGuards, Pool};

/// Validate `info` as a price for `feed_id` under `guards` and convert it to program
/// precision: spot and EMA rounded down, confidence rounded up.
pub fn read_price(
    info: &AccountInfo,
    feed_id: &[u8; 32],
    guards: &OracleGuards,
    last_publish_time: i64,
    now: i64,
) -> Result<OraclePrice> {
    require_keys_eq!(
        *info.owner,
        pyth_solana_receiver_sdk::ID,
        TidepoolError::OracleWrongOwner
    );
    let update = {
        let data = info.try_borrow_data()?;
        PriceUpdateV2::try_deserialize(&mut &data[..])
            .map_err(|_| error!(TidepoolError::OracleInvalidAccount))?
    };
    validate_price_update(&update, feed_id, guards, last_publish_time, now)
}

/// The checks of `read_price` on an already decoded update (what off-chain tools run on
/// the bytes they fetched, so they predict exactly what the program will accept).
pub fn validate_price_update(
    update: &PriceUpdateV2,
    feed_id: &[u8; 32],
    guards: &OracleGuards,
    last_publish_time: i64,
    now: i64,
) -> Result<OraclePrice> {
    require!(
        update.verification_level == VerificationLevel::Full,
        TidepoolError::OracleNotFullyVerified
    );
    let msg = &update.price_message;
    require!(msg.feed_id == *feed_id, TidepoolError::OracleFeedMismatch);
    require!(
        msg.publish_time <= now.saturating_add(ORACLE_MAX_FUTURE_SECONDS),
        TidepoolError::OracleFutureDated
    );
    require!(
        now.saturating_sub(msg.publish_time) <= guards.max_age_seconds as i64,
        TidepoolError::OracleStale
    );
    require!(
        msg.publish_time >= last_publish_time,
        TidepoolError::OracleOlderThanLastUsed
    );
    require!(
        msg.price > 0 && msg.ema_price > 0,
        TidepoolError::OracleNonPositivePrice
    );
    let (raw_spot, raw_ema): (u64, u64) = (cast(msg.price)?, cast(msg.ema_price)?);
    require!(
        confidence_within(raw_spot, msg.conf, guards.max_confidence_bps),
        TidepoolError::OracleConfidenceTooWide
    );
    require!(
        ema_deviation_within(raw_spot, raw_ema, guards.max_ema_deviation_bps),
        TidepoolError::OracleEmaDivergence
    );
    let convert = |v: u64, r: Rounding| {
        pyth_to_price(v, msg.exponent, r).map_err(|_| error!(TidepoolError::OracleInvalidExponent))
    };
    let price = OraclePrice {
        spot: convert(raw_spot, Rounding::Down)?,
        ema: convert(raw_ema, Rounding::Down)?,
        confidence: convert(msg.conf, Rounding::Up)?,
        publish_time: msg.publish_time,
    };
    // A price too small for program precision is as unusable as a non-positive one.
    require!(
        price.spot > 0 && price.ema > 0,
        TidepoolError::OracleNonPositivePrice
    );
    Ok(price)
}

/// Read the pool's settlement-token price (its own feed and guards).
pub fn read_settlement_price(pool: &Pool, info: &AccountInfo, now: i64) -> Result<OraclePrice> {
    read_price(
        info,
        &pool.settlement_feed_id,
        &pool.params.settlement_oracle,
        pool.settlement_last_publish_time,
        now,
    )
}

/// Refuse new risk when the settlement token is off its peg by more than the pool allows.
pub fn require_pegged(pool: &Pool, settlement: &OraclePrice) -> Result<()> {
    require!(
        peg_within(settlement.spot, pool.params.max_depeg_bps),
        TidepoolError::SettlementDepegged
    );
    Ok(())
}

/// Read and validate the market's and the settlement token's prices, let the market observe
/// its price (volatility) and accrue its borrow and funding indices to `now`. Every priced
/// trading path starts here.
pub fn mark_market(
    pool: &mut Pool,
    market: &mut Market,
    price_update: &AccountInfo,
    settlement_price_update: &AccountInfo,
    now: i64,
) -> Result<(OraclePrice, OraclePrice)> {
    let price = read_price(
        price_update,
        &market.feed_id,
        &market.params.oracle,
        market.last_publish_time,
        now,
    )?;
    let settlement = read_settlement_price(pool, settlement_price_update, now)?;
    market.observe_price(&price, now)?;
    pool.settlement_last_publish_time = settlement.publish_time;
    pool.checkpoint_utilization(now)?;
    market.accrue(now, pool.utilization_integral)?;
    Ok((price, settlement))
}
