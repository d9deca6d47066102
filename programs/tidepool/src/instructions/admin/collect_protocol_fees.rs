use anchor_lang::prelude::*;

use crate::constants::CONFIG_ADDRESS;
use anchor_spl::token::{Token, TokenAccount};

use crate::engine::token::pay_from_vault;
use crate::error::TidepoolError;
use crate::events::{emit, ProtocolFeesCollected};
use crate::state::{Config, Pool};

/// The fee recipient collects the protocol's share of a pool's fees.
#[event_cpi]
#[derive(Accounts)]
pub struct CollectProtocolFees<'info> {
    pub fee_recipient: Signer<'info>,
    #[account(address = CONFIG_ADDRESS,
        constraint = config.fee_recipient == fee_recipient.key() @ TidepoolError::NotFeeRecipient)]
    pub config: Box<Account<'info, Config>>,
    #[account(mut, dup)]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, dup, address = pool.vault @ TidepoolError::InvalidVault)]
    pub vault: Box<Account<'info, TokenAccount>>,
    #[account(mut, dup,
        constraint = receiving_account.key() != vault.key() @ TidepoolError::VaultAsUserAccount,
        constraint = receiving_account.mint == pool.settlement_mint @ TidepoolError::InvalidMint)]
    pub receiving_account: Box<Account<'info, TokenAccount>>,
    pub token_program: Program<'info, Token>,
}

pub fn collect_protocol_fees(ctx: Context<CollectProtocolFees>) -> Result<()> {
    let a = &mut *ctx.accounts;
    let amount = a.pool.protocol_fees_owed;
    require!(amount > 0, TidepoolError::NoFeesToCollect);
    a.pool.protocol_fees_owed = 0;
    pay_from_vault(
        &a.token_program,
        &a.vault,
        &a.receiving_account,
        a.pool.to_account_info(),
        &a.pool,
        amount,
    )?;
    let event = ProtocolFeesCollected {
        pool: a.pool.key(),
        recipient: a.receiving_account.key(),
        amount,
    };
    emit(&ctx.accounts.event_authority, &event)?;
    Ok(())
}
