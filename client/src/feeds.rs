//! Pyth feed ids and price-account overrides as the binaries take them on the command line
//! (`--feed-id HEX`, `--price-account FEED_ID_HEX=ACCOUNT`). The Solana CLI config and
//! signer paths are the binaries' business (`solana-cli-config`, `solana-clap-utils`), not
//! the library's.

/// A Pyth feed id from 64 hex digits (an optional `0x` in front).
pub fn parse_feed_id(hex: &str) -> Result<[u8; 32], String> {
    let hex = hex.trim_start_matches("0x");
    if hex.len() != 64 {
        return Err("a feed id is 32 bytes of hex".into());
    }
    let mut id = [0u8; 32];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
    }
    Ok(id)
}

/// `FEED_ID_HEX=ACCOUNT`: which price account to read for a feed.
pub fn parse_price_account(s: &str) -> Result<([u8; 32], anchor_lang::prelude::Pubkey), String> {
    let (feed, account) = s.split_once('=').ok_or("expected FEED_ID_HEX=ACCOUNT")?;
    let account = account.parse().map_err(|e| format!("account: {e}"))?;
    Ok((parse_feed_id(feed)?, account))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_feed_ids_and_price_accounts() {
        let hex = "ab".repeat(32);
        assert_eq!(parse_feed_id(&hex).unwrap(), [0xab; 32]);
        assert_eq!(parse_feed_id(&format!("0x{hex}")).unwrap(), [0xab; 32]);
        assert!(parse_feed_id("abcd").is_err());
        assert!(parse_feed_id(&"zz".repeat(32)).is_err());
        let key = anchor_lang::prelude::Pubkey::new_unique();
        assert_eq!(
            parse_price_account(&format!("{hex}={key}")).unwrap(),
            ([0xab; 32], key)
        );
        assert!(parse_price_account(&hex).is_err());
        assert!(parse_price_account(&format!("{hex}=nope")).is_err());
    }
}
