use anchor_lang::prelude::*;

use crate::engine::marks::read_price;
use crate::error::TidepoolError;
use crate::events::{emit, MarketRefreshed};
use crate::state::{Market, Pool, Position};

/// Permissionless: read the market's oracle, update its last price and publish time and
/// its realized-volatility estimate, and accrue its borrow and funding indices. Never paused.
///
/// Remaining accounts (optional, writable): positions of this market to re-tag under the
/// sides' current price-bound generation (`PriceBounds`): nothing else about them changes,
/// but a generation whose positions have all been re-tagged can be retired, so a bound set
/// by a position long closed does not outlive it.
#[event_cpi]
#[derive(Accounts)]
pub struct RefreshMarket<'info> {
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, dup, has_one = pool @ TidepoolError::MarketPoolMismatch)]
    pub market: Box<Account<'info, Market>>,
    /// CHECK: validated by `engine::marks::read_price` (owner, discriminator, feed, age, guards).
    pub price_update: UncheckedAccount<'info>,
}

pub fn refresh_market(ctx: Context<RefreshMarket>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let market_key = ctx.accounts.market.key();
    let market = &mut ctx.accounts.market;
    let price = read_price(
        &ctx.accounts.price_update,
        &market.feed_id,
        &market.params.oracle,
        market.last_publish_time,
        now,
    )?;
    market.observe_price(&price, now)?;
    market.accrue(now, ctx.accounts.pool.utilization_integral_at(now)?)?;
    let decimals = ctx.accounts.pool.settlement_decimals;
    for info in ctx.remaining_accounts {
        require_keys_eq!(*info.owner, crate::ID, TidepoolError::InvalidPosition);
        require!(info.is_writable, TidepoolError::InvalidPosition);
        let mut position = {
            let data = info.try_borrow_data()?;
            Position::try_deserialize(&mut &data[..])?
        };
        require_keys_eq!(position.market, market_key, TidepoolError::InvalidPosition);
        market.remove_position(&position)?;
        market.insert_position(&mut position, decimals)?;
        let mut data = info.try_borrow_mut_data()?;
        position.try_serialize(&mut &mut data[..])?;
    }
    let volatility = market.realized_volatility()?;
    emit(
        &ctx.accounts.event_authority,
        &MarketRefreshed {
            market: market_key,
            price: market.last_price,
            ema_price: market.last_ema_price,
            confidence: market.last_confidence,
            publish_time: market.last_publish_time,
            variance: market.variance,
            fast_variance: market.fast_variance,
            volatility,
        },
    )?;
    Ok(())
}
