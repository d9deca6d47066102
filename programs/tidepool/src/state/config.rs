use anchor_lang::prelude::*;
use tidepool_layout::{Fixed, FixedAccount};

/// Protocol-wide singleton. PDA `["config"]`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, InitSpace, Debug, Fixed, FixedAccount)]
pub struct Config {
    /// Layout version (`ACCOUNT_VERSION`).
    pub version: u8,
    pub bump: u8,
    /// Protocol-wide pause flags (`constants::pause`), OR-ed into every pool's.
    pub pause_flags: u16,
    /// Signs admin instructions.
    pub admin: Pubkey,
    /// Proposed by `transfer_admin`, becomes admin on `accept_admin`; default when none.
    pub pending_admin: Pubkey,
    /// Receives protocol fees (`collect_protocol_fees`).
    pub fee_recipient: Pubkey,
    pub padding: [u8; 64],
}

impl Config {
    /// Bytes on chain, discriminator included.
    pub const SIZE: usize = 8 + 1 + 1 + 2 + 32 * 3 + 64;
    /// Byte offset of `admin` (memcmp filters; asserted in the client's layout test).
    pub const ADMIN_OFFSET: usize = 12;
}
crate::const_assert_size!(Config, Config::SIZE);
