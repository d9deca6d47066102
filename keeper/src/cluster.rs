//! What the keeper needs from a cluster.

use anchor_lang::prelude::Pubkey;
use solana_sdk::instruction::Instruction;

/// Why a transaction did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The program refused it with this custom error code.
    Program(u32),
    /// Anything else (network, blockhash, runtime).
    Other(String),
}

/// The chain as the keeper sees it.
#[allow(async_fn_in_trait)]
pub trait Cluster {
    /// Every account of the Tidepool program whose data starts with `discriminator`.
    async fn program_accounts(
        &mut self,
        discriminator: &[u8],
    ) -> Result<Vec<(Pubkey, Vec<u8>)>, String>;
    /// One account's data, if it exists.
    async fn account_data(&mut self, key: &Pubkey) -> Result<Option<Vec<u8>>, String>;
    /// The cluster's clock.
    async fn unix_time(&mut self) -> Result<i64, String>;
    /// Sign with the keeper's key and send.
    async fn send(&mut self, instructions: &[Instruction]) -> Result<(), SendError>;
    /// The keeper's signing key.
    fn keeper(&self) -> Pubkey;
}
