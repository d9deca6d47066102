//! Program-derived addresses. Each returns `(address, bump)`.

use std::sync::OnceLock;

use anchor_lang::prelude::Pubkey;
use tidepool::constants::{
    CONFIG_SEED, LP_MINT_SEED, MARKET_SEED, POOL_SEED, POSITION_SEED, VAULT_SEED,
};
use tidepool::state::Side;
use tidepool::ID;

/// A PDA of fixed seeds, derived once per process (the derivation's curve checks cost more
/// than building the instruction that names it).
fn derived_once(cell: &'static OnceLock<(Pubkey, u8)>, seeds: &[&[u8]]) -> (Pubkey, u8) {
    *cell.get_or_init(|| Pubkey::find_program_address(seeds, &ID))
}

pub fn config() -> (Pubkey, u8) {
    static CONFIG: OnceLock<(Pubkey, u8)> = OnceLock::new();
    derived_once(&CONFIG, &[CONFIG_SEED])
}

pub fn pool(pool_id: u16) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[POOL_SEED, &pool_id.to_le_bytes()], &ID)
}

pub fn vault(pool: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[VAULT_SEED, pool.as_ref()], &ID)
}

pub fn lp_mint(pool: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[LP_MINT_SEED, pool.as_ref()], &ID)
}

pub fn market(pool: &Pubkey, index: u8) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[MARKET_SEED, pool.as_ref(), &[index]], &ID)
}

pub fn position(market: &Pubkey, owner: &Pubkey, side: Side) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[
            POSITION_SEED,
            market.as_ref(),
            owner.as_ref(),
            &[side.seed()],
        ],
        &ID,
    )
}

/// A pool owner's pending LP request.
pub fn lp_request(pool: &Pubkey, owner: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(
        &[
            tidepool::constants::LP_REQUEST_SEED,
            pool.as_ref(),
            owner.as_ref(),
        ],
        &ID,
    )
}

/// The program's ProgramData account (upgradeable loader), whose upgrade authority alone
/// may `initialize`.
pub fn program_data() -> Pubkey {
    anchor_lang::solana_program::bpf_loader_upgradeable::get_program_data_address(&ID)
}

/// Authority of `emit_cpi!` self-invocations (Anchor's `__event_authority`).
pub fn event_authority() -> (Pubkey, u8) {
    static EVENT_AUTHORITY: OnceLock<(Pubkey, u8)> = OnceLock::new();
    derived_once(&EVENT_AUTHORITY, &[b"__event_authority"])
}

/// Pyth's sponsored price feed account for `feed_id` on `shard`: a PDA `[shard (u16 LE),
/// feed id]` of Pyth's push-oracle program (shard 0 is the one Pyth keeps updated).
pub fn pyth_feed_account(shard: u16, feed_id: &[u8; 32]) -> Pubkey {
    Pubkey::find_program_address(
        &[&shard.to_le_bytes(), feed_id],
        &pyth_solana_receiver_sdk::PYTH_PUSH_ORACLE_ID,
    )
    .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_once_is_the_derivation() {
        for _ in 0..2 {
            assert_eq!(config(), Pubkey::find_program_address(&[CONFIG_SEED], &ID));
            assert_eq!(config().0, tidepool::constants::CONFIG_ADDRESS);
            assert_eq!(
                event_authority(),
                Pubkey::find_program_address(&[b"__event_authority"], &ID)
            );
        }
    }
}
