use anchor_lang::prelude::*;

use crate::constants::CONFIG_ADDRESS;

use crate::error::TidepoolError;
use crate::events::{emit, AdminTransferProposed};
use crate::state::Config;

/// First step of an admin handover: propose `new_admin` (default key cancels).
#[event_cpi]
#[derive(Accounts)]
pub struct TransferAdmin<'info> {
    pub admin: Signer<'info>,
    #[account(mut, dup, address = CONFIG_ADDRESS,
        has_one = admin @ TidepoolError::Unauthorized)]
    pub config: Account<'info, Config>,
}

pub fn transfer_admin(ctx: Context<TransferAdmin>, new_admin: Pubkey) -> Result<()> {
    let config = &mut ctx.accounts.config;
    config.pending_admin = new_admin;
    emit(
        &ctx.accounts.event_authority,
        &AdminTransferProposed {
            admin: config.admin,
            pending_admin: new_admin,
        },
    )?;
    Ok(())
}
