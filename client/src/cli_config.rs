//! Solana CLI conventions shared by Tidepool's binaries: `--url` monikers and the keypair
//! and URL defaults from the Solana CLI config (`~/.config/solana/cli/config.yml`).

use std::path::{Path, PathBuf};

/// The Solana CLI's defaults, as far as they are set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SolanaCliConfig {
    pub json_rpc_url: Option<String>,
    pub keypair_path: Option<PathBuf>,
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `~/.config/solana/cli/config.yml`.
pub fn default_config_path() -> PathBuf {
    home().join(".config/solana/cli/config.yml")
}

/// Read the two keys Tidepool uses from a Solana CLI config (a flat YAML mapping). A
/// missing file is an empty config.
pub fn read_config(path: &Path) -> SolanaCliConfig {
    let Ok(text) = std::fs::read_to_string(path) else {
        return SolanaCliConfig::default();
    };
    let mut config = SolanaCliConfig::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string();
        match key.trim() {
            "json_rpc_url" if !value.is_empty() => config.json_rpc_url = Some(value),
            "keypair_path" if !value.is_empty() => config.keypair_path = Some(PathBuf::from(value)),
            _ => {}
        }
    }
    config
}

/// The Solana CLI's URL monikers (`m`, `d`, `t`, `l` and their long forms) or a URL.
pub fn resolve_url(url: &str) -> String {
    match url {
        "m" | "mainnet-beta" => "https://api.mainnet-beta.solana.com".into(),
        "d" | "devnet" => "https://api.devnet.solana.com".into(),
        "t" | "testnet" => "https://api.testnet.solana.com".into(),
        "l" | "localhost" => "http://127.0.0.1:8899".into(),
        other => other.into(),
    }
}

/// `--url` if given, else the Solana CLI config's, else localhost.
pub fn url_or_default(url: Option<&str>, config: &SolanaCliConfig) -> String {
    resolve_url(
        url.or(config.json_rpc_url.as_deref())
            .unwrap_or("localhost"),
    )
}

/// `--keypair` if given, else the Solana CLI config's, else `~/.config/solana/id.json`.
pub fn keypair_or_default(keypair: Option<&Path>, config: &SolanaCliConfig) -> PathBuf {
    keypair
        .map(Path::to_path_buf)
        .or_else(|| config.keypair_path.clone())
        .unwrap_or_else(|| home().join(".config/solana/id.json"))
}

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
    fn reads_the_solana_cli_config() {
        let dir = std::env::temp_dir().join(format!("tidepool-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.yml");
        std::fs::write(
            &path,
            "---\njson_rpc_url: \"https://api.devnet.solana.com\"\nwebsocket_url: \"\"\nkeypair_path: /keys/me.json\ncommitment: confirmed\n",
        )
        .unwrap();
        let c = read_config(&path);
        assert_eq!(
            c.json_rpc_url.as_deref(),
            Some("https://api.devnet.solana.com")
        );
        assert_eq!(c.keypair_path, Some(PathBuf::from("/keys/me.json")));
        assert_eq!(
            read_config(&dir.join("missing.yml")),
            SolanaCliConfig::default()
        );
        assert_eq!(url_or_default(Some("l"), &c), "http://127.0.0.1:8899");
        assert_eq!(url_or_default(None, &c), "https://api.devnet.solana.com");
        assert_eq!(keypair_or_default(None, &c), PathBuf::from("/keys/me.json"));
        assert_eq!(
            keypair_or_default(Some(Path::new("k.json")), &c),
            PathBuf::from("k.json")
        );
    }
}
