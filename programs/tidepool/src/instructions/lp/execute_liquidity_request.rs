use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::{pause, CONFIG_ADDRESS};
use crate::engine::pool_value::{Marking, PoolMarks};
use crate::engine::token::{mint_shares, pay_from_vault};
use crate::error::TidepoolError;
use crate::events::{emit, LiquidityDeposited, LiquidityWithdrawn};
use crate::math::shares::{quote_deposit_request, quote_withdraw_request, ShareState};
use crate::math::valuation::{withdrawable_liquidity, Valuation};
use crate::math::SafeMath;
use crate::state::{Config, LiquidityRequest, LiquidityRequestKind, Pool};

/// Permissionless: execute a pending LP request with prices (every market's and the
/// settlement token's) published at least `lp_request_delay_seconds` after it, at the
/// share price least favourable to the requester of the request's and the execution's.
/// The keeper gets the request's keeper fee (lamports); the owner gets the rent back.
/// A request that cannot execute (slippage bound, liquidity) fails and stays for its owner
/// to cancel.
///
/// Remaining accounts: `[market_i (writable), price_update_i]` for every market of the
/// pool, in order.
#[event_cpi]
#[derive(Accounts)]
pub struct ExecuteLiquidityRequest<'info> {
    /// Receives the keeper fee.
    #[account(mut)]
    pub keeper: Signer<'info>,
    #[account(address = CONFIG_ADDRESS)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, dup)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, dup, address = pool.vault @ TidepoolError::InvalidVault)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, dup, address = pool.lp_mint @ TidepoolError::InvalidLpMint)]
    pub lp_mint: Box<Account<'info, Mint>>,
    #[account(mut, dup, close = owner,
        has_one = pool @ TidepoolError::InvalidLiquidityRequest,
        has_one = owner @ TidepoolError::InvalidLiquidityRequest)]
    pub request: Box<Account<'info, LiquidityRequest>>,
    /// CHECK: the request's owner (`has_one` above); receives the request's rent.
    #[account(mut)]
    pub owner: UncheckedAccount<'info>,
    /// The token account the request names: LP shares for a deposit, settlement tokens for
    /// a withdrawal.
    #[account(mut, dup, address = request.receiver @ TidepoolError::InvalidReceiver)]
    pub receiver: Box<Account<'info, TokenAccount>>,
    /// CHECK: validated by `engine::marks::read_price` (owner, discriminator, feed, age, guards).
    pub settlement_price_update: UncheckedAccount<'info>,
    pub token_program: Program<'info, Token>,
}

impl ExecuteLiquidityRequest<'_> {
    pub fn validate(&self) -> Result<()> {
        let flag = match self.request.kind {
            LiquidityRequestKind::Deposit => pause::DEPOSIT,
            LiquidityRequestKind::Withdrawal => pause::WITHDRAW,
        };
        pause::require_active(flag, &[self.config.pause_flags, self.pool.pause_flags])?;
        Ok(())
    }
}

pub fn execute_liquidity_request(ctx: Context<ExecuteLiquidityRequest>) -> Result<()> {
    ctx.accounts.validate()?;
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    let request = (**ctx.accounts.request).clone();
    let not_before = request.executable_from(&ctx.accounts.pool)?;
    let marks = PoolMarks::load(
        &mut ctx.accounts.pool,
        &pool_key,
        &ctx.accounts.settlement_price_update,
        ctx.remaining_accounts,
        now,
        Marking::Persist { not_before },
    )?;
    let requested = ShareState {
        pool_value: request.pool_value,
        share_supply: request.share_supply,
    };
    let supply = ctx
        .accounts
        .pool
        .share_supply(ctx.accounts.lp_mint.supply)?;
    let keeper = ctx.accounts.keeper.key();
    match request.kind {
        LiquidityRequestKind::Deposit => {
            let pool = &ctx.accounts.pool;
            require_keys_eq!(
                ctx.accounts.receiver.mint,
                pool.lp_mint,
                TidepoolError::InvalidMint
            );
            let pool_value = marks.pool_value(pool, Valuation::Max)?;
            require!(supply == 0 || pool_value > 0, TidepoolError::PoolValueZero);
            let executed = ShareState {
                pool_value,
                share_supply: supply,
            };
            let quote = quote_deposit_request(
                request.amount,
                pool.params.deposit_fee_bps,
                requested,
                executed,
            )?;
            require!(quote.shares_out > 0, TidepoolError::DepositTooSmall);
            require!(
                quote.shares_out >= request.min_out,
                TidepoolError::SlippageExceeded
            );
            mint_shares(
                &ctx.accounts.token_program,
                &ctx.accounts.lp_mint,
                &ctx.accounts.receiver,
                ctx.accounts.pool.to_account_info(),
                pool,
                quote.shares_out,
            )?;
            let pool = &mut ctx.accounts.pool;
            pool.pending_deposits = pool.pending_deposits.safe_sub(request.amount)?;
            pool.lp_balance = pool.lp_balance.safe_add(request.amount)?;
            pool.locked_shares = pool.locked_shares.safe_add(quote.shares_locked)?;
            pool.cumulative_lp_fees = pool.cumulative_lp_fees.safe_add(quote.fee)?;
            emit(
                &ctx.accounts.event_authority,
                &LiquidityDeposited {
                    pool: pool_key,
                    owner: request.owner,
                    keeper,
                    amount: request.amount,
                    fee: quote.fee,
                    shares_out: quote.shares_out,
                    shares_locked: quote.shares_locked,
                    pool_value,
                    share_supply: supply
                        .safe_add(quote.shares_out)?
                        .safe_add(quote.shares_locked)?,
                    lp_balance: pool.lp_balance,
                },
            )?;
        }
        LiquidityRequestKind::Withdrawal => {
            let pool = &ctx.accounts.pool;
            require_keys_eq!(
                ctx.accounts.receiver.mint,
                pool.settlement_mint,
                TidepoolError::InvalidMint
            );
            let pool_value = marks.pool_value(pool, Valuation::Min)?;
            let executed = ShareState {
                pool_value,
                share_supply: supply,
            };
            let quote = quote_withdraw_request(
                request.amount,
                pool.params.withdraw_fee_bps,
                requested,
                executed,
            )?;
            require!(quote.amount_out > 0, TidepoolError::WithdrawalTooSmall);
            require!(
                quote.amount_out >= request.min_out,
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
            pay_from_vault(
                &ctx.accounts.token_program,
                &ctx.accounts.vault,
                &ctx.accounts.receiver,
                ctx.accounts.pool.to_account_info(),
                pool,
                quote.amount_out,
            )?;
            let pool = &mut ctx.accounts.pool;
            pool.pending_withdrawal_shares =
                pool.pending_withdrawal_shares.safe_sub(request.amount)?;
            pool.lp_balance = pool.lp_balance.safe_sub(quote.amount_out)?;
            pool.cumulative_lp_fees = pool.cumulative_lp_fees.safe_add(quote.fee)?;
            emit(
                &ctx.accounts.event_authority,
                &LiquidityWithdrawn {
                    pool: pool_key,
                    owner: request.owner,
                    keeper,
                    shares: request.amount,
                    amount_out: quote.amount_out,
                    fee: quote.fee,
                    pool_value,
                    share_supply: supply.safe_sub(request.amount)?,
                    lp_balance: pool.lp_balance,
                },
            )?;
        }
    }
    super::pay_keeper_fee(
        &ctx.accounts.request.to_account_info(),
        &ctx.accounts.keeper.to_account_info(),
        request.keeper_fee_lamports,
    )
}
