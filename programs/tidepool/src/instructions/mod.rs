//! One file an instruction, grouped by actor. Each file holds its accounts struct (with
//! every check as a constraint carrying its own error), its arguments and its handler.

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
