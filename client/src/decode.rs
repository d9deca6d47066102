//! Decoding accounts and view answers.

use anchor_lang::{AccountDeserialize, AnchorDeserialize};

/// Decode an account of this program (checks the discriminator).
pub fn account<T: AccountDeserialize>(data: &[u8]) -> anchor_lang::Result<T> {
    T::try_deserialize(&mut &data[..])
}

/// Decode a view's return data (Borsh, no discriminator).
pub fn return_data<T: AnchorDeserialize>(data: &[u8]) -> std::io::Result<T> {
    T::try_from_slice(data)
}
