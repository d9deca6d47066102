//! Program-derived addresses. Each returns `(address, bump)`.

use anchor_lang::prelude::Pubkey;
use tidepool::constants::{
    CONFIG_SEED, LP_MINT_SEED, MARKET_SEED, POOL_SEED, POSITION_SEED, VAULT_SEED,
};
use tidepool::state::Side;
use tidepool::ID;

pub fn config() -> (Pubkey, u8) {
    Pubkey::find_program_address(&[CONFIG_SEED], &ID)
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
    Pubkey::find_program_address(&[b"__event_authority"], &ID)
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
