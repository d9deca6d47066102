use anchor_lang::prelude::*;
use anchor_spl::token::{self, Burn, Mint, Token, TokenAccount, Transfer};

use crate::constants::{pause, CONFIG_SEED, POOL_SEED};
use crate::error::TidepoolError;
use crate::events::LiquidityWithdrawn;
use crate::math::shares::quote_withdraw;
use crate::math::valuation::{withdrawable_liquidity, Valuation};
use crate::math::SafeMath;
use crate::state::{Config, Pool};
use crate::valuation::PoolMarks;

/// Burn LP shares for settlement tokens priced at the lowest plausible pool value. Never
/// takes liquidity that backs open positions.
///
/// Remaining accounts: `[market_i, price_update_i]` for every market of the pool, in order.
#[event_cpi]
#[derive(Accounts)]
pub struct WithdrawLiquidity<'info> {
    pub owner: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, seeds = [POOL_SEED, &pool.pool_id.to_le_bytes()], bump = pool.bump)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, address = pool.vault @ TidepoolError::InvalidVault)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = pool.lp_mint @ TidepoolError::InvalidLpMint)]
    pub lp_mint: Box<Account<'info, Mint>>,
    /// Holds the shares to burn.
    #[account(mut,
        constraint = lp_account.mint == pool.lp_mint @ TidepoolError::InvalidMint,
        constraint = lp_account.owner == owner.key() @ TidepoolError::InvalidTokenOwner)]
    pub lp_account: Box<Account<'info, TokenAccount>>,
    /// Receives the settlement tokens (any holder).
    /// (Anchor refuses the vault here: a mutable account passed twice.)
    #[account(mut, constraint = receiver.mint == pool.settlement_mint @ TidepoolError::InvalidMint)]
    pub receiver: Box<Account<'info, TokenAccount>>,
    /// CHECK: validated by `oracle::read_price` (owner, discriminator, feed, age, guards).
    pub settlement_price_update: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
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
    require!(shares > 0, TidepoolError::ZeroAmount);
    require!(
        ctx.accounts.lp_account.amount >= shares,
        TidepoolError::InsufficientShares
    );
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let pool = &ctx.accounts.pool;
    let marks = PoolMarks::load(
        pool,
        &pool_key,
        &ctx.accounts.settlement_price_update,
        ctx.remaining_accounts,
        now,
    )?;
    let pool_value = marks.pool_value(pool, Valuation::Min)?;
    let supply = pool.share_supply(ctx.accounts.lp_mint.supply)?;
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

    token::burn(
        CpiContext::new(
            ctx.accounts.token_program.key(),
            Burn {
                mint: ctx.accounts.lp_mint.to_account_info(),
                from: ctx.accounts.lp_account.to_account_info(),
                authority: ctx.accounts.owner.to_account_info(),
            },
        ),
        shares,
    )?;
    let signer = pool.signer();
    token::transfer(
        CpiContext::new_with_signer(
            ctx.accounts.token_program.key(),
            Transfer {
                from: ctx.accounts.vault.to_account_info(),
                to: ctx.accounts.receiver.to_account_info(),
                authority: ctx.accounts.pool.to_account_info(),
            },
            &[&signer.seeds()],
        ),
        quote.amount_out,
    )?;

    let pool = &mut ctx.accounts.pool;
    pool.lp_balance = pool.lp_balance.safe_sub(quote.amount_out)?;
    pool.cumulative_lp_fees = pool.cumulative_lp_fees.safe_add(quote.fee)?;
    pool.settlement_last_publish_time = marks.settlement.publish_time;
    emit_cpi!(LiquidityWithdrawn {
        pool: pool_key,
        owner: ctx.accounts.owner.key(),
        shares,
        amount_out: quote.amount_out,
        fee: quote.fee,
        pool_value,
        share_supply: supply.safe_sub(shares)?,
        lp_balance: pool.lp_balance,
    });
    Ok(())
}
