//! Storage: the tantivy index of mentions ([`index`]) and the SQLite state ([`state`]).

pub mod index;
pub mod state;
