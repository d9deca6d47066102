use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::constants::{
    ACCOUNT_VERSION, CONFIG_ADDRESS, LP_MINT_SEED, MAX_SETTLEMENT_DECIMALS, POOL_SEED, VAULT_SEED,
};
use crate::error::TidepoolError;
use crate::events::{emit, PoolCreated};
use crate::state::{Config, Pool, PoolParams};

/// Creates a pool over `settlement_mint` with its vault and LP mint (both PDAs whose
/// authority is the pool).
#[event_cpi]
#[derive(Accounts)]
#[instruction(pool_id: u16)]
pub struct CreatePool<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(address = CONFIG_ADDRESS, has_one = admin @ TidepoolError::Unauthorized)]
    pub config: Box<Account<'info, Config>>,
    #[account(init, payer = admin, space = Pool::SIZE,
        seeds = [POOL_SEED, &pool_id.to_le_bytes()], bump)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(constraint = settlement_mint.decimals <= MAX_SETTLEMENT_DECIMALS
        @ TidepoolError::InvalidSettlementDecimals)]
    pub settlement_mint: Box<Account<'info, Mint>>,
    #[account(init, payer = admin, seeds = [VAULT_SEED, pool.key().as_ref()], bump,
        token::mint = settlement_mint, token::authority = pool)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(init, payer = admin, seeds = [LP_MINT_SEED, pool.key().as_ref()], bump,
        mint::decimals = settlement_mint.decimals, mint::authority = pool)]
    pub lp_mint: Box<Account<'info, Mint>>,
    pub token_program: Program<'info, Token>,
    pub system_program: Program<'info, System>,
}

pub fn create_pool(
    ctx: Context<CreatePool>,
    pool_id: u16,
    settlement_feed_id: [u8; 32],
    params: PoolParams,
) -> Result<()> {
    params.validate()?;
    require!(settlement_feed_id != [0; 32], TidepoolError::InvalidFeedId);
    let pool_key = ctx.accounts.pool.key();
    let pool = &mut ctx.accounts.pool;
    pool.version = ACCOUNT_VERSION;
    pool.bump = ctx.bumps.pool;
    pool.vault_bump = ctx.bumps.vault;
    pool.lp_mint_bump = ctx.bumps.lp_mint;
    pool.pool_id = pool_id;
    pool.settlement_decimals = ctx.accounts.settlement_mint.decimals;
    pool.settlement_mint = ctx.accounts.settlement_mint.key();
    pool.vault = ctx.accounts.vault.key();
    pool.lp_mint = ctx.accounts.lp_mint.key();
    pool.settlement_feed_id = settlement_feed_id;
    pool.params = params;
    pool.utilization_updated_at = Clock::get()?.unix_timestamp;
    emit(
        &ctx.accounts.event_authority,
        &PoolCreated {
            pool: pool_key,
            pool_id,
            settlement_mint: pool.settlement_mint,
            vault: pool.vault,
            lp_mint: pool.lp_mint,
            settlement_feed_id,
            params,
        },
    )?;
    Ok(())
}
