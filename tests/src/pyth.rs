//! Pyth `PriceUpdateV2` accounts as the Pyth receiver would write them.

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountSerialize;
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
use solana_sdk::account::Account;

/// All test prices use Pyth's common exponent.
pub const PYTH_EXPO: i32 = -8;

/// `dollars` as a Pyth price at `PYTH_EXPO`.
pub const fn usd_e8(dollars: i64) -> i64 {
    dollars * 100_000_000
}

/// A feed id that is unique per `n`.
pub fn feed_id(n: u16) -> [u8; 32] {
    let mut id = [0u8; 32];
    id[0] = 0xfe;
    id[30..].copy_from_slice(&n.to_be_bytes());
    id
}

/// The mutable content of a price account.
#[derive(Debug, Clone, Copy)]
pub struct PriceState {
    pub feed_id: [u8; 32],
    pub price: i64,
    pub conf: u64,
    pub ema_price: i64,
    pub expo: i32,
    pub publish_time: i64,
    pub verification: VerificationLevel,
}

impl PriceState {
    /// A healthy price: EMA equal to spot, confidence 0.05 %.
    pub fn new(feed_id: [u8; 32], price: i64, publish_time: i64) -> Self {
        Self {
            feed_id,
            price,
            conf: (price.unsigned_abs() / 2_000).max(1),
            ema_price: price,
            expo: PYTH_EXPO,
            publish_time,
            verification: VerificationLevel::Full,
        }
    }

    pub fn to_update(&self) -> PriceUpdateV2 {
        PriceUpdateV2 {
            write_authority: Pubkey::new_from_array([7; 32]),
            verification_level: self.verification,
            price_message: PriceFeedMessage {
                feed_id: self.feed_id,
                price: self.price,
                conf: self.conf,
                exponent: self.expo,
                publish_time: self.publish_time,
                prev_publish_time: self.publish_time - 1,
                ema_price: self.ema_price,
                ema_conf: self.conf,
            },
            posted_slot: 1,
        }
    }

    /// Serialized with its discriminator, owned by the Pyth receiver program.
    pub fn to_account(&self) -> Account {
        account_with_data(
            price_update_bytes(&self.to_update()),
            pyth_solana_receiver_sdk::ID,
        )
    }
}

pub fn price_update_bytes(update: &PriceUpdateV2) -> Vec<u8> {
    let mut data = Vec::with_capacity(PriceUpdateV2::LEN);
    update
        .try_serialize(&mut data)
        .expect("PriceUpdateV2 serializes");
    data.resize(PriceUpdateV2::LEN, 0);
    data
}

pub fn account_with_data(data: Vec<u8>, owner: Pubkey) -> Account {
    Account {
        lamports: 1_000_000_000,
        data,
        owner,
        executable: false,
        rent_epoch: 0,
    }
}

impl PriceState {
    /// The reading as the program converts it (spot/EMA down, confidence up; expo -8 -> -9
    /// is exact).
    pub fn oracle_price(&self) -> tidepool::math::oracle::OraclePrice {
        use tidepool::math::oracle::pyth_to_price;
        use tidepool::math::Rounding;
        tidepool::math::oracle::OraclePrice {
            spot: pyth_to_price(self.price as u64, self.expo, Rounding::Down).unwrap(),
            ema: pyth_to_price(self.ema_price as u64, self.expo, Rounding::Down).unwrap(),
            confidence: pyth_to_price(self.conf, self.expo, Rounding::Up).unwrap(),
            publish_time: self.publish_time,
        }
    }
}
