//! `tidepool-localnet`: a local Solana JSON-RPC node with Tidepool (see the library).

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signer;
use solana_sdk::signer::keypair::read_keypair_file;
use tidepool_localnet::{rpc::METHODS, Config, Localnet, NodeConfig};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Local Solana JSON-RPC node (in memory) with the Tidepool program, SPL Token/ATA and a settlement mint"
)]
struct Args {
    /// HTTP JSON-RPC port.
    #[arg(long, default_value_t = 8899)]
    rpc_port: u16,
    /// WebSocket (subscriptions) port.
    #[arg(long, default_value_t = 8900)]
    ws_port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_address: IpAddr,
    /// Milliseconds per slot.
    #[arg(long, default_value_t = 400)]
    slot_ms: u64,
    /// The program's upgrade authority (who may `initialize`), funded with 1,000 SOL.
    /// Default: the Solana CLI keypair (~/.config/solana/id.json or the CLI config's), if any.
    #[arg(long)]
    upgrade_authority: Option<Pubkey>,
    /// Decimals of the settlement mint.
    #[arg(long, default_value_t = 6)]
    mint_decimals: u8,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let upgrade_authority = args.upgrade_authority.or_else(|| {
        let cli = solana_cli_config::CONFIG_FILE
            .as_ref()
            .and_then(|f| solana_cli_config::Config::load(f).ok())
            .unwrap_or_default();
        read_keypair_file(cli.keypair_path).ok().map(|k| k.pubkey())
    });
    let config = Config {
        host: args.bind_address,
        rpc_port: args.rpc_port,
        ws_port: args.ws_port,
        node: NodeConfig {
            slot_time: Duration::from_millis(args.slot_ms.max(10)),
            upgrade_authority,
            mint_decimals: args.mint_decimals,
        },
    };
    let net = match Localnet::start(config).await {
        Ok(n) => n,
        Err(e) => {
            eprintln!("tidepool-localnet: {e}");
            return ExitCode::FAILURE;
        }
    };
    let i = net.info();
    println!("tidepool-localnet");
    println!("  JSON-RPC           {}", net.rpc_url());
    println!("  WebSocket          {}", net.ws_url());
    println!(
        "  program            {} ({:?})",
        i.program_id, i.program_kind
    );
    println!(
        "  settlement mint    {} ({} decimals)",
        i.settlement_mint, i.mint_decimals
    );
    match i.upgrade_authority {
        Some(a) => println!("  upgrade authority  {a} (funded)"),
        None => println!(
            "  upgrade authority  none: set one with surfnet_setProgramAuthority before initialize"
        ),
    }
    println!("  methods            {}", METHODS.join(", "));
    net.wait().await;
    ExitCode::SUCCESS
}
