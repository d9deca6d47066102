//! `tidepool-keeper`: watch a cluster, liquidate, execute trigger orders and deleverage,
//! with the program's own health code. Safe to run several at once: a race lost to another
//! keeper is logged, not an error.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use clap::Parser;
use solana_clap_utils::input_validators::normalize_to_url_if_moniker;
use solana_clap_utils::keypair::keypair_from_path;
use solana_cli_config::{Config as SolanaCliConfig, CONFIG_FILE};
use solana_sdk::signature::Signer;
use tidepool_client::defaults::COMPUTE_UNIT_LIMIT;
use tidepool_client::feeds::parse_price_account;
use tidepool_keeper::rpc::RpcCluster;
use tidepool_keeper::{Keeper, KeeperConfig};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Tidepool keeper: liquidations, trigger orders, deleveraging"
)]
struct Args {
    /// RPC URL or moniker (mainnet-beta, devnet, testnet, localhost); default: Solana CLI config.
    #[arg(long, short = 'u')]
    url: Option<String>,
    /// Keeper keypair: a file, `prompt://` or `stdin` (a keeper signs unattended, so not
    /// `usb://`); default: Solana CLI config, then ~/.config/solana/id.json.
    #[arg(long, short = 'k')]
    keypair: Option<String>,
    /// Solana CLI config file.
    #[arg(long, short = 'C')]
    config: Option<PathBuf>,
    /// Decide and log, send nothing.
    #[arg(long)]
    dry_run: bool,
    /// One pass, then exit.
    #[arg(long)]
    once: bool,
    /// Seconds between passes.
    #[arg(long, default_value_t = 2)]
    interval: u64,
    /// Price account for a feed: FEED_ID_HEX=ACCOUNT (repeatable). Default: Pyth's shard-0
    /// sponsored feed account.
    #[arg(long = "price-account", value_parser = parse_price_account)]
    price_accounts: Vec<([u8; 32], Pubkey)>,
    /// Priority fee in micro-lamports per compute unit.
    #[arg(long, default_value_t = 10_000)]
    compute_unit_price: u64,
}

fn stamp() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("[{t}]")
}

async fn run(args: Args) -> Result<(), String> {
    // The Solana CLI config, read by the Solana CLI's own crate; a missing file is no config.
    let config_file = args
        .config
        .as_ref()
        .map(|p| p.display().to_string())
        .or_else(|| CONFIG_FILE.clone());
    let cli = config_file
        .and_then(|f| SolanaCliConfig::load(&f).ok())
        .unwrap_or_else(|| SolanaCliConfig {
            json_rpc_url: String::new(),
            keypair_path: String::new(),
            ..SolanaCliConfig::default()
        });
    let url = normalize_to_url_if_moniker(
        args.url
            .as_deref()
            .or((!cli.json_rpc_url.is_empty()).then_some(cli.json_rpc_url.as_str()))
            .unwrap_or("localhost"),
    );
    let keypair_path = args
        .keypair
        .clone()
        .or((!cli.keypair_path.is_empty()).then(|| cli.keypair_path.clone()))
        .unwrap_or_else(|| SolanaCliConfig::default().keypair_path);
    let keypair = keypair_from_path(&Default::default(), &keypair_path, "keypair", false)
        .map_err(|e| format!("cannot read keypair {keypair_path}: {e}"))?;
    println!(
        "{} keeper {} on {url}{}",
        stamp(),
        keypair.pubkey(),
        if args.dry_run { " (dry run)" } else { "" }
    );
    let config = KeeperConfig {
        dry_run: args.dry_run,
        price_accounts: args.price_accounts.into_iter().collect::<HashMap<_, _>>(),
        compute_unit_price: args.compute_unit_price,
        compute_unit_limit: COMPUTE_UNIT_LIMIT,
    };
    let mut keeper = Keeper::new(RpcCluster::new(url, keypair), config);
    loop {
        match keeper.pass().await {
            Ok(report) => {
                for line in &report.log {
                    println!("{} {line}", stamp());
                }
                println!(
                    "{} pass: {} positions, {} evaluated, {} actions, {} sent, {} lost races, {} failed",
                    stamp(),
                    report.positions,
                    report.evaluated,
                    report.actions.len(),
                    report.sent,
                    report.lost_races,
                    report.failures.len()
                );
                for f in &report.failures {
                    eprintln!("{} failed: {f}", stamp());
                }
            }
            Err(e) => eprintln!("{} pass failed: {e}", stamp()),
        }
        if args.once {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(args.interval)).await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tidepool-keeper: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_its_arguments() {
        let a = Args::try_parse_from([
            "tidepool-keeper",
            "--url",
            "devnet",
            "--dry-run",
            "--once",
            "--price-account",
            &format!("{}={}", "ab".repeat(32), Pubkey::default()),
        ])
        .unwrap();
        assert!(a.dry_run && a.once);
        assert_eq!(a.price_accounts[0].0, [0xab; 32]);
        assert_eq!(a.interval, 2);
        assert!(Args::try_parse_from(["tidepool-keeper", "--price-account", "nope"]).is_err());
        assert!(Args::try_parse_from(["tidepool-keeper", "--bogus"]).is_err());
        assert!(parse_price_account(&format!("{}=x", "00".repeat(32))).is_err());
    }
}
