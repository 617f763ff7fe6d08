//! The evaluation core, the one loop that the Lambda engine and the CLI both run: applicability
//! (which items the rule is called on), the rule's typed view, one batched `gather` for all
//! subjects, and the pure `evaluate`.
//!
//! **An item the rule's view cannot read gets no verdict.** [`prepare`] returns it as an error
//! naming the resource and the field, and every caller reports all other results first, then
//! fails: the Lambda invocation with `InvalidConfigurationItemException` (Config retries it, and a
//! sweep skips its stale-result clean-up, as the resource may still exist), the CLI with the
//! error on standard error and exit code 2. A NOT_APPLICABLE would read as "nothing to check
//! here", which a check that could not look must never say.

use std::slice;

use crate::aws::Aws;
use crate::error::{Error, Result};
use crate::item::{ConfigurationItem, ItemStatus};
use crate::rule::{Resource, Rule, Subject};
use crate::verdict::Verdict;

/// What an item is to rule `R` before any read.
#[derive(Debug)]
pub enum Prepared<V> {
    /// The rule is not called: NOT_APPLICABLE, for this reason.
    NotApplicable(Verdict),
    /// The item and its typed view, to gather for and evaluate.
    Subject(Subject<V>),
    /// The view cannot be read from the item: no verdict (see the module's documentation).
    Unreadable(Error),
}

/// Applicability, then the typed view. `left_scope` is the event's `eventLeftScope`.
pub fn prepare<R: Rule>(item: ConfigurationItem, left_scope: bool) -> Prepared<R::Resource> {
    if let Some(verdict) = not_applicable::<R>(&item.resource_type, item.status, left_scope) {
        return Prepared::NotApplicable(verdict);
    }
    match Subject::from_item(item) {
        Ok(subject) => Prepared::Subject(subject),
        Err(err) => Prepared::Unreadable(err),
    }
}

/// The NOT_APPLICABLE verdict for a resource the rule must not be called on, if it is one:
/// out of scope, deleted or no longer recorded, or of another resource type.
pub fn not_applicable<R: Rule>(resource_type: &str, status: ItemStatus, left_scope: bool) -> Option<Verdict> {
    if left_scope {
        Some(Verdict::not_applicable("the resource is no longer in the scope of this rule"))
    } else if status.is_gone() {
        Some(Verdict::not_applicable(format!("the resource is not recorded any more ({status:?})")))
    } else if resource_type != R::Resource::RESOURCE_TYPE {
        Some(Verdict::not_applicable(format!(
            "{} evaluates {}, not {resource_type}",
            R::ID,
            R::Resource::RESOURCE_TYPE
        )))
    } else {
        None
    }
}

/// The verdict on every subject, in order: the rule's `gather` once for all of them (so that its
/// reads are batched), then `evaluate` on each.
///
/// # Panics
///
/// When the rule's `gather` breaks its contract of one `Facts` per subject: a bug in the rule.
pub async fn verdicts<R: Rule>(
    aws: &Aws,
    params: &R::Params,
    subjects: &[Subject<R::Resource>],
) -> Result<Vec<Verdict>> {
    // Boxed: the rule's future nests every SDK call it awaits, and inline in the caller's future
    // its type grows past the compiler's depth limit.
    let facts = Box::pin(R::gather(aws, params, subjects)).await?;
    assert_eq!(facts.len(), subjects.len(), "{}::gather must return one Facts per subject", R::ID);
    Ok(subjects.iter().zip(&facts).map(|(subject, facts)| R::evaluate(subject, facts, params)).collect())
}

/// [`verdicts`] for one subject.
pub async fn verdict<R: Rule>(aws: &Aws, params: &R::Params, subject: &Subject<R::Resource>) -> Result<Verdict> {
    let mut verdicts = verdicts::<R>(aws, params, slice::from_ref(subject)).await?;
    Ok(verdicts.remove(0))
}
