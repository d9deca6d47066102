use anchor_lang::prelude::*;

use super::MarketParams;
use crate::math::oracle::OraclePrice;
use crate::math::valuation::{MarketExposure, SideExposure};
use crate::math::volatility::{squared_log_return, update_variance};
use crate::math::MathResult;

/// Aggregates of one side (long or short) of a market.
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, Default, PartialEq, Eq, InitSpace,
)]
pub struct SideState {
    /// Σ position sizes, base units (`expo = -9`).
    pub open_interest_base: u64,
    /// Σ entry notionals, USD (`expo = -6`).
    pub open_interest_usd: u64,
    /// Σ collateral, settlement base units.
    pub total_collateral: u64,
    /// Σ reserved profit, settlement base units.
    pub total_reserved: u64,
    /// Number of open positions on this side.
    pub position_count: u32,
    pub reserved: [u8; 32],
}

impl SideState {
    pub fn exposure(&self) -> SideExposure {
        SideExposure {
            size_base: self.open_interest_base,
            entry_notional_usd: self.open_interest_usd,
            collateral: self.total_collateral,
            reserved: self.total_reserved,
        }
    }
}

/// A perpetual market on one index asset inside one pool.
/// PDA `["market", pool, index (u8)]`.
#[account]
#[derive(InitSpace, Debug)]
pub struct Market {
    /// Layout version (`ACCOUNT_VERSION`).
    pub version: u8,
    pub bump: u8,
    /// Position of this market in its pool's `markets`.
    pub index: u8,
    /// Pause flags of this market (`constants::pause`).
    pub pause_flags: u16,
    pub pool: Pubkey,
    /// Display name, UTF-8, zero padded (e.g. `SOL-PERP`).
    pub symbol: [u8; 16],
    /// Pyth feed id of the index asset's USD price.
    pub feed_id: [u8; 32],
    pub params: MarketParams,

    // --- oracle state -----------------------------------------------------------------
    /// Publish time of the last price this market used; no later read may be older.
    pub last_publish_time: i64,
    /// Last observed spot price (`expo = -9`); 0 before the first observation.
    pub last_price: u64,
    /// Last observed EMA price (`expo = -9`).
    pub last_ema_price: u64,
    /// Last observed confidence (`expo = -9`).
    pub last_confidence: u64,
    /// EWMA variance of log returns per second (`expo = -18`); see `math::volatility`.
    pub variance: u128,
    /// Unix time of the last refresh or trade.
    pub last_update_time: i64,

    // --- open interest ---------------------------------------------------------------
    pub long: SideState,
    pub short: SideState,

    pub reserved: [u8; 128],
}

impl Market {
    /// Bytes on chain, discriminator included.
    pub const SIZE: usize = 8
        + 1
        + 1
        + 1
        + 2
        + 32
        + 16
        + 32
        + MarketParams::INIT_SPACE
        + 8 * 4
        + 16
        + 8
        + 2 * SideState::INIT_SPACE
        + 128;

    /// Record a validated oracle price: update the volatility estimate from the log
    /// return since the last observed price, and remember the price and its publish time.
    /// A reading with the same publish time as the last one changes nothing but the time.
    pub fn observe_price(&mut self, price: &OraclePrice, now: i64) -> MathResult<()> {
        if self.last_price != 0 && price.publish_time > self.last_publish_time {
            let r2 = squared_log_return(self.last_price, price.spot)?;
            let dt = (price.publish_time - self.last_publish_time) as u64;
            self.variance = update_variance(
                self.variance,
                r2,
                dt,
                self.params.volatility_ewma_seconds as u64,
            )?;
        }
        if self.last_price == 0 || price.publish_time > self.last_publish_time {
            self.last_price = price.spot;
            self.last_ema_price = price.ema;
            self.last_confidence = price.confidence;
            self.last_publish_time = price.publish_time;
        }
        self.last_update_time = now;
        Ok(())
    }

    /// Aggregate exposure at `price`, for pool valuation.
    pub fn exposure(&self, price: OraclePrice) -> MarketExposure {
        MarketExposure {
            long: self.long.exposure(),
            short: self.short.exposure(),
            price,
        }
    }
}
crate::const_assert_size!(Market, Market::SIZE);
