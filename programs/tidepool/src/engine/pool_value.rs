//! Account glue around `math::valuation`: load a pool's markets and their prices from the
//! remaining accounts and value the pool. O(markets), never O(positions).

use anchor_lang::prelude::*;

use crate::engine::marks::{read_price, read_settlement_price};
use crate::error::TidepoolError;
use crate::math::oracle::OraclePrice;
use crate::math::shares::share_price;
use crate::math::valuation::{
    pool_value, utilization_bps, withdrawable_liquidity, MarketExposure, Valuation,
};
use crate::math::Rounding;
use crate::state::{Market, Pool};
use anchor_lang::AccountSerialize;

/// Every market of a pool with a validated price, and the settlement price.
pub struct PoolMarks {
    pub markets: Vec<MarketExposure>,
    pub settlement: OraclePrice,
}

/// How `PoolMarks::load` treats the markets it reads.
#[derive(Clone, Copy)]
pub enum Marking<'a> {
    /// Views: every market is accrued on an in-memory copy; nothing is written.
    ReadOnly,
    /// A market already marked by this instruction (deleveraging): its in-memory state and
    /// its price are used for it, and its price account must be the one it was marked
    /// with (one price per market per instruction); the others are read only.
    WithCurrent {
        key: Pubkey,
        market: &'a Market,
        price_account: Pubkey,
        price: OraclePrice,
    },
    /// LP requests and their execution: every market observes its price, accrues and
    /// records the publish time, written back to its (writable) account, so that no later
    /// instruction can use an older price, and every price (the settlement's too) must be
    /// published at or after `not_before`.
    Persist { not_before: i64 },
}

impl PoolMarks {
    /// Load marks. `remaining` must be exactly `[market_0, price_0, market_1, price_1, …]`
    /// for every market of the pool in the pool's order: none missing, none repeated, no
    /// market of another pool. Each price must pass the market's oracle guards.
    pub fn load(
        pool: &mut Pool,
        pool_key: &Pubkey,
        settlement_price: &AccountInfo,
        remaining: &[AccountInfo],
        now: i64,
        marking: Marking,
    ) -> Result<Self> {
        let settlement = read_settlement_price(pool, settlement_price, now)?;
        let not_before = match marking {
            Marking::Persist { not_before } => {
                require!(
                    settlement.publish_time >= not_before,
                    TidepoolError::PriceBeforeRequest
                );
                pool.settlement_last_publish_time = settlement.publish_time;
                pool.checkpoint_utilization(now)?;
                Some(not_before)
            }
            _ => None,
        };
        let integral = pool.utilization_integral_at(now)?;
        let expected = pool.markets();
        require!(
            remaining.len() == expected.len() * 2,
            TidepoolError::MarketAccountsMismatch
        );
        let mut markets = Vec::with_capacity(expected.len());
        for (pair, expected_key) in remaining.chunks_exact(2).zip(expected) {
            let (market_info, price_info) = (&pair[0], &pair[1]);
            require_keys_eq!(
                *market_info.key,
                *expected_key,
                TidepoolError::MarketAccountsMismatch
            );
            if let Marking::WithCurrent {
                key,
                market,
                price_account,
                price,
            } = marking
            {
                if key == *market_info.key {
                    require_keys_eq!(
                        *price_info.key,
                        price_account,
                        TidepoolError::MarketAccountsMismatch
                    );
                    markets.push(market.exposure(price)?);
                    continue;
                }
            }
            require_keys_eq!(
                *market_info.owner,
                crate::ID,
                TidepoolError::MarketAccountsMismatch
            );
            let mut market = {
                let data = market_info.try_borrow_data()?;
                Market::try_deserialize(&mut &data[..])?
            };
            require_keys_eq!(market.pool, *pool_key, TidepoolError::MarketPoolMismatch);
            let price = read_price(
                price_info,
                &market.feed_id,
                &market.params.oracle,
                market.last_publish_time,
                now,
            )?;
            market.accrue(now, integral)?;
            if let Some(not_before) = not_before {
                require!(
                    price.publish_time >= not_before,
                    TidepoolError::PriceBeforeRequest
                );
                require!(
                    market_info.is_writable,
                    TidepoolError::MarketAccountsMismatch
                );
                market.observe_price(&price, now)?;
                let mut data = market_info.try_borrow_mut_data()?;
                market.try_serialize(&mut &mut data[..])?;
            }
            markets.push(market.exposure(price)?);
        }
        Ok(Self {
            markets,
            settlement,
        })
    }

    /// Pool value in settlement base units.
    pub fn pool_value(&self, pool: &Pool, valuation: Valuation) -> Result<u64> {
        Ok(pool_value(
            pool.lp_balance,
            &self.markets,
            &self.settlement,
            pool.settlement_decimals,
            valuation,
        )?)
    }
}

/// What `get_pool_value` answers (return data, Borsh).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolValueView {
    /// Highest plausible pool value (deposits mint at it), settlement base units.
    pub pool_value_max: u64,
    /// Lowest plausible pool value (withdrawals burn at it), settlement base units.
    pub pool_value_min: u64,
    /// LP mint supply plus locked shares.
    pub share_supply: u64,
    /// Share price for depositors, settlement base units per share, `expo = -9`, rounded up.
    pub share_price_max: u64,
    /// Share price for withdrawers, `expo = -9`, rounded down.
    pub share_price_min: u64,
    pub lp_balance: u64,
    pub total_collateral: u64,
    pub total_reserved: u64,
    /// LP balance free to be withdrawn without breaking the utilization bound.
    pub withdrawable: u64,
    /// `total_reserved / lp_balance`, bps.
    pub utilization_bps: u64,
    /// Settlement token price used, `expo = -9`.
    pub settlement_price: u64,
}

impl PoolValueView {
    pub fn new(pool: &Pool, marks: &PoolMarks, share_supply: u64) -> Result<Self> {
        let pool_value_max = marks.pool_value(pool, Valuation::Max)?;
        let pool_value_min = marks.pool_value(pool, Valuation::Min)?;
        Ok(Self {
            pool_value_max,
            pool_value_min,
            share_supply,
            share_price_max: share_price(pool_value_max, share_supply, Rounding::Up)?,
            share_price_min: share_price(pool_value_min, share_supply, Rounding::Down)?,
            lp_balance: pool.lp_balance,
            total_collateral: pool.total_collateral,
            total_reserved: pool.total_reserved,
            withdrawable: withdrawable_liquidity(
                pool.lp_balance,
                pool.total_reserved,
                pool.params.max_utilization_bps,
            )?,
            utilization_bps: utilization_bps(pool.lp_balance, pool.total_reserved)?,
            settlement_price: marks.settlement.spot,
        })
    }
}
