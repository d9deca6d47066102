use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::{pause, CONFIG_ADDRESS, LP_REQUEST_SEED};
use crate::engine::pool_value::{Marking, PoolMarks};
use crate::engine::token::pay_into_vault;
use crate::error::TidepoolError;
use crate::events::emit;
use crate::math::shares::quote_deposit;
use crate::math::valuation::Valuation;
use crate::math::SafeMath;
use crate::state::{Config, LiquidityRequest, LiquidityRequestKind, Pool};

/// Request a deposit: the tokens go into the vault now, the LP shares are minted when a
/// keeper executes the request (`execute_liquidity_request`) with prices published at
/// least `lp_request_delay_seconds` later, at the worse for the depositor of the share
/// price now and then. The owner may cancel at any time before.
///
/// Remaining accounts: `[market_i (writable), price_update_i]` for every market of the
/// pool, in order. Every market records its price (no later instruction may use an older
/// one) and accrues.
#[event_cpi]
#[derive(Accounts)]
pub struct DepositLiquidity<'info> {
    /// Pays the deposit, the request's rent and the keeper fee.
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(address = CONFIG_ADDRESS)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, dup)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, dup, address = pool.vault @ TidepoolError::InvalidVault)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(address = pool.lp_mint @ TidepoolError::InvalidLpMint)]
    pub lp_mint: Box<Account<'info, Mint>>,
    #[account(mut, dup,
        constraint = funding_account.key() != vault.key() @ TidepoolError::VaultAsUserAccount,
        constraint = funding_account.mint == pool.settlement_mint @ TidepoolError::InvalidMint,
        constraint = funding_account.owner == owner.key() @ TidepoolError::InvalidTokenOwner)]
    pub funding_account: Box<Account<'info, TokenAccount>>,
    /// Will receive the LP shares (any holder).
    #[account(constraint = lp_receiver.mint == pool.lp_mint @ TidepoolError::InvalidMint)]
    pub lp_receiver: Box<Account<'info, TokenAccount>>,
    #[account(init, payer = owner, space = LiquidityRequest::SIZE,
        seeds = [LP_REQUEST_SEED, pool.key().as_ref(), owner.key().as_ref()], bump)]
    pub request: Box<Account<'info, LiquidityRequest>>,
    /// CHECK: validated by `engine::marks::read_price` (owner, discriminator, feed, age, guards).
    pub settlement_price_update: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

impl DepositLiquidity<'_> {
    pub fn validate(&self) -> Result<()> {
        pause::require_active(
            pause::DEPOSIT,
            &[self.config.pause_flags, self.pool.pause_flags],
        )?;
        Ok(())
    }
}

pub fn deposit_liquidity(
    ctx: Context<DepositLiquidity>,
    amount: u64,
    min_shares_out: u64,
) -> Result<()> {
    ctx.accounts.validate()?;
    require!(amount > 0, TidepoolError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let marks = PoolMarks::load(
        &mut ctx.accounts.pool,
        &pool_key,
        &ctx.accounts.settlement_price_update,
        ctx.remaining_accounts,
        now,
        Marking::Persist {
            not_before: i64::MIN,
        },
    )?;
    let pool = &ctx.accounts.pool;
    let pool_value = marks.pool_value(pool, Valuation::Max)?;
    let supply = pool.share_supply(ctx.accounts.lp_mint.supply)?;
    require!(supply == 0 || pool_value > 0, TidepoolError::PoolValueZero);
    // What the deposit would get now: the execution can only give as much or less.
    let quote = quote_deposit(amount, pool.params.deposit_fee_bps, pool_value, supply)?;
    require!(quote.shares_out > 0, TidepoolError::DepositTooSmall);
    require!(
        quote.shares_out >= min_shares_out,
        TidepoolError::SlippageExceeded
    );

    pay_into_vault(
        &ctx.accounts.token_program,
        &ctx.accounts.funding_account,
        &ctx.accounts.vault,
        ctx.accounts.owner.to_account_info(),
        amount,
    )?;
    let event = super::open_request(
        &mut ctx.accounts.request,
        ctx.bumps.request,
        pool,
        pool_key,
        &ctx.accounts.owner,
        &ctx.accounts.system_program,
        super::NewRequest {
            kind: LiquidityRequestKind::Deposit,
            receiver: ctx.accounts.lp_receiver.key(),
            amount,
            min_out: min_shares_out,
            pool_value,
            share_supply: supply,
        },
        now,
    )?;
    let pool = &mut ctx.accounts.pool;
    pool.pending_deposits = pool.pending_deposits.safe_add(amount)?;
    emit(&ctx.accounts.event_authority, &event)?;
    Ok(())
}
