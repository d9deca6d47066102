//! The keeper's view of a real cluster, over JSON-RPC.

use anchor_lang::prelude::Pubkey;
use solana_account_decoder_client_types::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
use solana_rpc_client_api::filter::{Memcmp, RpcFilterType};
use solana_sdk::instruction::{Instruction, InstructionError};
use solana_sdk::signature::{Keypair, Signer};
use solana_sdk::transaction::{Transaction, TransactionError};

use crate::cluster::{Cluster, SendError};

pub struct RpcCluster {
    client: RpcClient,
    keypair: Keypair,
}

impl RpcCluster {
    pub fn new(url: String, keypair: Keypair) -> Self {
        Self {
            client: RpcClient::new_with_commitment(url, CommitmentConfig::confirmed()),
            keypair,
        }
    }
}

impl Cluster for RpcCluster {
    async fn program_accounts(
        &mut self,
        discriminator: &[u8],
    ) -> Result<Vec<(Pubkey, Vec<u8>)>, String> {
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                0,
                discriminator.to_vec(),
            ))]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        let accounts = self
            .client
            .get_program_ui_accounts_with_config(&tidepool::ID, config)
            .await
            .map_err(|e| e.to_string())?;
        Ok(accounts
            .into_iter()
            .filter_map(|(k, a)| a.data.decode().map(|d| (k, d)))
            .collect())
    }

    async fn account_data(&mut self, key: &Pubkey) -> Result<Option<Vec<u8>>, String> {
        let r = self
            .client
            .get_account_with_commitment(key, CommitmentConfig::confirmed())
            .await
            .map_err(|e| e.to_string())?;
        Ok(r.value.map(|a| a.data))
    }

    async fn unix_time(&mut self) -> Result<i64, String> {
        let clock = self
            .client
            .get_account(&solana_sdk::sysvar::clock::ID)
            .await
            .map_err(|e| e.to_string())?;
        // Clock: slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp.
        let bytes: [u8; 8] = clock
            .data
            .get(32..40)
            .and_then(|b| b.try_into().ok())
            .ok_or("bad clock")?;
        Ok(i64::from_le_bytes(bytes))
    }

    async fn send(&mut self, instructions: &[Instruction]) -> Result<(), SendError> {
        let blockhash = self
            .client
            .get_latest_blockhash()
            .await
            .map_err(|e| SendError::Other(e.to_string()))?;
        let tx = Transaction::new_signed_with_payer(
            instructions,
            Some(&self.keypair.pubkey()),
            &[&self.keypair],
            blockhash,
        );
        match self.client.send_and_confirm_transaction(&tx).await {
            Ok(_) => Ok(()),
            Err(e) => match e.get_transaction_error() {
                Some(TransactionError::InstructionError(_, InstructionError::Custom(code))) => {
                    Err(SendError::Program(code))
                }
                _ => Err(SendError::Other(e.to_string())),
            },
        }
    }

    fn keeper(&self) -> Pubkey {
        self.keypair.pubkey()
    }
}
