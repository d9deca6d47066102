//! Tidepool: peer-to-pool clearing for perpetual futures on Solana.
//!
//! This module is the program's table of contents: one line per instruction, each
//! handing on to its handler in `instructions/<actor>/`.
#![allow(clippy::result_large_err)]
// Anchor's macros expand `cfg`s this crate does not declare.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

// Links the compiler builtins into SBF builds made with ../shared/sbf (see scripts/sbf.sh).
#[cfg(target_arch = "bpf")]
use solana_compiler_builtins as _;

pub mod constants;
pub mod engine;
pub mod error;
pub mod events;
#[cfg(all(
    target_os = "solana",
    feature = "custom-heap",
    not(feature = "no-entrypoint")
))]
mod heap;
pub mod instructions;
pub mod math;
pub mod state;

use engine::pool_value::PoolValueView;
use engine::position::DecreaseOutcome;
use instructions::*;
use state::{MarketParams, PoolParams, PositionHealth, Side};

declare_id!("37N8h9ubeEGqn8mdQqPe4NVXjv14mjXyzXwwni8j4JQK");

#[cfg(not(feature = "no-entrypoint"))]
// Placeholders until the project has public addresses: set them before any mainnet deploy.
solana_security_txt::security_txt! {
    name: "Tidepool",
    project_url: "https://tidepool.invalid",
    contacts: "email:security@tidepool.invalid",
    policy: "https://tidepool.invalid/security"
}

#[program]
pub mod tidepool {
    use super::*;

    // ---- admin ------------------------------------------------------------------------
    pub fn initialize(ctx: Context<Initialize>, fee_recipient: Pubkey) -> Result<()> {
        instructions::initialize(ctx, fee_recipient)
    }

    pub fn create_pool(
        ctx: Context<CreatePool>,
        pool_id: u16,
        settlement_feed_id: [u8; 32],
        params: PoolParams,
    ) -> Result<()> {
        instructions::create_pool(ctx, pool_id, settlement_feed_id, params)
    }

    pub fn create_market(
        ctx: Context<CreateMarket>,
        symbol: [u8; 16],
        feed_id: [u8; 32],
        params: MarketParams,
    ) -> Result<()> {
        instructions::create_market(ctx, symbol, feed_id, params)
    }

    pub fn update_pool_params(ctx: Context<UpdatePoolParams>, params: PoolParams) -> Result<()> {
        instructions::update_pool_params(ctx, params)
    }

    pub fn update_market_params(
        ctx: Context<UpdateMarketParams>,
        params: MarketParams,
    ) -> Result<()> {
        instructions::update_market_params(ctx, params)
    }

    pub fn set_pause_flags(ctx: Context<SetPauseFlags>, flags: u16) -> Result<()> {
        instructions::set_pause_flags(ctx, flags)
    }

    pub fn transfer_admin(ctx: Context<TransferAdmin>, new_admin: Pubkey) -> Result<()> {
        instructions::transfer_admin(ctx, new_admin)
    }

    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        instructions::accept_admin(ctx)
    }

    pub fn collect_protocol_fees(ctx: Context<CollectProtocolFees>) -> Result<()> {
        instructions::collect_protocol_fees(ctx)
    }

    // ---- LP ---------------------------------------------------------------------------
    pub fn deposit_liquidity(
        ctx: Context<DepositLiquidity>,
        amount: u64,
        min_shares_out: u64,
    ) -> Result<()> {
        instructions::deposit_liquidity(ctx, amount, min_shares_out)
    }

    pub fn withdraw_liquidity(
        ctx: Context<WithdrawLiquidity>,
        shares: u64,
        min_amount_out: u64,
    ) -> Result<()> {
        instructions::withdraw_liquidity(ctx, shares, min_amount_out)
    }

    pub fn execute_liquidity_request(ctx: Context<ExecuteLiquidityRequest>) -> Result<()> {
        instructions::execute_liquidity_request(ctx)
    }

    pub fn cancel_liquidity_request(ctx: Context<CancelLiquidityRequest>) -> Result<()> {
        instructions::cancel_liquidity_request(ctx)
    }

    // ---- trader -----------------------------------------------------------------------
    pub fn open_position(
        ctx: Context<OpenPosition>,
        side: Side,
        size_usd: u64,
        collateral: u64,
        acceptable_price: u64,
    ) -> Result<()> {
        instructions::open_position(ctx, side, size_usd, collateral, acceptable_price)
    }

    pub fn decrease_position(
        ctx: Context<DecreasePosition>,
        size_usd: u64,
        acceptable_price: u64,
        min_amount_out: u64,
    ) -> Result<()> {
        instructions::decrease_position(ctx, size_usd, acceptable_price, min_amount_out)
    }

    pub fn add_collateral(ctx: Context<AddCollateral>, amount: u64) -> Result<()> {
        instructions::add_collateral(ctx, amount)
    }

    pub fn remove_collateral(ctx: Context<RemoveCollateral>, amount: u64) -> Result<()> {
        instructions::remove_collateral(ctx, amount)
    }

    pub fn set_trigger_orders(
        ctx: Context<SetTriggerOrders>,
        take_profit_price: u64,
        stop_loss_price: u64,
    ) -> Result<()> {
        instructions::set_trigger_orders(ctx, take_profit_price, stop_loss_price)
    }

    // ---- keeper -----------------------------------------------------------------------
    pub fn refresh_market(ctx: Context<RefreshMarket>) -> Result<()> {
        instructions::refresh_market(ctx)
    }

    pub fn liquidate(ctx: Context<Liquidate>) -> Result<()> {
        instructions::liquidate(ctx)
    }

    pub fn execute_trigger_order(ctx: Context<ExecuteTriggerOrder>) -> Result<()> {
        instructions::execute_trigger_order(ctx)
    }

    pub fn auto_deleverage(ctx: Context<AutoDeleverage>) -> Result<()> {
        instructions::auto_deleverage(ctx)
    }

    // ---- views ------------------------------------------------------------------------
    pub fn get_pool_value(ctx: Context<GetPoolValue>) -> Result<PoolValueView> {
        instructions::get_pool_value(ctx)
    }

    pub fn quote_open_position(
        ctx: Context<QuoteOpenPosition>,
        side: Side,
        size_usd: u64,
        collateral: u64,
    ) -> Result<OpenQuote> {
        instructions::quote_open_position(ctx, side, size_usd, collateral)
    }

    pub fn quote_decrease_position(
        ctx: Context<QuoteDecreasePosition>,
        size_usd: u64,
    ) -> Result<DecreaseOutcome> {
        instructions::quote_decrease_position(ctx, size_usd)
    }

    pub fn get_position_health(ctx: Context<GetPositionHealth>) -> Result<PositionHealth> {
        instructions::get_position_health(ctx)
    }
}
