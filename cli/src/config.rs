//! What every command runs with: the cluster URL and commitment, the signer and the fee
//! payer, the compute budget, the output format and the price accounts. From the global
//! flags first, then the Solana CLI config (read with `solana-cli-config`), then defaults.
//! Signers are signer paths as the Solana CLI takes them (`solana-clap-utils`): a keypair
//! file, `prompt://` (seed phrase), `stdin` or `usb://ledger` (hidapi is compiled in; on Linux
//! through its pure-Rust hidraw backend, so no libudev is needed to build).

use std::collections::HashMap;
use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use clap::Args;
use solana_clap_utils::input_validators::normalize_to_url_if_moniker;
use solana_clap_utils::keypair::signer_from_path;
use solana_cli_config::{Config as SolanaCliConfig, CONFIG_FILE};
use solana_commitment_config::CommitmentConfig;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_sdk::hash::Hash;
use solana_sdk::instruction::Instruction;
use solana_sdk::signature::Signer;
use solana_sdk::transaction::Transaction;
use tidepool_client::defaults::COMPUTE_UNIT_LIMIT;
use tidepool_client::feeds::parse_price_account;
use tidepool_client::pda;

use crate::output::OutputFormat;

/// The global flags.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// RPC URL or moniker (mainnet-beta, devnet, testnet, localhost); default: Solana CLI
    /// config, then localhost.
    #[arg(long, short = 'u', global = true)]
    pub url: Option<String>,
    /// Signer: a keypair file, `prompt://` or `stdin`; default: Solana CLI config, then
    /// ~/.config/solana/id.json.
    #[arg(long, short = 'k', global = true, value_name = "KEYPAIR")]
    pub keypair: Option<String>,
    /// Who pays the transaction fees, as a signer path like `--keypair`; default: the signer.
    #[arg(long, global = true, value_name = "KEYPAIR")]
    pub fee_payer: Option<String>,
    /// Solana CLI config file.
    #[arg(long, short = 'C', global = true)]
    pub config: Option<PathBuf>,
    /// Commitment to read and confirm at (processed, confirmed, finalized); default: Solana
    /// CLI config, then confirmed.
    #[arg(long, global = true, value_parser = parse_commitment)]
    pub commitment: Option<CommitmentConfig>,
    /// Priority fee: a ComputeBudget SetComputeUnitPrice instruction in every transaction.
    #[arg(long, global = true, value_name = "MICROLAMPORTS")]
    pub with_compute_unit_price: Option<u64>,
    /// Compute units each transaction asks for.
    #[arg(long, global = true, value_name = "UNITS", default_value_t = COMPUTE_UNIT_LIMIT)]
    pub compute_unit_limit: u32,
    #[arg(long, value_enum, default_value_t = OutputFormat::Human, global = true)]
    pub output: OutputFormat,
    /// Price account for a feed: FEED_ID_HEX=ACCOUNT (repeatable). Default: Pyth's shard-0
    /// sponsored feed account.
    #[arg(long = "price-account", value_parser = parse_price_account, global = true)]
    pub price_accounts: Vec<([u8; 32], Pubkey)>,
}

fn parse_commitment(s: &str) -> Result<CommitmentConfig, String> {
    s.parse()
        .map_err(|_| format!("`{s}`: expected processed, confirmed or finalized"))
}

/// The compute budget instructions every transaction starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComputeBudget {
    pub unit_limit: u32,
    /// Micro-lamports per compute unit; none: no SetComputeUnitPrice instruction.
    pub unit_price: Option<u64>,
}

impl ComputeBudget {
    pub fn instructions(&self) -> Vec<Instruction> {
        let mut ixs = vec![ComputeBudgetInstruction::set_compute_unit_limit(
            self.unit_limit,
        )];
        if let Some(price) = self.unit_price {
            ixs.push(ComputeBudgetInstruction::set_compute_unit_price(price));
        }
        ixs
    }
}

pub struct Config {
    pub rpc: RpcClient,
    /// Owner, admin or trader: whoever the command acts as.
    pub signer: Box<dyn Signer>,
    /// Pays the fees; none: the signer does.
    pub fee_payer: Option<Box<dyn Signer>>,
    pub compute_budget: ComputeBudget,
    pub output: OutputFormat,
    pub price_accounts: HashMap<[u8; 32], Pubkey>,
}

impl Config {
    /// The flags over the Solana CLI config (a missing or unreadable file is no config:
    /// then localhost, ~/.config/solana/id.json and confirmed).
    pub fn new(args: ConfigArgs) -> Result<Config, String> {
        let file = args
            .config
            .as_ref()
            .map(|p| p.display().to_string())
            .or_else(|| CONFIG_FILE.clone());
        let cli = file.and_then(|f| SolanaCliConfig::load(&f).ok());
        let from_file = |f: fn(&SolanaCliConfig) -> &String| {
            cli.as_ref().map(f).filter(|v| !v.is_empty()).cloned()
        };
        let url = normalize_to_url_if_moniker(
            args.url
                .or_else(|| from_file(|c| &c.json_rpc_url))
                .unwrap_or_else(|| "localhost".into()),
        );
        let commitment = args
            .commitment
            .or_else(|| from_file(|c| &c.commitment).and_then(|c| c.parse().ok()))
            .unwrap_or_else(CommitmentConfig::confirmed);
        let keypair = args
            .keypair
            .or_else(|| from_file(|c| &c.keypair_path))
            .unwrap_or_else(|| SolanaCliConfig::default().keypair_path);
        let mut wallet_manager = None;
        let matches = Default::default();
        let signer = signer_from_path(&matches, &keypair, "keypair", &mut wallet_manager)
            .map_err(|e| format!("signer {keypair}: {e}"))?;
        let fee_payer = match args.fee_payer {
            Some(path) if path != keypair => Some(
                signer_from_path(&matches, &path, "fee-payer", &mut wallet_manager)
                    .map_err(|e| format!("fee payer {path}: {e}"))?,
            ),
            _ => None,
        };
        Ok(Config {
            rpc: RpcClient::new_with_commitment(url, commitment),
            signer,
            fee_payer,
            compute_budget: ComputeBudget {
                unit_limit: args.compute_unit_limit,
                unit_price: args.with_compute_unit_price,
            },
            output: args.output,
            price_accounts: args.price_accounts.into_iter().collect(),
        })
    }

    pub fn fee_payer(&self) -> &dyn Signer {
        self.fee_payer.as_deref().unwrap_or(self.signer.as_ref())
    }

    /// What `send` submits: the compute budget, then `instructions`, paid by the fee payer
    /// and signed by it and the signer.
    pub fn transaction(
        &self,
        instructions: Vec<Instruction>,
        blockhash: Hash,
    ) -> Result<Transaction, String> {
        let mut all = self.compute_budget.instructions();
        all.extend(instructions);
        let payer = self.fee_payer();
        let mut tx = Transaction::new_with_payer(&all, Some(&payer.pubkey()));
        let required =
            &tx.message.account_keys[..tx.message.header.num_required_signatures as usize];
        let mut signers: Vec<&dyn Signer> = vec![payer];
        if self.signer.pubkey() != payer.pubkey() && required.contains(&self.signer.pubkey()) {
            signers.push(self.signer.as_ref());
        }
        tx.try_sign(&signers, blockhash)
            .map_err(|e| format!("cannot sign: {e}"))?;
        Ok(tx)
    }

    /// The price account to read for a feed: `--price-account`, else Pyth's shard 0.
    pub fn price_account(&self, feed: &[u8; 32]) -> Pubkey {
        self.price_accounts
            .get(feed)
            .copied()
            .unwrap_or_else(|| pda::pyth_feed_account(0, feed))
    }
}
