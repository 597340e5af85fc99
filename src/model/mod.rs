//! The data model, at the bottom of the layers: plain types every stage shares, and the
//! primitives of the configuration (durations, sizes, secrets, positions in a file,
//! scrubbing). No I/O here beyond reading a secret's file when asked to.

pub mod alert;
pub mod batch;
pub mod diag;
pub mod digest;
mod duration;
pub mod event;
pub mod incident;
pub mod localtime;
pub mod redact;
pub mod secret;
mod size;
pub mod source;
mod when;

pub use alert::{Alert, AlertMention, Fragment, Severity, Stats, Status};
pub use batch::{Batch, IncidentSummary};
pub use diag::{Diagnostic, Diagnostics, SourceFile};
pub use duration::Duration;
pub use event::Event;
pub use incident::{Incident, Silence};
pub use secret::{Secret, SecretRef};
pub use size::ByteSize;
pub use source::{
    ItemFailure, Poll, QuotaSpend, SharedStates, SourceState, Validators, panic_message,
};
pub use when::{ParseWhenError, When};
