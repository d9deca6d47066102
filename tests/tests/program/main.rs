//! Integration tests: the Tidepool program on the real Solana runtime. One test binary
//! (one link of the runtime) with a module per area.
#![allow(deprecated)]

mod admin;
mod audit;
mod bench;
mod golden;
mod keeper;
mod lp;
mod oracle;
mod random;
mod refresh;
mod sequences;
mod trade;
