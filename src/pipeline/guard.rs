//! Fences around one item's processing: what fails on one mention fails that mention.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use crate::mention::Mention;
use crate::rules::eval::Firing;
use crate::sources::{ItemFailure, panic_message};

/// Called with each stage's name ("match", "enrich", "index", "rules") and each mention
/// before the stage runs on it: tests make one stage fail on one mention with it.
pub type StageHook = Arc<dyn Fn(&'static str, &Mention) + Send + Sync>;

/// An item taken out of its batch by a failure.
pub(super) struct Failed {
    pub source: String,
    /// The mention id (for an item its source could not map, one made from its URL).
    pub id: String,
    pub item: ItemFailure,
}

impl Failed {
    /// An item its source could not map; its id derives from where it was served, so it
    /// is reported once, not at every poll.
    pub fn unmapped(source: &str, item: &ItemFailure) -> Failed {
        Failed {
            source: source.to_string(),
            id: crate::mention::hash_id("unmapped", &format!("{source}\u{0}{}", item.url)),
            item: item.clone(),
        }
    }

    pub fn of(m: &Mention, stage: &'static str, panic: &(dyn std::any::Any + Send)) -> Failed {
        Failed {
            source: m.source.clone(),
            id: m.id.clone(),
            item: ItemFailure {
                url: m.url.clone(),
                stage,
                error: format!("internal error: {}", panic_message(panic)),
            },
        }
    }
}

/// Runs `stage` on each mention; one on which it panics is taken out and recorded in
/// `failed`, the others are returned.
pub(super) fn each_guarded(
    mentions: Vec<Mention>,
    stage: &'static str,
    hook: Option<&StageHook>,
    failed: &mut Vec<Failed>,
    mut run: impl FnMut(&mut Mention),
) -> Vec<Mention> {
    let mut kept = Vec::with_capacity(mentions.len());
    for mut m in mentions {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if let Some(h) = hook {
                h(stage, &m);
            }
            run(&mut m)
        }));
        match outcome {
            Ok(()) => kept.push(m),
            Err(panic) => failed.push(Failed::of(&m, stage, &*panic)),
        }
    }
    kept
}

/// Runs `f` inside a savepoint of `tx`: if it panics, what it wrote is rolled back and the
/// panic returned.
pub(super) fn in_savepoint<T>(
    tx: &rusqlite::Transaction<'_>,
    f: impl FnOnce() -> T,
) -> anyhow::Result<Result<T, Box<dyn std::any::Any + Send>>> {
    tx.execute_batch("SAVEPOINT one_item")?;
    let outcome = catch_unwind(AssertUnwindSafe(f));
    match outcome {
        Ok(_) => tx.execute_batch("RELEASE one_item")?,
        Err(_) => tx.execute_batch("ROLLBACK TO one_item; RELEASE one_item")?,
    }
    Ok(outcome)
}

/// Evaluates the rules on `matched` (through `rules`) in a savepoint; if they panic, on
/// each mention alone, so the one that trips a rule is found and recorded in `failed`.
/// Returns the firings and the mentions that passed.
pub(super) fn rules_guarded(
    tx: &rusqlite::Transaction<'_>,
    matched: Vec<Mention>,
    failed: &mut Vec<Failed>,
    rules: impl Fn(&[Mention]) -> anyhow::Result<Vec<Firing>>,
) -> anyhow::Result<(Vec<Firing>, Vec<Mention>)> {
    if let Ok(firings) = in_savepoint(tx, || rules(&matched))? {
        return Ok((firings?, matched));
    }
    let mut firings = Vec::new();
    let mut passed = Vec::new();
    for m in matched {
        match in_savepoint(tx, || rules(std::slice::from_ref(&m)))? {
            Ok(f) => {
                firings.extend(f?);
                passed.push(m);
            }
            Err(panic) => failed.push(Failed::of(&m, "rules", &*panic)),
        }
    }
    Ok((firings, passed))
}
