//! Storage: the tantivy index of mentions ([`index`]) and the SQLite state ([`state`]).
//! Every SQL statement is in [`state`]; callers ask for what they need by name. Errors
//! say what kind of failure they are ([`ErrorKind`]).

mod error;
mod history;
pub mod index;
pub mod state;

pub use error::{Error, ErrorKind, Result};
pub use history::RuleHistory;
