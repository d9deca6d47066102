//! The Tidepool keeper, as a library: one pass over every position of the program, each
//! judged with the program's own code (`tidepool_client::keeper::assess` and the program's
//! price validation), and the resulting transactions.
//!
//! The chain is reached through [`Cluster`]: [`rpc::RpcCluster`] for a real cluster, and an
//! in-process implementation in the tests, so the decision logic is tested on the embedded
//! runtime.

pub mod cluster;
pub mod engine;
pub mod rpc;

pub use cluster::{Cluster, SendError};
pub use engine::{Keeper, KeeperConfig, PassReport};
