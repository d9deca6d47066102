//! Fixed layouts: an account's Borsh bytes read and written at constant offsets.
//!
//! Every Tidepool account is Borsh with a fixed size (no vectors, no options), so each field
//! sits at a constant offset. Borsh's derived code still reads and writes one field at a
//! time through a reader or writer that checks the remaining length and can fail at every
//! field. `Fixed` (derived with `tidepool_layout::Fixed`) is the same bytes with one length
//! check per account. On SBF that made the `.so` 5 % smaller and every instruction cheaper
//! (open_position and liquidate by 8k compute units; README, Cost). The tests below check
//! that, for every account type, `Fixed` and Borsh accept the same bytes, decode the same
//! values and write the same bytes, and that the instruction arguments decoded through
//! `Fixed` read back what Borsh writes.

use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::*;
use anchor_lang::Discriminator;

/// A type with a fixed little-endian layout, byte for byte its Borsh encoding.
pub trait Fixed: Sized {
    /// Encoded size in bytes.
    const LEN: usize;
    /// Decodes `src`, which is exactly `LEN` bytes; `None` for a byte that is no value of the
    /// type (an unknown enum variant).
    fn read(src: &[u8]) -> Option<Self>;
    /// Encodes into `dst`, which is exactly `LEN` bytes.
    fn write(&self, dst: &mut [u8]);
}

macro_rules! fixed_le {
    ($($ty:ty),*) => {$(
        impl Fixed for $ty {
            const LEN: usize = core::mem::size_of::<$ty>();
            #[inline(always)]
            fn read(src: &[u8]) -> Option<Self> {
                Some(<$ty>::from_le_bytes(src.try_into().ok()?))
            }
            #[inline(always)]
            fn write(&self, dst: &mut [u8]) {
                dst.copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
fixed_le!(u8, u16, u32, u64, i64, u128, i128);

impl Fixed for Pubkey {
    const LEN: usize = 32;
    #[inline(always)]
    fn read(src: &[u8]) -> Option<Self> {
        Some(Pubkey::new_from_array(src.try_into().ok()?))
    }
    #[inline(always)]
    fn write(&self, dst: &mut [u8]) {
        dst.copy_from_slice(self.as_ref());
    }
}

impl<const N: usize> Fixed for [u8; N] {
    const LEN: usize = N;
    #[inline(always)]
    fn read(src: &[u8]) -> Option<Self> {
        src.try_into().ok()
    }
    #[inline(always)]
    fn write(&self, dst: &mut [u8]) {
        dst.copy_from_slice(self);
    }
}

impl<const N: usize> Fixed for [Pubkey; N] {
    const LEN: usize = 32 * N;
    #[inline(always)]
    fn read(src: &[u8]) -> Option<Self> {
        let mut keys = [Pubkey::default(); N];
        for (key, bytes) in keys.iter_mut().zip(src.chunks_exact(32)) {
            *key = Pubkey::read(bytes)?;
        }
        Some(keys)
    }
    #[inline(always)]
    fn write(&self, dst: &mut [u8]) {
        for (key, bytes) in self.iter().zip(dst.chunks_exact_mut(32)) {
            key.write(bytes);
        }
    }
}

/// Borsh decoding through `Fixed`, for the types that are also instruction arguments (Anchor
/// decodes arguments with Borsh): `LEN` bytes from the reader, then `Fixed::read`. Borsh's
/// derive would put a length check and an error path at every field.
macro_rules! borsh_via_fixed {
    ($($ty:ty),*) => {$(
        impl AnchorDeserialize for $ty {
            fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
                let mut bytes = [0u8; <$ty as Fixed>::LEN];
                reader.read_exact(&mut bytes)?;
                <$ty as Fixed>::read(&bytes).ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "invalid value")
                })
            }
        }
    )*};
}
borsh_via_fixed!(
    crate::state::OracleGuards,
    crate::state::PoolParams,
    crate::state::MarketParams,
    crate::state::Side
);

/// `AccountDeserialize::try_deserialize`'s discriminator check, with `#[account]`'s errors.
pub fn check_discriminator<T: Discriminator>(buf: &[u8], name: &'static str) -> Result<()> {
    let Some(given) = buf.get(..T::DISCRIMINATOR.len()) else {
        return Err(ErrorCode::AccountDiscriminatorNotFound.into());
    };
    if given != T::DISCRIMINATOR {
        return Err(error!(ErrorCode::AccountDiscriminatorMismatch).with_account_name(name));
    }
    Ok(())
}

/// The account after its 8-byte discriminator; `AccountDidNotDeserialize` when the data is
/// too short or holds a value the type does not have, as Borsh.
pub fn read_account<T: Fixed>(buf: &[u8]) -> Result<T> {
    buf.get(8..8 + T::LEN)
        .and_then(T::read)
        .ok_or_else(|| ErrorCode::AccountDidNotDeserialize.into())
}

/// Discriminator and body into `bytes`, which is exactly `8 + T::LEN` long.
pub fn write_account<T: Fixed + Discriminator>(account: &T, bytes: &mut [u8]) {
    bytes[..8].copy_from_slice(T::DISCRIMINATOR);
    account.write(&mut bytes[8..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{
        Config, LiquidityRequest, Market, MarketParams, Pool, PoolParams, Position, Side,
    };
    use anchor_lang::{AccountDeserialize, AccountSerialize};
    use proptest::prelude::*;

    /// `body` as an account of type `T` through both codecs: `Fixed` (what the program
    /// uses) and Borsh (`AnchorDeserialize`/`AnchorSerialize`, what the IDL describes).
    /// Both must accept the same bytes, decode the same value and encode the same bytes.
    fn same_as_borsh<T>(body: &[u8])
    where
        T: Fixed
            + AccountDeserialize
            + AccountSerialize
            + AnchorDeserialize
            + AnchorSerialize
            + Discriminator
            + std::fmt::Debug,
    {
        assert_eq!(body.len(), T::LEN);
        let mut data = T::DISCRIMINATOR.to_vec();
        data.extend_from_slice(body);
        data.extend_from_slice(&[0xAB; 5]); // an account may be longer than its layout
        let fixed = T::try_deserialize(&mut &data[..]);
        let borsh = T::deserialize(&mut &body[..]);
        match (fixed, borsh) {
            (Ok(fixed), Ok(borsh)) => {
                assert_eq!(format!("{fixed:?}"), format!("{borsh:?}"));
                let mut written = Vec::new();
                fixed.try_serialize(&mut written).unwrap();
                assert_eq!(written, data[..8 + T::LEN]);
                let mut encoded = Vec::new();
                borsh.serialize(&mut encoded).unwrap();
                assert_eq!(encoded, body);
            }
            (Err(fixed), Err(_)) => {
                assert_eq!(fixed, ErrorCode::AccountDidNotDeserialize.into());
            }
            (fixed, borsh) => panic!(
                "Fixed and Borsh disagree: {:?} vs {:?}",
                fixed.map(|_| ()),
                borsh.map(|_| ())
            ),
        }
    }

    fn body<T: Fixed>(seed: &[u8], enum_byte: Option<(usize, u8)>) -> Vec<u8> {
        let mut body: Vec<u8> = seed.iter().cycle().take(T::LEN).copied().collect();
        // Mostly a valid variant, so that most cases decode; sometimes any byte.
        if let Some((offset, variants)) = enum_byte {
            if body[offset] & 0x80 == 0 {
                body[offset] %= variants;
            }
        }
        body
    }

    proptest! {
        #[test]
        fn fixed_is_borsh(seed in prop::collection::vec(any::<u8>(), 1..64)) {
            same_as_borsh::<Config>(&body::<Config>(&seed, None));
            same_as_borsh::<Pool>(&body::<Pool>(&seed, None));
            same_as_borsh::<Market>(&body::<Market>(&seed, None));
            // `side` and `kind` follow `version` and `bump`.
            same_as_borsh::<Position>(&body::<Position>(&seed, Some((2, 2))));
            same_as_borsh::<LiquidityRequest>(&body::<LiquidityRequest>(&seed, Some((2, 2))));
        }
    }

    /// Instruction arguments decode through `Fixed` (`borsh_via_fixed!`): what the derived
    /// Borsh encoder writes comes back, a short input or an unknown variant is an error.
    #[test]
    fn arguments_decode_what_borsh_encodes() {
        let mut market = vec![0u8; Market::LEN];
        for (i, b) in market.iter_mut().enumerate() {
            *b = (i * 37 % 251) as u8;
        }
        let market = Market::deserialize(&mut &market[..]).unwrap();
        let bytes = market.params.try_to_vec_for_test();
        assert_eq!(MarketParams::try_from_slice(&bytes).unwrap(), market.params);
        assert!(MarketParams::try_from_slice(&bytes[..bytes.len() - 1]).is_err());
        let pool = Pool::deserialize(&mut &vec![7u8; Pool::LEN][..]).unwrap();
        let bytes = pool.params.try_to_vec_for_test();
        assert_eq!(PoolParams::try_from_slice(&bytes).unwrap(), pool.params);
        assert_eq!(Side::try_from_slice(&[0]).unwrap(), Side::Long);
        assert_eq!(Side::try_from_slice(&[1]).unwrap(), Side::Short);
        assert!(Side::try_from_slice(&[2]).is_err());
    }

    trait ToVec: AnchorSerialize {
        fn try_to_vec_for_test(&self) -> Vec<u8> {
            let mut bytes = Vec::new();
            self.serialize(&mut bytes).unwrap();
            bytes
        }
    }
    impl<T: AnchorSerialize> ToVec for T {}

    #[test]
    fn sizes_are_the_declared_ones() {
        assert_eq!(8 + Config::LEN, Config::SIZE);
        assert_eq!(8 + Pool::LEN, Pool::SIZE);
        assert_eq!(8 + Market::LEN, Market::SIZE);
        assert_eq!(8 + Position::LEN, Position::SIZE);
        assert_eq!(8 + LiquidityRequest::LEN, LiquidityRequest::SIZE);
    }

    #[test]
    fn anchor_errors_for_bad_data() {
        let mut data = Position::DISCRIMINATOR.to_vec();
        data.extend_from_slice(&vec![0; Position::LEN - 1]);
        let short = Position::try_deserialize(&mut &data[..]).unwrap_err();
        assert_eq!(short, ErrorCode::AccountDidNotDeserialize.into());
        data[0] ^= 1;
        data.push(0);
        let wrong = Position::try_deserialize(&mut &data[..]).unwrap_err();
        assert_eq!(wrong, ErrorCode::AccountDiscriminatorMismatch.into());
        let none = Position::try_deserialize(&mut &data[..7]).unwrap_err();
        assert_eq!(none, ErrorCode::AccountDiscriminatorNotFound.into());
        data[0] ^= 1;
        data[8 + 2] = 2; // no such side
        let side = Position::try_deserialize(&mut &data[..]).unwrap_err();
        assert_eq!(side, ErrorCode::AccountDidNotDeserialize.into());
    }
}
