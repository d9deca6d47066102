use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;

use crate::constants::{ACCOUNT_VERSION, CONFIG_SEED};
use crate::error::TidepoolError;
use crate::events::ConfigInitialized;
use crate::state::Config;

/// Creates the protocol config; the signer, who must be the program's upgrade authority,
/// becomes admin. Nobody can front-run it between deployment and initialization.
#[event_cpi]
#[derive(Accounts)]
pub struct Initialize<'info> {
    #[account(mut)]
    pub admin: Signer<'info>,
    #[account(init, payer = admin, space = Config::SIZE, seeds = [CONFIG_SEED], bump)]
    pub config: Account<'info, Config>,
    /// This program's ProgramData account (upgradeable loader), whose upgrade authority
    /// must sign as `admin`.
    #[account(
        seeds = [crate::ID.as_ref()], bump,
        seeds::program = bpf_loader_upgradeable::ID,
        constraint = program_data.upgrade_authority_address == Some(admin.key())
            @ TidepoolError::NotUpgradeAuthority)]
    pub program_data: Account<'info, ProgramData>,
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
