//! Events, emitted as self-CPIs (`emit`, Anchor's `emit_cpi!` format) so they survive log
//! truncation. Amounts are settlement base units unless a field says otherwise; prices
//! `expo = -9`; USD `expo = -6`.

use anchor_lang::event::EVENT_IX_TAG_LE;
use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program::invoke_signed;

use crate::state::{LiquidityRequestKind, MarketParams, PoolParams, Side};

/// The event authority's PDA seed (Anchor's `#[event_cpi]`).
const EVENT_AUTHORITY_SEED: &[u8] = b"__event_authority";

/// Emits `event` exactly as `emit_cpi!` does: a CPI into this program signed by the event
/// authority, whose data is `EVENT_IX_TAG_LE`, the event's discriminator and its Borsh bytes.
/// `emit_cpi!` expands that CPI, and a byte-by-byte copy of the data, at every call site; here
/// the data is written once into one buffer and the CPI is one out-of-line function.
pub fn emit<E: anchor_lang::Event>(event_authority: &AccountInfo, event: &E) -> Result<()> {
    let mut data = Vec::with_capacity(256);
    data.extend_from_slice(EVENT_IX_TAG_LE);
    data.extend_from_slice(E::DISCRIMINATOR);
    event
        .serialize(&mut data)
        .map_err(|_| ProgramError::BorshIoError)?;
    invoke_event(event_authority, data)
}

#[inline(never)]
fn invoke_event(event_authority: &AccountInfo, data: Vec<u8>) -> Result<()> {
    let ix = Instruction {
        program_id: crate::ID,
        accounts: vec![AccountMeta::new_readonly(*event_authority.key, true)],
        data,
    };
    invoke_signed(
        &ix,
        core::slice::from_ref(event_authority),
        &[&[EVENT_AUTHORITY_SEED, &[crate::EVENT_AUTHORITY_AND_BUMP.1]]],
    )
    .map_err(Into::into)
}

#[event]
pub struct ConfigInitialized {
    pub admin: Pubkey,
    pub fee_recipient: Pubkey,
}

#[event]
pub struct AdminTransferProposed {
    pub admin: Pubkey,
    /// `Pubkey::default()` cancels a pending transfer.
    pub pending_admin: Pubkey,
}

#[event]
pub struct AdminTransferred {
    pub previous_admin: Pubkey,
    pub new_admin: Pubkey,
}

#[event]
pub struct PoolCreated {
    pub pool: Pubkey,
    pub pool_id: u16,
    pub settlement_mint: Pubkey,
    pub vault: Pubkey,
    pub lp_mint: Pubkey,
    pub settlement_feed_id: [u8; 32],
    pub params: PoolParams,
}

#[event]
pub struct PoolParamsUpdated {
    pub pool: Pubkey,
    pub params: PoolParams,
}

#[event]
pub struct MarketCreated {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub index: u8,
    pub symbol: [u8; 16],
    pub feed_id: [u8; 32],
    pub params: MarketParams,
}

#[event]
pub struct MarketParamsUpdated {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub params: MarketParams,
}

#[event]
pub struct PauseFlagsSet {
    /// The config, pool or market whose flags changed.
    pub target: Pubkey,
    pub previous_flags: u16,
    pub flags: u16,
}

#[event]
pub struct LiquidityRequested {
    pub pool: Pubkey,
    pub owner: Pubkey,
    pub request: Pubkey,
    pub kind: LiquidityRequestKind,
    /// Settlement base units (deposit, now in the vault) or LP shares (withdrawal, burnt).
    pub amount: u64,
    pub min_out: u64,
    pub request_time: i64,
    /// Pool value and share supply at the request.
    pub pool_value: u64,
    pub share_supply: u64,
    /// Earliest publish time of the prices that may execute it.
    pub executable_from: i64,
}

#[event]
pub struct LiquidityRequestCancelled {
    pub pool: Pubkey,
    pub owner: Pubkey,
    pub request: Pubkey,
    pub kind: LiquidityRequestKind,
    /// Settlement base units refunded (deposit) or LP shares minted back (withdrawal).
    pub amount: u64,
}

#[event]
pub struct LiquidityDeposited {
    pub pool: Pubkey,
    pub owner: Pubkey,
    /// Keeper that executed the request.
    pub keeper: Pubkey,
    /// Settlement base units taken from the owner.
    pub amount: u64,
    /// LP fee kept by the pool.
    pub fee: u64,
    /// LP base units minted to the receiver.
    pub shares_out: u64,
    /// LP base units locked forever (first deposit only).
    pub shares_locked: u64,
    /// Pool value at execution (the highest plausible), before the deposit; the shares are
    /// priced at the worse of it and the request's.
    pub pool_value: u64,
    /// Share supply after the deposit (locked shares included).
    pub share_supply: u64,
    /// LP balance after the deposit.
    pub lp_balance: u64,
}

#[event]
pub struct LiquidityWithdrawn {
    pub pool: Pubkey,
    pub owner: Pubkey,
    /// Keeper that executed the request.
    pub keeper: Pubkey,
    /// LP base units burnt.
    pub shares: u64,
    /// Settlement base units paid to the receiver.
    pub amount_out: u64,
    /// LP fee kept by the pool.
    pub fee: u64,
    /// Pool value at execution (the lowest plausible), before the withdrawal; the tokens are
    /// priced at the worse of it and the request's.
    pub pool_value: u64,
    /// Share supply after the withdrawal (locked shares included).
    pub share_supply: u64,
    /// LP balance after the withdrawal.
    pub lp_balance: u64,
}

#[event]
pub struct MarketRefreshed {
    pub market: Pubkey,
    /// Spot price used, `expo = -9`.
    pub price: u64,
    /// EMA price, `expo = -9`.
    pub ema_price: u64,
    /// Confidence, `expo = -9`.
    pub confidence: u64,
    pub publish_time: i64,
    /// Slow and fast EWMA variance of log returns per second, `expo = -18`.
    pub variance: u128,
    pub fast_variance: u128,
    /// Realized volatility over the liquidation horizon (the higher estimate), `expo = -9`.
    pub volatility: u64,
}

#[event]
pub struct PositionIncreased {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub position: Pubkey,
    pub owner: Pubkey,
    pub side: Side,
    /// Added entry notional, USD (`expo = -6`).
    pub size_usd: u64,
    /// Added size, base units (`expo = -9`).
    pub size_base: u64,
    /// Fill price, `expo = -9`.
    pub fill_price: u64,
    /// Tokens taken from the trader.
    pub collateral_in: u64,
    pub open_fee: u64,
    pub reserve_added: u64,
    /// Borrow fee and funding settled from the collateral before the increase.
    pub borrow_fee_settled: u64,
    pub funding_settled: i64,
    /// The position afterwards.
    pub total_size_base: u64,
    pub total_entry_notional_usd: u64,
    pub total_collateral: u64,
    pub total_reserved: u64,
}

#[event]
pub struct PositionDecreased {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub position: Pubkey,
    pub owner: Pubkey,
    pub side: Side,
    /// Closed entry notional, USD (`expo = -6`).
    pub size_usd: u64,
    /// Closed size, base units (`expo = -9`).
    pub size_base: u64,
    /// Fill price, `expo = -9`.
    pub fill_price: u64,
    /// Realized PnL (capped at the released reserve; zero profit inside the hold time).
    pub pnl: i64,
    pub close_fee: u64,
    pub borrow_fee: u64,
    pub funding: i64,
    /// Tokens paid to the trader.
    pub payout: u64,
    pub protocol_fee: u64,
    pub bad_debt: u64,
    /// Part of `close_fee + borrow_fee` not collected (the trader's gross did not cover it).
    pub fees_unpaid: u64,
    /// True when the position is closed and its account returned to the owner.
    pub closed: bool,
    pub remaining_size_base: u64,
    pub remaining_collateral: u64,
    pub remaining_reserved: u64,
}

#[event]
pub struct CollateralChanged {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub position: Pubkey,
    pub owner: Pubkey,
    /// Tokens added (positive) or removed (negative).
    pub delta: i64,
    pub borrow_fee_settled: u64,
    pub funding_settled: i64,
    pub total_collateral: u64,
}

#[event]
pub struct BadDebtAbsorbed {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub position: Pubkey,
    /// Tokens of loss beyond the position's collateral, absorbed by the LPs.
    pub amount: u64,
    /// Pool's cumulative bad debt afterwards.
    pub total_bad_debt: u64,
}

#[event]
pub struct PositionLiquidated {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub position: Pubkey,
    pub owner: Pubkey,
    pub keeper: Pubkey,
    /// Oracle spot price the position was marked and closed at, `expo = -9`.
    pub price: u64,
    /// Equity before, tokens.
    pub equity: i64,
    /// Maintenance margin required before, tokens.
    pub maintenance_margin: u64,
    /// Closed entry notional, USD (`expo = -6`).
    pub size_usd: u64,
    pub pnl: i64,
    pub close_fee: u64,
    pub borrow_fee: u64,
    pub funding: i64,
    /// Paid to the keeper.
    pub keeper_fee: u64,
    /// Paid to the owner (full liquidation only; a partial one keeps it as collateral).
    pub owner_payout: u64,
    pub bad_debt: u64,
    /// Part of `close_fee + borrow_fee` not collected (the trader's gross did not cover it).
    pub fees_unpaid: u64,
    pub closed: bool,
}

#[event]
pub struct TriggerOrdersSet {
    pub position: Pubkey,
    /// `expo = -9`, 0 when unset.
    pub take_profit_price: u64,
    pub stop_loss_price: u64,
}

#[event]
pub struct TriggerOrderExecuted {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub position: Pubkey,
    pub owner: Pubkey,
    pub keeper: Pubkey,
    /// True for take-profit, false for stop-loss.
    pub take_profit: bool,
    /// Oracle spot price that crossed the trigger, `expo = -9`.
    pub price: u64,
    pub fill_price: u64,
    /// Closed entry notional, USD (`expo = -6`).
    pub size_usd: u64,
    pub pnl: i64,
    /// Close fee and borrow fee due (see `fees_unpaid` for what was not collected); funding
    /// paid (positive) or received (negative). All in tokens.
    pub close_fee: u64,
    pub borrow_fee: u64,
    pub funding: i64,
    pub keeper_fee: u64,
    pub payout: u64,
    pub bad_debt: u64,
    /// Part of `close_fee + borrow_fee` not collected (the trader's gross did not cover it).
    pub fees_unpaid: u64,
}

#[event]
pub struct PositionDeleveraged {
    pub pool: Pubkey,
    pub market: Pubkey,
    pub position: Pubkey,
    pub owner: Pubkey,
    pub keeper: Pubkey,
    /// True when the position's profit had reached its reserve; false for the pool-level cap.
    pub at_reserve_cap: bool,
    pub price: u64,
    /// Closed entry notional, USD (`expo = -6`).
    pub size_usd: u64,
    pub pnl: i64,
    /// Close fee and borrow fee due (see `fees_unpaid` for what was not collected); funding
    /// paid (positive) or received (negative). All in tokens.
    pub close_fee: u64,
    pub borrow_fee: u64,
    pub funding: i64,
    pub keeper_fee: u64,
    pub payout: u64,
    pub bad_debt: u64,
    /// Part of `close_fee + borrow_fee` not collected (the trader's gross did not cover it).
    pub fees_unpaid: u64,
    pub closed: bool,
}

#[event]
pub struct ProtocolFeesCollected {
    pub pool: Pubkey,
    pub recipient: Pubkey,
    pub amount: u64,
}
