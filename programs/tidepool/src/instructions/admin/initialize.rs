use anchor_lang::prelude::*;
use anchor_lang::solana_program::bpf_loader_upgradeable;

use crate::constants::{ACCOUNT_VERSION, CONFIG_SEED};
use crate::error::TidepoolError;
use crate::events::{emit, ConfigInitialized};
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
    /// CHECK: this program's ProgramData account (upgradeable loader, by its seeds and
    /// owner), whose upgrade authority must sign as `admin` (`upgrade_authority`).
    #[account(
        seeds = [crate::ID.as_ref()], bump,
        seeds::program = bpf_loader_upgradeable::ID,
        owner = bpf_loader_upgradeable::ID,
        constraint = upgrade_authority(&program_data)? == Some(admin.key())
            @ TidepoolError::NotUpgradeAuthority)]
    pub program_data: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

/// The upgrade authority a ProgramData account records. Its layout is the loader's
/// `UpgradeableLoaderState::ProgramData` in bincode: a `u32` tag (3), the deployment slot
/// (`u64`), then `Option<Pubkey>` (a `0`/`1` byte and the key). Read by hand: Anchor's
/// `Account<ProgramData>` deserializes with bincode, which pulls serde's deserializer into
/// the program (tens of KB of bytecode) for this one check.
fn upgrade_authority(program_data: &AccountInfo) -> Result<Option<Pubkey>> {
    const TAG: usize = 4;
    const SLOT: usize = 8;
    let data = program_data.try_borrow_data()?;
    let malformed = || error!(anchor_lang::error::ErrorCode::AccountDidNotDeserialize);
    let tag = data.get(..TAG).ok_or_else(malformed)?;
    if tag != 3u32.to_le_bytes() {
        return Err(malformed());
    }
    match data.get(TAG + SLOT) {
        Some(0) => Ok(None),
        Some(1) => {
            let key = data
                .get(TAG + SLOT + 1..TAG + SLOT + 33)
                .ok_or_else(malformed)?;
            Ok(Some(Pubkey::try_from(key).map_err(|_| malformed())?))
        }
        _ => Err(malformed()),
    }
}

pub fn initialize(ctx: Context<Initialize>, fee_recipient: Pubkey) -> Result<()> {
    let config = &mut ctx.accounts.config;
    config.version = ACCOUNT_VERSION;
    config.bump = ctx.bumps.config;
    config.pause_flags = 0;
    config.admin = ctx.accounts.admin.key();
    config.pending_admin = Pubkey::default();
    config.fee_recipient = fee_recipient;
    emit(
        &ctx.accounts.event_authority,
        &ConfigInitialized {
            admin: config.admin,
            fee_recipient,
        },
    )?;
    Ok(())
}
