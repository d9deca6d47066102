//! `tidepool`: the command line for Tidepool's admin, LPs and traders, in Solana CLI
//! conventions (`--url` with monikers, `--keypair` a signer path defaulting to the Solana
//! CLI config, `--fee-payer`, `--with-compute-unit-price`, `--compute-unit-limit`). Amounts
//! are decimal (`--amount 250.5` settlement tokens, `--size-usd 1500`, prices in USD);
//! `--output json` prints machine-readable results; program errors are shown by name and
//! message.
//!
//! Laid out like spl-token's CLI: [`config`] (global flags and the Solana CLI config),
//! [`output`] (typed results, as text or JSON), [`command`] (one module per group); this
//! file parses and dispatches.

mod command;
mod config;
mod output;
mod units;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use command::admin::AdminCommand;
use command::lp::LpCommand;
use command::trade::TradeCommand;
use command::view::ViewCommand;
use config::{Config, ConfigArgs};

#[derive(Parser, Debug)]
#[command(
    name = "tidepool",
    version,
    about = "Tidepool perpetuals: admin, liquidity, trading"
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

/// Every subcommand at the top level, defined by its group's module.
#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Admin(AdminCommand),
    #[command(flatten)]
    Lp(LpCommand),
    #[command(flatten)]
    Trade(TradeCommand),
    #[command(flatten)]
    View(ViewCommand),
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = Config::new(cli.config)?;
    match cli.command {
        Command::Admin(c) => command::admin::process(&config, c).await,
        Command::Lp(c) => command::lp::process(&config, c).await,
        Command::Trade(c) => command::trade::process(&config, c).await,
        Command::View(c) => command::view::process(&config, c).await,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::prelude::Pubkey;
    use command::admin::{set_market_params, set_pool_params};
    use command::{PositionTarget, SideArg};
    use output::OutputFormat;
    use solana_sdk::signature::Signer;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("tidepool").chain(args.iter().copied()))
    }

    #[test]
    fn parses_trader_commands_with_solana_conventions() {
        let c = parse(&[
            "-u",
            "devnet",
            "--keypair",
            "k.json",
            "open",
            "--pool-id",
            "0",
            "--side",
            "long",
            "--size-usd",
            "1500",
            "--collateral",
            "150",
        ])
        .unwrap();
        assert_eq!(c.config.url.as_deref(), Some("devnet"));
        assert_eq!(c.config.keypair.as_deref(), Some("k.json"));
        match c.command {
            Command::Trade(TradeCommand::Open {
                target, size_usd, ..
            }) => {
                assert_eq!(
                    (
                        target.pool_id,
                        target.market,
                        target.side,
                        size_usd.as_str()
                    ),
                    (0, 0, SideArg::Long, "1500")
                );
            }
            other => panic!("{other:?}"),
        }
        let c = parse(&[
            "decrease",
            "--pool-id",
            "1",
            "--side",
            "short",
            "--size-usd",
            "all",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(c.config.output, OutputFormat::Json);
        assert!(matches!(
            c.command,
            Command::Trade(TradeCommand::Decrease {
                target: PositionTarget { pool_id: 1, .. },
                ..
            })
        ));
    }

    #[test]
    fn refuses_bad_arguments() {
        assert!(parse(&[
            "open",
            "--pool-id",
            "0",
            "--side",
            "sideways",
            "--size-usd",
            "1",
            "--collateral",
            "1"
        ])
        .is_err());
        assert!(
            parse(&["pause", "--flags", "1", "--market", "0"]).is_err(),
            "a market needs its pool"
        );
        assert!(parse(&[
            "create-pool",
            "--pool-id",
            "0",
            "--mint",
            "x",
            "--feed-id",
            "00"
        ])
        .is_err());
        assert!(parse(&["deposit", "--pool-id", "70000", "--amount", "1"]).is_err());
        assert!(parse(&["frobnicate"]).is_err());
        assert!(parse(&["--price-account", "nope", "pool", "--pool-id", "0"]).is_err());
    }

    #[test]
    fn parameter_changes_are_applied_by_name() {
        let c = parse(&[
            "update-market-params",
            "--pool-id",
            "0",
            "--set",
            "base_initial_margin_bps=600",
            "--set",
            "oracle.max_age_seconds=30",
        ])
        .unwrap();
        let Command::Admin(AdminCommand::UpdateMarketParams { set, .. }) = c.command else {
            panic!()
        };
        let mut p = tidepool_client::defaults::market_params();
        set_market_params(&mut p, &set).unwrap();
        assert_eq!(
            (p.base_initial_margin_bps, p.oracle.max_age_seconds),
            (600, 30)
        );
        let mut q = tidepool_client::defaults::pool_params();
        let bad = [("max_utilization".to_string(), "1".to_string())];
        assert!(set_pool_params(&mut q, &bad)
            .unwrap_err()
            .contains("known: max_depeg_bps"));
        let bad = [("deposit_fee_bps".to_string(), "-1".to_string())];
        assert!(set_pool_params(&mut q, &bad)
            .unwrap_err()
            .contains("deposit_fee_bps"));
        set_pool_params(
            &mut q,
            &[("settlement_oracle.max_confidence_bps".into(), "50".into())],
        )
        .unwrap();
        assert_eq!(q.settlement_oracle.max_confidence_bps, 50);
        assert!(
            parse(&["update-pool-params", "--pool-id", "0"]).is_err(),
            "--set is required"
        );
    }

    #[test]
    fn parses_admin_commands() {
        let k = Pubkey::new_unique().to_string();
        let feed = "ef".repeat(32);
        assert!(matches!(
            parse(&["init", "--fee-recipient", &k]).unwrap().command,
            Command::Admin(AdminCommand::Init { .. })
        ));
        let c = parse(&[
            "create-market",
            "--pool-id",
            "0",
            "--symbol",
            "SOL-PERP",
            "--feed-id",
            &feed,
        ])
        .unwrap();
        match c.command {
            Command::Admin(AdminCommand::CreateMarket { feed_id, .. }) => {
                assert_eq!(feed_id, [0xef; 32])
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["pause", "--flags", "3", "--pool-id", "0", "--market", "1"])
                .unwrap()
                .command,
            Command::Admin(AdminCommand::Pause {
                flags: 3,
                pool_id: Some(0),
                market: Some(1)
            })
        ));
    }

    /// Two keypair files in a fresh directory, and a path there that does not exist.
    fn keypair_files(name: &str) -> (Vec<(String, Pubkey)>, String) {
        use solana_sdk::signature::{write_keypair_file, Keypair, Signer};
        let dir = std::env::temp_dir().join(format!("tidepool-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = ["signer", "payer"]
            .iter()
            .map(|who| {
                let k = Keypair::new();
                let path = dir.join(format!("{who}.json"));
                write_keypair_file(&k, &path).unwrap();
                (path.display().to_string(), k.pubkey())
            })
            .collect();
        (files, dir.join("no-config.yml").display().to_string())
    }

    #[test]
    fn fee_payer_and_compute_budget_flags_shape_every_transaction() {
        use solana_compute_budget_interface::ComputeBudgetInstruction;
        use solana_sdk::hash::Hash;
        let (files, no_config) = keypair_files("tx");
        let [(signer_path, signer), (payer_path, payer)] = &files[..] else {
            panic!()
        };
        let cli = parse(&[
            "--config",
            &no_config,
            "--keypair",
            signer_path,
            "--fee-payer",
            payer_path,
            "--with-compute-unit-price",
            "5000",
            "--compute-unit-limit",
            "250000",
            "accept-admin",
        ])
        .unwrap();
        let config = Config::new(cli.config).unwrap();
        assert_eq!(
            config.rpc.url(),
            "http://localhost:8899",
            "no config: localhost"
        );
        let admin_ix = tidepool_client::ix::accept_admin(signer);
        let blockhash = Hash::new_unique();
        let tx = config
            .transaction(vec![admin_ix.clone()], blockhash)
            .unwrap();
        let m = &tx.message;
        assert_eq!(m.account_keys[0], *payer, "the fee payer pays");
        assert_eq!(m.header.num_required_signatures, 2);
        assert!(m.account_keys[..2].contains(signer));
        tx.verify().expect("signed by the payer and the signer");
        assert_eq!(m.recent_blockhash, blockhash);
        let sent: Vec<_> = m
            .instructions
            .iter()
            .map(|ci| (*ci.program_id(&m.account_keys), ci.data.clone()))
            .collect();
        let expected: Vec<_> = [
            ComputeBudgetInstruction::set_compute_unit_limit(250_000),
            ComputeBudgetInstruction::set_compute_unit_price(5000),
            admin_ix,
        ]
        .into_iter()
        .map(|ix| (ix.program_id, ix.data))
        .collect();
        assert_eq!(sent, expected);

        // Defaults: the signer pays, 400,000 units, no priority fee.
        let cli = parse(&[
            "--config",
            &no_config,
            "-k",
            signer_path,
            "-u",
            "devnet",
            "accept-admin",
        ])
        .unwrap();
        let config = Config::new(cli.config).unwrap();
        assert_eq!(config.rpc.url(), "https://api.devnet.solana.com");
        let tx = config
            .transaction(vec![tidepool_client::ix::accept_admin(signer)], blockhash)
            .unwrap();
        let m = &tx.message;
        assert_eq!(
            (m.account_keys[0], m.header.num_required_signatures),
            (*signer, 1)
        );
        assert_eq!(m.instructions.len(), 2);
        assert_eq!(
            m.instructions[0].data,
            ComputeBudgetInstruction::set_compute_unit_limit(400_000).data
        );

        // A fee payer that cannot be read is an error, not a silent fallback.
        let cli = parse(&[
            "--config",
            &no_config,
            "-k",
            signer_path,
            "--fee-payer",
            &no_config,
            "accept-admin",
        ])
        .unwrap();
        let Err(e) = Config::new(cli.config) else {
            panic!("an unreadable fee payer")
        };
        assert!(e.contains("fee payer"), "{e}");
    }

    #[test]
    fn the_solana_cli_config_supplies_url_keypair_and_commitment() {
        let (files, no_config) = keypair_files("cfg");
        let yml = no_config.replace("no-config", "config");
        std::fs::write(
            &yml,
            format!(
                "---\njson_rpc_url: \"https://api.testnet.solana.com\"\nwebsocket_url: \"\"\nkeypair_path: {}\naddress_labels: {{}}\ncommitment: finalized\n",
                files[0].0
            ),
        )
        .unwrap();
        let config =
            Config::new(parse(&["--config", &yml, "accept-admin"]).unwrap().config).unwrap();
        assert_eq!(config.rpc.url(), "https://api.testnet.solana.com");
        assert_eq!(config.signer.pubkey(), files[0].1);
        assert!(config.rpc.commitment().is_finalized());
        let config = Config::new(
            parse(&[
                "--config",
                &yml,
                "-u",
                "l",
                "--commitment",
                "processed",
                "accept-admin",
            ])
            .unwrap()
            .config,
        )
        .unwrap();
        assert_eq!(config.rpc.url(), "http://localhost:8899");
        assert_eq!(
            config.rpc.commitment(),
            solana_commitment_config::CommitmentConfig::processed()
        );
        assert!(parse(&["--commitment", "soon", "accept-admin"]).is_err());
        assert!(parse(&["--compute-unit-limit", "-1", "accept-admin"]).is_err());
    }
}
