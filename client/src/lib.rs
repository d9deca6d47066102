//! Rust client for Tidepool.
//!
//! - [`pda`]: every program-derived address.
//! - [`ix`]: one builder per instruction, producing a ready `Instruction`.
//! - [`decode`]: account and return-data decoding.
//! - [`math`]: the program's own math (re-exported, not rewritten).
#![allow(clippy::too_many_arguments)]

pub mod decode;
pub mod defaults;
pub mod errors;
pub mod feeds;
pub mod ix;
pub mod keeper;
pub mod pda;

pub use tidepool;
pub use tidepool::engine::pool_value::PoolValueView;
pub use tidepool::math;
pub use tidepool::state::{Config, Market, MarketParams, OracleGuards, Pool, PoolParams};
pub use tidepool::ID as PROGRAM_ID;

#[cfg(test)]
mod layout_tests {
    use anchor_lang::prelude::Pubkey;
    use anchor_lang::{AccountSerialize, Space};
    use tidepool::state::{Config, LiquidityRequest, Market, Pool, Position};

    /// Byte offset of the first occurrence of `needle` in `hay`.
    fn offset_of(hay: &[u8], needle: &[u8]) -> usize {
        hay.windows(needle.len())
            .position(|w| w == needle)
            .expect("marker present")
    }

    /// The offsets the README documents for clients (memcmp filters, decoders).
    #[test]
    fn documented_offsets_hold() {
        assert_eq!(Config::SIZE, 8 + Config::INIT_SPACE);
        let marker = Pubkey::new_from_array([0xab; 32]);
        let mut config: Config = zeroed();
        config.admin = marker;
        let mut data = Vec::new();
        config.try_serialize(&mut data).unwrap();
        assert_eq!(offset_of(&data, marker.as_ref()), Config::ADMIN_OFFSET);
        let mut market: Market = zeroed();
        market.pool = marker;
        let mut data = Vec::new();
        market.try_serialize(&mut data).unwrap();
        assert_eq!(data.len(), Market::SIZE);
        assert_eq!(offset_of(&data, marker.as_ref()), Market::POOL_OFFSET);

        let mut pool: Pool = zeroed();
        pool.settlement_mint = marker;
        pool.lp_balance = 0x0102_0304_0506_0708;
        let mut data = Vec::new();
        pool.try_serialize(&mut data).unwrap();
        assert_eq!(data.len(), Pool::SIZE);
        assert_eq!(
            offset_of(&data, marker.as_ref()),
            Pool::SETTLEMENT_MINT_OFFSET
        );
        assert_eq!(
            offset_of(&data, &0x0102_0304_0506_0708u64.to_le_bytes()),
            Pool::LP_BALANCE_OFFSET
        );
        assert_eq!((Config::SIZE, Pool::SIZE, Market::SIZE), (172, 614, 663));

        let mut position: Position = zeroed();
        position.owner = marker;
        position.market = Pubkey::new_from_array([0xcd; 32]);
        let mut data = Vec::new();
        position.try_serialize(&mut data).unwrap();
        assert_eq!(data.len(), Position::SIZE);
        assert_eq!(Position::SIZE, 227);
        const { assert!(Position::SIZE <= 256, "a position fits 256 bytes") };
        assert_eq!(offset_of(&data, marker.as_ref()), Position::OWNER_OFFSET);
        assert_eq!(offset_of(&data, &[0xcd; 32]), Position::MARKET_OFFSET);

        let mut request: LiquidityRequest = zeroed();
        request.pool = marker;
        request.owner = Pubkey::new_from_array([0xcd; 32]);
        let mut data = Vec::new();
        request.try_serialize(&mut data).unwrap();
        assert_eq!((data.len(), LiquidityRequest::SIZE), (219, 219));
        assert_eq!(
            offset_of(&data, marker.as_ref()),
            LiquidityRequest::POOL_OFFSET
        );
        assert_eq!(
            offset_of(&data, &[0xcd; 32]),
            LiquidityRequest::OWNER_OFFSET
        );
    }

    fn zeroed<T: anchor_lang::AccountDeserialize + anchor_lang::Discriminator>() -> T {
        // Every field of these accounts is plain data; an all-zero body decodes.
        let mut bytes = T::DISCRIMINATOR.to_vec();
        bytes.resize(4096, 0);
        T::try_deserialize(&mut &bytes[..]).expect("zero body decodes")
    }
}
