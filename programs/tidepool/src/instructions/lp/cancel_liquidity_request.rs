use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::engine::token::{mint_shares, pay_from_vault};
use crate::error::TidepoolError;
use crate::events::{emit, LiquidityRequestCancelled};
use crate::math::SafeMath;
use crate::state::{LiquidityRequest, LiquidityRequestKind, Pool};

/// The owner cancels its pending LP request at any time (never paused): a deposit's
/// tokens go back, a withdrawal's shares are minted back; the rent and the keeper fee come
/// back with the closed request.
#[event_cpi]
#[derive(Accounts)]
pub struct CancelLiquidityRequest<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
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
    /// Gets the refund: settlement tokens (deposit) or LP shares (withdrawal), any holder
    /// the owner chooses.
    #[account(mut, dup, constraint = refund_account.key() != pool.vault @ TidepoolError::InvalidReceiver)]
    pub refund_account: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

pub fn cancel_liquidity_request(ctx: Context<CancelLiquidityRequest>) -> Result<()> {
    let request = (**ctx.accounts.request).clone();
    let pool_key = ctx.accounts.pool.key();
    match request.kind {
        LiquidityRequestKind::Deposit => {
            require_keys_eq!(
                ctx.accounts.refund_account.mint,
                ctx.accounts.pool.settlement_mint,
                TidepoolError::InvalidMint
            );
            pay_from_vault(
                &ctx.accounts.token_program,
                &ctx.accounts.vault,
                &ctx.accounts.refund_account,
                ctx.accounts.pool.to_account_info(),
                &ctx.accounts.pool,
                request.amount,
            )?;
            let pool = &mut ctx.accounts.pool;
            pool.pending_deposits = pool.pending_deposits.safe_sub(request.amount)?;
        }
        LiquidityRequestKind::Withdrawal => {
            require_keys_eq!(
                ctx.accounts.refund_account.mint,
                ctx.accounts.pool.lp_mint,
                TidepoolError::InvalidMint
            );
            mint_shares(
                &ctx.accounts.token_program,
                &ctx.accounts.lp_mint,
                &ctx.accounts.refund_account,
                ctx.accounts.pool.to_account_info(),
                &ctx.accounts.pool,
                request.amount,
            )?;
            let pool = &mut ctx.accounts.pool;
            pool.pending_withdrawal_shares =
                pool.pending_withdrawal_shares.safe_sub(request.amount)?;
        }
    }
    emit(
        &ctx.accounts.event_authority,
        &LiquidityRequestCancelled {
            pool: pool_key,
            owner: request.owner,
            request: ctx.accounts.request.key(),
            kind: request.kind,
            amount: request.amount,
        },
    )?;
    Ok(())
}
