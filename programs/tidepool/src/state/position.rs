use anchor_lang::prelude::*;
use tidepool_layout::{Fixed, FixedAccount};

use super::{BoundPrices, Contribution, Market, Pool};
use crate::math::margin::MarginRatios;
use crate::math::oracle::OraclePrice;
use crate::math::position::{
    cap_funding_received, crossed_trigger, liquidation_price, owed_usd_to_tokens, pnl_usd,
    signed_usd_to_tokens,
};
use crate::math::valuation::{
    notional_usd, price_for_notional, side_pnl_tokens, tokens_to_usd, Valuation,
};
use crate::math::{bps_of, mul_div, to_i64, to_u64, MathResult, Rounding, SafeMath};

/// Long or short.
#[derive(AnchorSerialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace, Fixed)]
pub enum Side {
    Long,
    Short,
}

impl Side {
    pub fn is_long(self) -> bool {
        self == Side::Long
    }
    /// Seed byte of the position PDA.
    pub fn seed(self) -> u8 {
        match self {
            Side::Long => 0,
            Side::Short => 1,
        }
    }
}

/// One trader's position on one side of one market. PDA `["position", market, owner, side]`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, InitSpace, Debug, Fixed, FixedAccount)]
pub struct Position {
    /// Layout version (`ACCOUNT_VERSION`); 0 while the account is being opened.
    pub version: u8,
    pub bump: u8,
    pub side: Side,
    pub owner: Pubkey,
    pub market: Pubkey,
    /// Size in base units of the index asset (`expo = -9`).
    pub size_base: u64,
    /// Entry notional, USD (`expo = -6`); the average entry price is
    /// `entry_notional_usd / size_base`.
    pub entry_notional_usd: u64,
    /// Collateral, settlement base units (after fees settled so far).
    pub collateral: u64,
    /// Profit reserved for this position out of the LP balance, settlement base units:
    /// the most this position can ever win.
    pub reserved: u64,
    /// Market borrow index when fees were last settled.
    pub borrow_snapshot: u128,
    /// Side funding index when funding was last settled.
    pub funding_snapshot: i128,
    pub open_time: i64,
    /// Last open or increase: closing within `min_hold_seconds` of it realizes no profit.
    pub last_increase_time: i64,
    pub last_update_time: i64,
    /// Take-profit trigger price (`expo = -9`), 0 when unset.
    pub take_profit_price: u64,
    /// Stop-loss trigger price (`expo = -9`), 0 when unset.
    pub stop_loss_price: u64,
    /// Generation tag of the side's price bounds this position last entered under
    /// (`PriceBounds`); 0 while out of the side.
    pub bounds_tag: u32,
    pub padding: [u8; 44],
}

/// A position's health at a mark price: what a view answers and what every margin check
/// uses. Token amounts are settlement base units.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionHealth {
    /// Price the position was marked at (`expo = -9`).
    pub mark_price: u64,
    /// Size × mark, USD (`expo = -6`).
    pub notional_usd: u64,
    /// Unrealized PnL, capped at the reserve (tokens, signed).
    pub pnl: i64,
    /// Borrow fee owed since the last settlement (tokens).
    pub borrow_owed: u64,
    /// Funding owed (tokens; negative: owed to the position).
    pub funding_owed: i64,
    /// Fee to close it now (tokens).
    pub close_fee: u64,
    /// `collateral + pnl − borrow − funding − close fee` (tokens).
    pub equity: i64,
    pub initial_margin_bps: u64,
    pub maintenance_margin_bps: u64,
    /// `initial_margin_bps × notional`, tokens.
    pub initial_margin_required: u64,
    /// `maintenance_margin_bps × notional`, tokens.
    pub maintenance_margin_required: u64,
    /// Price at which equity meets maintenance margin (`expo = -9`); 0 when none.
    pub liquidation_price: u64,
}

/// Where a position's trigger orders stand (`Position::trigger_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerState {
    /// Neither trigger is crossed.
    NotReached,
    /// A trigger is crossed but its close would realize a profit inside the minimum hold.
    InMinHold,
    /// A keeper may execute it: the take-profit (`true`) or the stop-loss.
    Ready { take_profit: bool },
}

impl PositionHealth {
    pub fn meets_initial_margin(&self) -> bool {
        self.equity >= self.initial_margin_required as i64
    }
    pub fn is_liquidatable(&self) -> bool {
        self.equity < self.maintenance_margin_required as i64
    }
}

impl Position {
    /// Bytes on chain, discriminator included.
    pub const SIZE: usize = 227;
    /// Byte offsets of `owner` and `market` (memcmp filters; asserted in the client's
    /// layout test).
    pub const OWNER_OFFSET: usize = 11;
    pub const MARKET_OFFSET: usize = 43;

    pub fn is_long(&self) -> bool {
        self.side.is_long()
    }

    /// A position with nothing in it yet (what `open_position` starts from).
    pub fn empty(side: Side, owner: Pubkey, market: Pubkey, now: i64) -> Self {
        Self {
            version: crate::constants::ACCOUNT_VERSION,
            bump: 0,
            side,
            owner,
            market,
            size_base: 0,
            entry_notional_usd: 0,
            collateral: 0,
            reserved: 0,
            borrow_snapshot: 0,
            funding_snapshot: 0,
            open_time: now,
            last_increase_time: now,
            last_update_time: now,
            take_profit_price: 0,
            stop_loss_price: 0,
            bounds_tag: 0,
            padding: [0; 44],
        }
    }

    pub fn contribution(&self) -> Contribution {
        Contribution {
            size_base: self.size_base,
            entry_notional_usd: self.entry_notional_usd,
            collateral: self.collateral,
            reserved: self.reserved,
            borrow_snapshot: self.borrow_snapshot,
            funding_snapshot: self.funding_snapshot,
        }
    }

    /// Borrow fee and funding owed now, in tokens against the trader (positive: owed by it).
    /// Funding owed to the position is capped at its reserve (`cap_funding_received`).
    pub fn owed_tokens(
        &self,
        market: &Market,
        settlement: &OraclePrice,
        decimals: u8,
    ) -> MathResult<(u64, i128)> {
        let (borrow_usd, funding_usd) = market.owed_usd(
            self.is_long(),
            self.entry_notional_usd,
            self.borrow_snapshot,
            self.funding_snapshot,
        )?;
        let borrow = owed_usd_to_tokens(borrow_usd, settlement, decimals)?;
        let funding = -signed_usd_to_tokens(-funding_usd, settlement, decimals, true)?;
        Ok((borrow, cap_funding_received(0, funding, self.reserved)))
    }

    /// Health at the oracle's spot price under the market's margin ratios now: what
    /// liquidation, the health view and the keeper's decision all judge by. `market` must
    /// be brought up to the price's time first (`mark_market`, or `observe_price` and
    /// `accrue` on a copy).
    pub fn health_at_spot(
        &self,
        market: &Market,
        pool: &Pool,
        price: &OraclePrice,
        settlement: &OraclePrice,
    ) -> MathResult<PositionHealth> {
        let ratios = market.margin_ratios(
            price,
            settlement,
            pool,
            self.is_long(),
            self.entry_notional_usd,
        )?;
        self.health(
            market,
            price.spot,
            ratios,
            settlement,
            pool.settlement_decimals,
        )
    }

    /// Health at `mark`, all amounts valued against the trader.
    pub fn health(
        &self,
        market: &Market,
        mark: u64,
        ratios: MarginRatios,
        settlement: &OraclePrice,
        decimals: u8,
    ) -> MathResult<PositionHealth> {
        let is_long = self.is_long();
        let pnl = pnl_usd(is_long, self.size_base, self.entry_notional_usd, mark, true)?;
        let pnl = signed_usd_to_tokens(pnl, settlement, decimals, true)?.min(self.reserved as i128);
        let (borrow, funding) = self.owed_tokens(market, settlement, decimals)?;
        let funding = cap_funding_received(pnl, funding, self.reserved);
        let notional = notional_usd(self.size_base, mark, Rounding::Up)?;
        let close_fee_usd = bps_of(notional, market.params.close_fee_bps as u64, Rounding::Up)?;
        let close_fee = owed_usd_to_tokens(close_fee_usd, settlement, decimals)?;
        let equity = (self.collateral as i128)
            .safe_add(pnl)?
            .safe_sub(borrow as i128)?
            .safe_sub(funding)?
            .safe_sub(close_fee as i128)?;
        let required = |bps: u64| -> MathResult<u64> {
            owed_usd_to_tokens(bps_of(notional, bps, Rounding::Up)?, settlement, decimals)
        };
        let (borrow_usd, funding_usd) = market.owed_usd(
            is_long,
            self.entry_notional_usd,
            self.borrow_snapshot,
            self.funding_snapshot,
        )?;
        let liquidation = liquidation_price(
            is_long,
            self.size_base,
            self.entry_notional_usd,
            tokens_to_usd(self.collateral, settlement.spot, decimals, Rounding::Down)?,
            (borrow_usd as i128).safe_add(funding_usd)?,
            market.params.close_fee_bps as u64,
            ratios.maintenance_bps,
        )?;
        Ok(PositionHealth {
            mark_price: mark,
            notional_usd: notional,
            pnl: to_i64(pnl)?,
            borrow_owed: borrow,
            funding_owed: to_i64(funding)?,
            close_fee,
            equity: to_i64(equity)?,
            initial_margin_bps: ratios.initial_bps,
            maintenance_margin_bps: ratios.maintenance_bps,
            initial_margin_required: required(ratios.initial_bps)?,
            maintenance_margin_required: required(ratios.maintenance_bps)?,
            liquidation_price: liquidation.unwrap_or(0),
        })
    }

    /// Unrealized PnL at `mark` in tokens, valued neutrally (conversions in the trader's
    /// favour): what deleveraging compares with the reserve.
    pub fn pnl_at(&self, mark: u64, settlement: &OraclePrice, decimals: u8) -> MathResult<i128> {
        signed_usd_to_tokens(
            pnl_usd(
                self.is_long(),
                self.size_base,
                self.entry_notional_usd,
                mark,
                false,
            )?,
            settlement,
            decimals,
            false,
        )
    }

    /// Bankruptcy price (loss = collateral) and profit-cap price (profit = reserve), with
    /// the settlement token at 1 USD (its depeg guard bounds the difference), each rounded
    /// towards where it protects the pool: a long's bankruptcy up and cap down, a short's
    /// bankruptcy down and cap up.
    pub fn bound_prices(&self, decimals: u8) -> MathResult<BoundPrices> {
        if self.size_base == 0 {
            return Ok(BoundPrices::default());
        }
        let one_usd = crate::math::pow10(crate::math::PRICE_DECIMALS);
        let collateral = tokens_to_usd(self.collateral, one_usd as u64, decimals, Rounding::Down)?;
        let reserve = tokens_to_usd(self.reserved, one_usd as u64, decimals, Rounding::Down)?;
        let entry = self.entry_notional_usd;
        let price =
            |usd: u64, rounding: Rounding| price_for_notional(usd, self.size_base, rounding);
        Ok(if self.is_long() {
            BoundPrices {
                bankrupt: price(entry.saturating_sub(collateral), Rounding::Up)?,
                capped: price(entry.safe_add(reserve)?, Rounding::Down)?,
            }
        } else {
            BoundPrices {
                bankrupt: price(entry.safe_add(collateral)?, Rounding::Down)?,
                capped: price(entry.saturating_sub(reserve), Rounding::Up)?,
            }
        })
    }

    /// Inside the minimum hold a close realizes no profit (SPEC 5, anti-latency).
    pub fn in_min_hold(&self, market: &Market, now: i64) -> bool {
        now < self
            .last_increase_time
            .saturating_add(market.params.min_hold_seconds as i64)
    }

    /// Whether a keeper may execute one of this position's trigger orders now: the program
    /// and every keeper decide with this one function. A take-profit is crossed when the
    /// close fill price (spread included) reaches it, so it pays at least its price; a
    /// stop-loss when the spot price crosses it. Inside the minimum hold, a trigger whose
    /// close would realize a profit waits: executing it would forfeit that profit.
    pub fn trigger_state(
        &self,
        market: &Market,
        price: &OraclePrice,
        now: i64,
    ) -> MathResult<TriggerState> {
        let is_long = self.is_long();
        let fill = market.fill_price(price, !is_long)?;
        let Some(take_profit) = crossed_trigger(
            is_long,
            price.spot,
            fill,
            self.take_profit_price,
            self.stop_loss_price,
        ) else {
            return Ok(TriggerState::NotReached);
        };
        let pnl = pnl_usd(is_long, self.size_base, self.entry_notional_usd, fill, true)?;
        if pnl > 0 && self.in_min_hold(market, now) {
            return Ok(TriggerState::InMinHold);
        }
        Ok(TriggerState::Ready { take_profit })
    }

    /// Whether the position's profit at the close fill price has reached its reserve, so
    /// that a keeper may close it at the cap (never inside the minimum hold, never at a
    /// better price than the owner's own close would get).
    pub fn at_reserve_cap(
        &self,
        market: &Market,
        price: &OraclePrice,
        settlement: &OraclePrice,
        decimals: u8,
    ) -> MathResult<bool> {
        let fill = market.fill_price(price, !self.is_long())?;
        Ok(self.pnl_at(fill, settlement, decimals)? >= self.reserved as i128)
    }

    /// How much of this position (USD of entry notional) a keeper takes when traders'
    /// profit in the pool is `excess` settlement units over the pool's cap (`auto_deleverage`
    /// and every keeper decide with this one function), judged at spot: enough to release
    /// `excess` of profit, all of it when the rest would be dust. `None` when the program
    /// refuses: not in profit, or less profitable per USD of notional than its side on
    /// average (the most profitable go first).
    pub fn pnl_cap_deleverage_size(
        &self,
        market: &Market,
        price: &OraclePrice,
        settlement: &OraclePrice,
        decimals: u8,
        excess: u64,
    ) -> MathResult<Option<u64>> {
        let pnl = self.pnl_at(price.spot, settlement, decimals)?;
        let is_long = self.is_long();
        let whole = self.entry_notional_usd;
        if pnl <= 0 || excess == 0 {
            return Ok(None);
        }
        // At least its side's average profitability: pnl / entry ≥ side_pnl / side_entry.
        let side = market.side(is_long);
        let side_pnl = side_pnl_tokens(
            &side.exposure(market.cumulative_borrow_index, is_long)?,
            is_long,
            price,
            settlement,
            decimals,
            Valuation::Min,
        )?;
        if pnl.safe_mul(side.open_interest_usd as i128)? < side_pnl.safe_mul(whole as i128)? {
            return Ok(None);
        }
        let part = to_u64(mul_div(
            whole as u128,
            excess as u128,
            pnl as u128,
            Rounding::Up,
        )?)?;
        Ok(Some(
            if part >= whole || whole - part < market.params.min_position_usd {
                whole
            } else {
                part
            },
        ))
    }

    /// Share `part / whole` of `amount`, rounded down (what a partial close releases).
    pub fn portion(amount: u64, part: u64, whole: u64) -> MathResult<u64> {
        Self::portion_rounded(amount, part, whole, Rounding::Down)
    }

    /// Share `part / whole` of `amount` with the given rounding.
    pub fn portion_rounded(
        amount: u64,
        part: u64,
        whole: u64,
        rounding: Rounding,
    ) -> MathResult<u64> {
        to_u64(crate::math::mul_div(
            amount as u128,
            part as u128,
            whole as u128,
            rounding,
        )?)
    }
}
crate::const_assert_size!(Position, Position::SIZE);
