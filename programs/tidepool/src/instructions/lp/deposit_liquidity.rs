use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, MintTo, Token, TokenAccount, Transfer};

use crate::constants::{pause, CONFIG_SEED, POOL_SEED};
use crate::error::TidepoolError;
use crate::events::LiquidityDeposited;
use crate::math::shares::quote_deposit;
use crate::math::valuation::Valuation;
use crate::math::SafeMath;
use crate::state::{Config, Pool};
use crate::valuation::PoolMarks;

/// Deposit settlement tokens, receive LP shares priced at the highest plausible pool value.
///
/// Remaining accounts: `[market_i, price_update_i]` for every market of the pool, in order.
#[event_cpi]
#[derive(Accounts)]
pub struct DepositLiquidity<'info> {
    pub owner: Signer<'info>,
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, seeds = [POOL_SEED, &pool.pool_id.to_le_bytes()], bump = pool.bump)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, address = pool.vault @ TidepoolError::InvalidVault)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, address = pool.lp_mint @ TidepoolError::InvalidLpMint)]
    pub lp_mint: Box<Account<'info, Mint>>,
    /// Pays the deposit.
    #[account(mut,
        constraint = funding_account.mint == pool.settlement_mint @ TidepoolError::InvalidMint,
        constraint = funding_account.owner == owner.key() @ TidepoolError::InvalidTokenOwner)]
    pub funding_account: Box<Account<'info, TokenAccount>>,
    /// Receives the LP shares (any holder).
    #[account(mut, constraint = lp_receiver.mint == pool.lp_mint @ TidepoolError::InvalidMint)]
    pub lp_receiver: Box<Account<'info, TokenAccount>>,
    /// CHECK: validated by `oracle::read_price` (owner, discriminator, feed, age, guards).
    pub settlement_price_update: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
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
    require!(amount > 0, TidepoolError::ZeroAmount);
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
    let pool_value = marks.pool_value(pool, Valuation::Max)?;
    let supply = pool.share_supply(ctx.accounts.lp_mint.supply)?;
    require!(supply == 0 || pool_value > 0, TidepoolError::PoolValueZero);
    let quote = quote_deposit(amount, pool.params.deposit_fee_bps, pool_value, supply)?;
    require!(quote.shares_out > 0, TidepoolError::DepositTooSmall);
    require!(
        quote.shares_out >= min_shares_out,
        TidepoolError::SlippageExceeded
    );

    token::transfer(
        CpiContext::new(
            ctx.accounts.token_program.key(),
            Transfer {
                from: ctx.accounts.funding_account.to_account_info(),
                to: ctx.accounts.vault.to_account_info(),
                authority: ctx.accounts.owner.to_account_info(),
            },
        ),
        amount,
    )?;
    let signer = pool.signer();
    token::mint_to(
        CpiContext::new_with_signer(
            ctx.accounts.token_program.key(),
            MintTo {
                mint: ctx.accounts.lp_mint.to_account_info(),
                to: ctx.accounts.lp_receiver.to_account_info(),
                authority: ctx.accounts.pool.to_account_info(),
            },
            &[&signer.seeds()],
        ),
        quote.shares_out,
    )?;

    let pool = &mut ctx.accounts.pool;
    pool.lp_balance = pool.lp_balance.safe_add(amount)?;
    pool.locked_shares = pool.locked_shares.safe_add(quote.shares_locked)?;
    pool.cumulative_lp_fees = pool.cumulative_lp_fees.safe_add(quote.fee)?;
    pool.settlement_last_publish_time = marks.settlement.publish_time;
    let share_supply = supply
        .safe_add(quote.shares_out)?
        .safe_add(quote.shares_locked)?;
    emit_cpi!(LiquidityDeposited {
        pool: pool_key,
        owner: ctx.accounts.owner.key(),
        amount,
        fee: quote.fee,
        shares_out: quote.shares_out,
        shares_locked: quote.shares_locked,
        pool_value,
        share_supply,
        lp_balance: pool.lp_balance,
    });
    Ok(())
}
