use anchor_lang::prelude::*;

use crate::constants::{ACCOUNT_VERSION, CONFIG_SEED};
use crate::events::ConfigInitialized;
use crate::state::Config;

/// Creates the protocol config; the signer becomes admin. Run it right after deployment.
#[event_cpi]
#[derive(Accounts)]
pub struct Initialize<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(init, payer = admin, space = Config::SIZE, seeds = [CONFIG_SEED], bump)]
    pub config: Account<'info, Config>,
    pub system_program: Program<'info, System>,
}

pub fn initialize(ctx: Context<Initialize>, fee_recipient: Pubkey) -> Result<()> {
    let config = &mut ctx.accounts.config;
    config.version = ACCOUNT_VERSION;
    config.bump = ctx.bumps.config;
    config.pause_flags = 0;
    config.admin = ctx.accounts.admin.key();
    config.pending_admin = Pubkey::default();
    config.fee_recipient = fee_recipient;
    emit_cpi!(ConfigInitialized {
        admin: config.admin,
        fee_recipient,
    });
    Ok(())
}
