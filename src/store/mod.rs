//! Storage: the tantivy index of mentions ([`index`]) and the SQLite state ([`state`]);
//! [`outbox`] holds what is done to the outbox by hand.

pub mod index;
pub mod outbox;
pub mod state;
