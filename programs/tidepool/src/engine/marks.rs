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
    let update = decode_price_update(&info.try_borrow_data()?)
        .ok_or_else(|| error!(TidepoolError::OracleInvalidAccount))?;
    validate_price_update(&update, feed_id, guards, last_publish_time, now)
}

/// A `PriceUpdateV2` account's data decoded as its Borsh derive does (`None` where that
/// fails), but at offsets: the only variable part is the verification level (one byte for
/// `Full`, two for `Partial`), so every field is at one of two constant offsets. Borsh goes
/// field by field with a length check and an error path at each, on every price read.
pub fn decode_price_update(data: &[u8]) -> Option<PriceUpdateV2> {
    use pyth_solana_receiver_sdk::price_update::PriceFeedMessage;
    fn at<const N: usize>(data: &[u8], offset: usize) -> Option<[u8; N]> {
        data.get(offset..offset + N)?.try_into().ok()
    }
    if data.get(..8)? != PriceUpdateV2::DISCRIMINATOR {
        return None;
    }
    let (verification_level, m) = match *data.get(40)? {
        0 => (
            VerificationLevel::Partial {
                num_signatures: *data.get(41)?,
            },
            42,
        ),
        1 => (VerificationLevel::Full, 41),
        _ => return None,
    };
    // The message (84 bytes) and `posted_slot` follow, at constant offsets within `tail`.
    let tail = data.get(m..m + 92)?;
    Some(PriceUpdateV2 {
        write_authority: Pubkey::new_from_array(at(data, 8)?),
        verification_level,
        price_message: PriceFeedMessage {
            feed_id: at(tail, 0)?,
            price: i64::from_le_bytes(at(tail, 32)?),
            conf: u64::from_le_bytes(at(tail, 40)?),
            exponent: i32::from_le_bytes(at(tail, 48)?),
            publish_time: i64::from_le_bytes(at(tail, 52)?),
            prev_publish_time: i64::from_le_bytes(at(tail, 60)?),
            ema_price: i64::from_le_bytes(at(tail, 68)?),
            ema_conf: u64::from_le_bytes(at(tail, 76)?),
        },
        posted_slot: u64::from_le_bytes(at(tail, 84)?),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::AccountDeserialize;
    use proptest::prelude::*;

    proptest! {
        /// `decode_price_update` accepts exactly what `PriceUpdateV2`'s Borsh decoding
        /// accepts, and decodes the same update: both verification levels, an unknown level,
        /// data cut anywhere, a wrong discriminator.
        #[test]
        fn decodes_as_borsh(
            body in prop::collection::vec(any::<u8>(), 0..140),
            level in 0u8..4,
            wrong_discriminator in proptest::bool::weighted(0.1),
        ) {
            let mut data = PriceUpdateV2::DISCRIMINATOR.to_vec();
            if wrong_discriminator {
                data[0] ^= 1;
            }
            data.extend_from_slice(&body);
            if data.len() > 40 {
                data[40] = level.min(2);
            }
            let borsh = PriceUpdateV2::try_deserialize(&mut &data[..]).ok();
            let ours = decode_price_update(&data);
            let fields = |u: PriceUpdateV2| {
                format!(
                    "{} {:?} {:?} {}",
                    u.write_authority, u.verification_level, u.price_message, u.posted_slot
                )
            };
            prop_assert_eq!(borsh.map(fields), ours.map(fields));
        }
    }
}
