//! The Tidepool keeper, as a library: one pass over every position of the program, each
//! judged with the program's own code (`tidepool_client::keeper::assess` and the program's
//! price validation), and the resulting transactions.
//!
//! A pass is [`Keeper::plan`] (read the chain, decide, build the transactions) then
//! [`Keeper::send`] for each; [`Keeper::pass`] does both. The chain is reached through
//! [`Cluster`]: [`rpc::RpcCluster`] for a real cluster, and the harness's `InProcess` for the
//! embedded runtime, where the keeper's tests and the simulator run this same engine.

pub mod cluster;
pub mod engine;
#[cfg(feature = "rpc")]
pub mod rpc;

pub use cluster::{Cluster, SendError};
pub use engine::{Keeper, KeeperConfig, PassReport, Plan, Planned, Sent, Work};
