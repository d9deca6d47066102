use anchor_lang::prelude::*;
use anchor_spl::token::{Token, TokenAccount};

use crate::constants::{pause, ACCOUNT_VERSION, CONFIG_ADDRESS, POSITION_SEED};
use crate::engine::marks::mark_market;
use crate::engine::marks::require_pegged;
use crate::engine::position::{apply_open, require_initial_margin};
use crate::engine::token::pay_into_vault;
use crate::error::TidepoolError;
use crate::events::{emit, PositionIncreased};
use crate::state::{Config, Market, Pool, Position, Side};

/// Open a position, or increase the owner's position on that market and side.
#[event_cpi]
#[derive(Accounts)]
#[instruction(side: Side)]
pub struct OpenPosition<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(address = CONFIG_ADDRESS)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, dup)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, dup, has_one = pool @ TidepoolError::MarketPoolMismatch)]
    pub market: Box<Account<'info, Market>>,
    #[account(init_if_needed, dup, payer = owner, space = Position::SIZE,
        seeds = [POSITION_SEED, market.key().as_ref(), owner.key().as_ref(), &[side.seed()]],
        bump)]
    pub position: Box<Account<'info, Position>>,
    #[account(mut, dup, address = pool.vault @ TidepoolError::InvalidVault)]
    pub vault: Box<Account<'info, TokenAccount>>,
    /// Pays the collateral.
    #[account(mut, dup,
        constraint = funding_account.key() != vault.key() @ TidepoolError::VaultAsUserAccount,
        constraint = funding_account.mint == pool.settlement_mint @ TidepoolError::InvalidMint,
        constraint = funding_account.owner == owner.key() @ TidepoolError::InvalidTokenOwner)]
    pub funding_account: Box<Account<'info, TokenAccount>>,
    /// CHECK: the market's Pyth price, validated by `engine::marks::read_price`.
    pub price_update: UncheckedAccount<'info>,
    /// CHECK: the settlement token's Pyth price, validated by `engine::marks::read_price`.
    pub settlement_price_update: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

impl OpenPosition<'_> {
    pub fn validate(&self) -> Result<()> {
        pause::require_active(
            pause::OPEN,
            &[
                self.config.pause_flags,
                self.pool.pause_flags,
                self.market.pause_flags,
            ],
        )?;
        Ok(())
    }
}

/// `size_usd`: notional to add, USD (`expo = -6`); `collateral`: tokens to add;
/// `acceptable_price` (`expo = -9`): the highest fill for a long, the lowest for a short.
pub fn open_position(
    ctx: Context<OpenPosition>,
    side: Side,
    size_usd: u64,
    collateral: u64,
    acceptable_price: u64,
) -> Result<()> {
    ctx.accounts.validate()?;
    let now = Clock::get()?.unix_timestamp;
    let position_key = ctx.accounts.position.key();
    let market_key = ctx.accounts.market.key();
    let pool_key = ctx.accounts.pool.key();
    let owner_key = ctx.accounts.owner.key();
    let a = &mut *ctx.accounts;

    let (price, settlement) = mark_market(
        &mut a.pool,
        &mut a.market,
        &a.price_update,
        &a.settlement_price_update,
        now,
    )?;
    require_pegged(&a.pool, &settlement)?;

    if a.position.version == 0 {
        let position = &mut a.position;
        position.version = ACCOUNT_VERSION;
        position.bump = ctx.bumps.position;
        position.side = side;
        position.owner = owner_key;
        position.market = market_key;
        position.open_time = now;
    }
    let outcome = apply_open(
        &mut a.pool,
        &mut a.market,
        &mut a.position,
        size_usd,
        collateral,
        acceptable_price,
        &price,
        &settlement,
        now,
    )?;
    require_initial_margin(&a.pool, &a.market, &a.position, &price, &settlement)?;
    pay_into_vault(
        &a.token_program,
        &a.funding_account,
        &a.vault,
        a.owner.to_account_info(),
        collateral,
    )?;

    let p = &a.position;
    let event = PositionIncreased {
        pool: pool_key,
        market: market_key,
        position: position_key,
        owner: owner_key,
        side,
        size_usd,
        size_base: outcome.size_base,
        fill_price: outcome.fill_price,
        collateral_in: collateral,
        open_fee: outcome.open_fee,
        reserve_added: outcome.reserve,
        borrow_fee_settled: outcome.borrow_fee_settled,
        funding_settled: outcome.funding_settled,
        total_size_base: p.size_base,
        total_entry_notional_usd: p.entry_notional_usd,
        total_collateral: p.collateral,
        total_reserved: p.reserved,
    };
    emit(&ctx.accounts.event_authority, &event)?;
    Ok(())
}
