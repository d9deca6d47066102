//! Seeds, limits and flags. Fixed-point precisions live in `math::precision` so that the
//! client and simulator get them without Anchor.

pub use crate::math::precision::*;

pub const CONFIG_SEED: &[u8] = b"config";
/// The config account's address, the PDA of `[CONFIG_SEED]` (a test re-derives it).
/// Instructions compare the config with it instead of re-deriving it (~1.5k CU a time).
pub const CONFIG_ADDRESS: anchor_lang::prelude::Pubkey =
    anchor_lang::prelude::pubkey!("2g3LDkWqWRgCDSAB5CNtrZx9g1XLbJ1Kf19FdaZkaYkh");
pub const POOL_SEED: &[u8] = b"pool";
pub const VAULT_SEED: &[u8] = b"vault";
pub const LP_MINT_SEED: &[u8] = b"lp_mint";
pub const MARKET_SEED: &[u8] = b"market";
pub const POSITION_SEED: &[u8] = b"position";
pub const LP_REQUEST_SEED: &[u8] = b"lp_request";

/// Layout version written into every account this program creates.
pub const ACCOUNT_VERSION: u8 = 1;

/// Markets per pool. Valuing a pool takes every market and its price account, so this
/// bound keeps LP instructions inside one legacy transaction (8 pairs = 16 accounts on top
/// of the instruction's own ~10).
pub const MAX_MARKETS_PER_POOL: usize = 8;

/// How far in the future (by the cluster clock) a Pyth publish time may be. Pyth's
/// publish time is wall-clock time on Pythnet, and the Solana clock may lag it by a few
/// seconds; anything further ahead is refused as future-dated.
pub const ORACLE_MAX_FUTURE_SECONDS: i64 = 10;

/// Pause flags, one bit an action. The effective flags of an action are the OR of the
/// protocol's, the pool's and (for market actions) the market's. Liquidation and
/// `refresh_market` are never paused.
pub mod pause {
    pub const DEPOSIT: u16 = 1 << 0;
    pub const WITHDRAW: u16 = 1 << 1;
    /// Opening and increasing positions.
    pub const OPEN: u16 = 1 << 2;
    /// Decreasing and closing positions.
    pub const DECREASE: u16 = 1 << 3;
    /// Adding and removing collateral.
    pub const COLLATERAL: u16 = 1 << 4;
    /// Keeper execution of take-profit / stop-loss orders.
    pub const TRIGGER: u16 = 1 << 5;
    /// Auto-deleveraging.
    pub const DELEVERAGE: u16 = 1 << 6;
    pub const ALL: u16 = DEPOSIT | WITHDRAW | OPEN | DECREASE | COLLATERAL | TRIGGER | DELEVERAGE;

    /// Refuse `action` when any of the flag sets it applies to (protocol, pool, market)
    /// pauses it.
    pub fn require_active(action: u16, flags: &[u16]) -> anchor_lang::Result<()> {
        let paused = flags.iter().fold(0, |all, f| all | f);
        anchor_lang::require!(paused & action == 0, crate::error::TidepoolError::Paused);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::prelude::Pubkey;

    #[test]
    fn config_address_is_the_config_pda() {
        let (pda, _) = Pubkey::find_program_address(&[CONFIG_SEED], &crate::ID);
        assert_eq!(CONFIG_ADDRESS, pda);
    }
}
