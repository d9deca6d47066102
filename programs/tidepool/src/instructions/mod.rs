//! One file an instruction, grouped by actor. Each file holds its accounts struct (with
//! every check as a constraint carrying its own error), its arguments and its handler.
//!
//! How accounts are checked, and what is deliberately not re-checked:
//! - `Config` and `Pool` are taken by type (owner and discriminator), without re-deriving
//!   their addresses: only `initialize` and `create_pool` create them, each at its PDA, so
//!   every account of those types is a real one, and a derivation costs ~1.5k CU.
//!   Markets are tied to their pool (`has_one`), positions and LP requests to their owner
//!   by their seeds.
//! - Every mutable account that Anchor writes back carries `dup` (open_position's
//!   `init_if_needed` position too), which turns off Anchor's duplicate-mutable check
//!   (a SipHash `HashSet` built on every instruction: ~7k CU, and its code in every
//!   handler). Duplicates cannot do what that check guards against: a struct holds at most
//!   one account of each program-owned type, whose discriminator tells them apart, and
//!   Anchor does not write token accounts back on exit. Where a user's token account meets
//!   the vault, a constraint refuses the vault (`VaultAsUserAccount`; `InvalidReceiver`
//!   for the receiver an LP request names).

pub mod admin;
pub mod keeper;
pub mod lp;
pub mod trade;
pub mod view;

pub use admin::*;
pub use keeper::*;
pub use lp::*;
pub use trade::*;
pub use view::*;
