use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::{pause, CONFIG_ADDRESS, LP_REQUEST_SEED};
use crate::engine::pool_value::{Marking, PoolMarks};
use crate::engine::token::burn_shares;
use crate::error::TidepoolError;
use crate::events::emit;
use crate::math::shares::quote_withdraw;
use crate::math::valuation::{withdrawable_liquidity, Valuation};
use crate::math::SafeMath;
use crate::state::{Config, LiquidityRequest, LiquidityRequestKind, Pool};

/// Request a withdrawal: the LP shares are burnt now (they keep counting in the share
/// supply until the request ends), the tokens are paid when a keeper executes the request
/// (`execute_liquidity_request`) with prices published at least `lp_request_delay_seconds`
/// later, at the worse for the withdrawer of the share price now and then. Never takes
/// liquidity that backs open positions. The owner may cancel at any time before (the
/// shares are minted back).
///
/// Remaining accounts: `[market_i (writable), price_update_i]` for every market of the
/// pool, in order.
#[event_cpi]
#[derive(Accounts)]
pub struct WithdrawLiquidity<'info> {
    /// Holds the shares; pays the request's rent and the keeper fee.
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(address = CONFIG_ADDRESS)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, dup)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, dup, address = pool.lp_mint @ TidepoolError::InvalidLpMint)]
    pub lp_mint: Box<Account<'info, Mint>>,
    /// Holds the shares to burn.
    #[account(mut, dup,
        constraint = lp_account.mint == pool.lp_mint @ TidepoolError::InvalidMint,
        constraint = lp_account.owner == owner.key() @ TidepoolError::InvalidTokenOwner)]
    pub lp_account: Box<Account<'info, TokenAccount>>,
    /// Will receive the settlement tokens (any holder, not the vault).
    #[account(
        constraint = receiver.mint == pool.settlement_mint @ TidepoolError::InvalidMint,
        constraint = receiver.key() != pool.vault @ TidepoolError::InvalidReceiver)]
    pub receiver: Box<Account<'info, TokenAccount>>,
    #[account(init, payer = owner, space = LiquidityRequest::SIZE,
        seeds = [LP_REQUEST_SEED, pool.key().as_ref(), owner.key().as_ref()], bump)]
    pub request: Box<Account<'info, LiquidityRequest>>,
    /// CHECK: validated by `engine::marks::read_price` (owner, discriminator, feed, age, guards).
    pub settlement_price_update: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

impl WithdrawLiquidity<'_> {
    pub fn validate(&self) -> Result<()> {
        pause::require_active(
            pause::WITHDRAW,
            &[self.config.pause_flags, self.pool.pause_flags],
        )?;
        Ok(())
    }
}

pub fn withdraw_liquidity(
    ctx: Context<WithdrawLiquidity>,
    shares: u64,
    min_amount_out: u64,
) -> Result<()> {
    ctx.accounts.validate()?;
    require!(shares > 0, TidepoolError::ZeroAmount);
    require!(
        ctx.accounts.lp_account.amount >= shares,
        TidepoolError::InsufficientShares
    );
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
    let pool_value = marks.pool_value(pool, Valuation::Min)?;
    let supply = pool.share_supply(ctx.accounts.lp_mint.supply)?;
    // What the withdrawal would get now: the execution can only give as much or less.
    let quote = quote_withdraw(shares, pool.params.withdraw_fee_bps, pool_value, supply)?;
    require!(quote.amount_out > 0, TidepoolError::WithdrawalTooSmall);
    require!(
        quote.amount_out >= min_amount_out,
        TidepoolError::SlippageExceeded
    );
    let available = withdrawable_liquidity(
        pool.lp_balance,
        pool.total_reserved,
        pool.params.max_utilization_bps,
    )?;
    require!(
        quote.amount_out <= available,
        TidepoolError::InsufficientLiquidity
    );

    burn_shares(
        &ctx.accounts.token_program,
        &ctx.accounts.lp_mint,
        &ctx.accounts.lp_account,
        ctx.accounts.owner.to_account_info(),
        shares,
    )?;
    let event = super::open_request(
        &mut ctx.accounts.request,
        ctx.bumps.request,
        pool,
        pool_key,
        &ctx.accounts.owner,
        &ctx.accounts.system_program,
        super::NewRequest {
            kind: LiquidityRequestKind::Withdrawal,
            receiver: ctx.accounts.receiver.key(),
            amount: shares,
            min_out: min_amount_out,
            pool_value,
            share_supply: supply,
        },
        now,
    )?;
    let pool = &mut ctx.accounts.pool;
    pool.pending_withdrawal_shares = pool.pending_withdrawal_shares.safe_add(shares)?;
    emit(&ctx.accounts.event_authority, &event)?;
    Ok(())
}
