use anchor_lang::prelude::*;

use crate::constants::CONFIG_ADDRESS;

use crate::error::TidepoolError;
use crate::events::{emit, AdminTransferred};
use crate::state::Config;

/// Second step of an admin handover: the pending admin signs to take over.
#[event_cpi]
#[derive(Accounts)]
pub struct AcceptAdmin<'info> {
    pub new_admin: Signer<'info>,
    #[account(mut, dup, address = CONFIG_ADDRESS,
        constraint = config.pending_admin == new_admin.key() @ TidepoolError::NotPendingAdmin)]
    pub config: Account<'info, Config>,
}

pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
    let config = &mut ctx.accounts.config;
    let previous_admin = config.admin;
    config.admin = ctx.accounts.new_admin.key();
    config.pending_admin = Pubkey::default();
    emit(
        &ctx.accounts.event_authority,
        &AdminTransferred {
            previous_admin,
            new_admin: config.admin,
        },
    )?;
    Ok(())
}
