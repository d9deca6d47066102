//! `tidepool-localnet`: a local Solana JSON-RPC node over the project's embedded runtime
//! (`tidepool-runtime`, on LiteSVM), with the Tidepool program, SPL Token, the Associated
//! Token Account program and a settlement mint ready. HTTP JSON-RPC and WebSocket
//! subscriptions on the usual ports (8899, 8900); in memory, nothing written to disk.
//!
//! Slots advance on a timer (400 ms) and the clock with them; `surfnet_timeTravel` moves it
//! forward. Tests set accounts (Pyth prices, token balances) with Surfpool's cheat codes
//! (`surfnet_setAccount`, `surfnet_setTokenAccount`) or `tidepool_setPythPrice`. The
//! methods served are in [`rpc::METHODS`].
//!
//! [`Localnet::start`] starts one on ephemeral ports for tests.

pub mod node;
pub mod rpc;
pub mod server;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use node::{NodeConfig, NodeHandle, NodeInfo};

/// Where to listen and how the node starts.
#[derive(Clone, Debug)]
pub struct Config {
    pub host: IpAddr,
    /// 0: an ephemeral port.
    pub rpc_port: u16,
    /// 0: an ephemeral port.
    pub ws_port: u16,
    pub node: NodeConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rpc_port: 8899,
            ws_port: 8900,
            node: NodeConfig::default(),
        }
    }
}

impl Config {
    /// Ephemeral ports on 127.0.0.1, for tests.
    pub fn ephemeral() -> Self {
        Self {
            rpc_port: 0,
            ws_port: 0,
            ..Self::default()
        }
    }
}

/// A running localnet. Dropping it stops the servers (and then the node).
pub struct Localnet {
    pub rpc_addr: SocketAddr,
    pub ws_addr: SocketAddr,
    pub node: NodeHandle,
    tasks: Vec<JoinHandle<()>>,
}

impl Localnet {
    /// Start the node and both servers on the current Tokio runtime.
    pub async fn start(config: Config) -> std::io::Result<Self> {
        let http = TcpListener::bind((config.host, config.rpc_port)).await?;
        let ws = TcpListener::bind((config.host, config.ws_port)).await?;
        let rpc_addr = http.local_addr()?;
        let ws_addr = ws.local_addr()?;
        let node_config = config.node.clone();
        let node = tokio::task::spawn_blocking(move || NodeHandle::start(node_config))
            .await
            .map_err(std::io::Error::other)??;
        let tasks = vec![
            tokio::spawn(server::serve_http(http, node.clone())),
            tokio::spawn(server::serve_ws(ws, node.clone())),
        ];
        Ok(Self {
            rpc_addr,
            ws_addr,
            node,
            tasks,
        })
    }

    pub fn rpc_url(&self) -> String {
        format!("http://{}", self.rpc_addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.ws_addr)
    }

    pub fn info(&self) -> &NodeInfo {
        &self.node.info
    }

    /// Serve until the servers stop (they do not, unless they panic).
    pub async fn wait(mut self) {
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for Localnet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
