//! Periodic sweeps: every resource of the rule's type from AWS Config's own inventory, and the
//! clean-up of results for resources that are gone.
//!
//! A sweep that cannot evaluate every resource before its function's timeout (a rule with
//! [`crate::Rule::SWEEP_CHUNK`], reads per resource, a large account and AWS's request rates)
//! continues across invocations: resources go oldest-evaluated first ([`oldest_first`]), in
//! chunks, each chunk's results reported as it ends, and no chunk starts that the [`Budget`] says
//! could overrun the deadline. A resource not reached keeps its earlier result, and the next
//! sweep starts with it: nothing is lost or contradicted, only later.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::ComplianceType;

use crate::aws::Aws;
use crate::error::{Error, Result};
use crate::evaluation::Evaluation;
use crate::item::ConfigurationItem;
use crate::rule::{Resource, Subject};
use crate::verdict::Verdict;

/// SelectResourceConfig's page size limit.
const PAGE_SIZE: i32 = 100;

/// The fields of an item a rule can need; `relationships` are left out, as no rule reads them.
const SELECTED_FIELDS: &str = "resourceId, resourceName, resourceType, arn, accountId, awsRegion, \
    configuration, supplementaryConfiguration, configurationItemStatus, configurationItemCaptureTime, tags";

/// A resource as (type, id).
pub type ResourceKey = (String, String);

/// What a sweep reads from Config's inventory for one resource type.
#[derive(Debug)]
pub struct Inventory<T> {
    /// The resources that exist, readable or not: the stale-result clean-up keeps their results.
    pub current: HashSet<ResourceKey>,
    /// The rows of resources that exist and could be read.
    pub rows: Vec<T>,
    /// Why the others could not be read.
    pub unreadable: Vec<Error>,
}

/// What one inventory row can be read as: a configuration item, or a rule's subject.
pub trait Row: Sized {
    fn read(json: &str) -> RowRead<Self>;
}

/// One inventory row, read.
#[derive(Debug)]
pub enum RowRead<T> {
    /// A resource that exists.
    Current(T, ResourceKey),
    /// A deleted or unrecorded resource, which may still come with its last configuration.
    Gone,
    /// The row cannot be read; the resource's key when the item itself could be.
    Unreadable(Error, Option<ResourceKey>),
}

fn key<C>(item: &ConfigurationItem<C>) -> ResourceKey {
    (item.resource_type.clone(), item.resource_id.clone())
}

impl Row for ConfigurationItem {
    fn read(json: &str) -> RowRead<Self> {
        match ConfigurationItem::from_json(json) {
            Err(err) => RowRead::Unreadable(err, None),
            Ok(item) if item.status.is_gone() => RowRead::Gone,
            Ok(item) => {
                let key = key(&item);
                RowRead::Current(item, key)
            }
        }
    }
}

impl<R: Resource> Row for Subject<R> {
    /// Most items in one pass; the rest (deleted resources, errors) in two, which say why.
    fn read(json: &str) -> RowRead<Self> {
        if let Some(subject) = Subject::<R>::read_in_one_pass(json) {
            if subject.item.status.is_gone() {
                return RowRead::Gone;
            }
            let key = key(&subject.item);
            return RowRead::Current(subject, key);
        }
        match ConfigurationItem::read(json) {
            RowRead::Current(item, key) => match Subject::from_item(item) {
                Ok(subject) => RowRead::Current(subject, key),
                Err(err) => RowRead::Unreadable(err, Some(key)),
            },
            RowRead::Gone => RowRead::Gone,
            RowRead::Unreadable(err, key) => RowRead::Unreadable(err, key),
        }
    }
}

/// Every recorded resource of `resource_type`, read from Config's inventory (100 per call) as
/// rows of type `T`.
pub async fn inventory<T: Row>(aws: &Aws, resource_type: &str) -> Result<Inventory<T>> {
    let mut inventory = Inventory { current: HashSet::new(), rows: Vec::new(), unreadable: Vec::new() };
    // Resource types are constants of the rules, never user input, so quoting is not an issue.
    let expression = format!("SELECT {SELECTED_FIELDS} WHERE resourceType = '{resource_type}'");
    let mut pages =
        aws.config().select_resource_config().expression(&expression).limit(PAGE_SIZE).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| aws.error("config:SelectResourceConfig", err))?;
        for json in page.results() {
            match T::read(json) {
                RowRead::Current(row, key) => {
                    inventory.current.insert(key);
                    inventory.rows.push(row);
                }
                RowRead::Gone => {}
                RowRead::Unreadable(err, key) => {
                    // A resource whose view cannot be read still exists.
                    inventory.current.extend(key);
                    inventory.unreadable.push(err);
                }
            }
        }
    }
    Ok(inventory)
}

/// When Config recorded the result this rule last reported as COMPLIANT or NON_COMPLIANT, per
/// resource: what the stale-result clean-up looks through, and the order of the next sweep.
pub type PreviousResults = HashMap<ResourceKey, DateTime>;

/// The rule's COMPLIANT and NON_COMPLIANT results, 100 per call.
pub async fn previous_results(aws: &Aws, rule_name: &str) -> Result<PreviousResults> {
    let mut previous = HashMap::new();
    let mut pages = aws
        .config()
        .get_compliance_details_by_config_rule()
        .config_rule_name(rule_name)
        .compliance_types(ComplianceType::Compliant)
        .compliance_types(ComplianceType::NonCompliant)
        .limit(PAGE_SIZE)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| aws.error("config:GetComplianceDetailsByConfigRule", err))?;
        for result in page.evaluation_results() {
            let Some(qualifier) = result.evaluation_result_identifier().and_then(|id| id.evaluation_result_qualifier())
            else {
                continue;
            };
            let (Some(resource_type), Some(resource_id)) = (qualifier.resource_type(), qualifier.resource_id()) else {
                continue;
            };
            // Config always records the time; without it the result counts as the oldest.
            let recorded = result.result_recorded_time().copied().unwrap_or(DateTime::from_secs(0));
            previous.insert((resource_type.to_owned(), resource_id.to_owned()), recorded);
        }
    }
    Ok(previous)
}

/// NOT_APPLICABLE for every resource among `previous` that is not among `current` (type, id) pairs
/// any more: without this, a deleted resource would stay NON_COMPLIANT on the dashboard forever.
#[allow(clippy::implicit_hasher)] // one caller, with the default hasher
pub fn stale_results(
    previous: &PreviousResults,
    current: &HashSet<ResourceKey>,
    ordering_timestamp: DateTime,
) -> Vec<Evaluation> {
    let gone = Verdict::not_applicable("the resource no longer exists");
    let mut stale: Vec<&ResourceKey> = previous.keys().filter(|key| !current.contains(*key)).collect();
    stale.sort();
    stale.into_iter().map(|(kind, id)| Evaluation::new(kind, id, &gone, ordering_timestamp)).collect()
}

/// Orders `subjects` for a sweep: the resources this rule has no result for first, then the one
/// whose result is oldest. Resources of one group (`group`, e.g. the projects of one service role)
/// go together, ordered by their oldest member, so that a chunk can hold the whole group
/// ([`chunk_ends`]). Inventory order among equals.
pub fn oldest_first<R>(
    subjects: &mut [Subject<R>],
    previous: &PreviousResults,
    group: impl Fn(&Subject<R>) -> Option<&str>,
) {
    let group_of = |subject: &Subject<R>| group(subject).unwrap_or(&subject.item.resource_id).to_owned();
    // The age of a result as a sortable key; `None` (never evaluated) sorts first.
    let age = |subject: &Subject<R>| {
        previous.get(&key(&subject.item)).map(|recorded| (recorded.secs(), recorded.subsec_nanos()))
    };
    let mut group_age: HashMap<String, Option<(i64, u32)>> = HashMap::new();
    for subject in subjects.iter() {
        let age = age(subject);
        group_age.entry(group_of(subject)).and_modify(|oldest| *oldest = (*oldest).min(age)).or_insert(age);
    }
    subjects.sort_by_cached_key(|subject| {
        let group = group_of(subject);
        (group_age[&group], group)
    });
}

/// Where the chunks of `subjects` (as [`oldest_first`] orders them) end: after `size` resources,
/// or after the rest of the group the chunk has reached; the last chunk may be smaller.
pub fn chunk_ends<R>(subjects: &[Subject<R>], size: usize, group: impl Fn(&Subject<R>) -> Option<&str>) -> Vec<usize> {
    let group_of = |subject: &Subject<R>| group(subject).unwrap_or(&subject.item.resource_id).to_owned();
    let mut ends = Vec::new();
    let mut start = 0;
    for index in 1..=subjects.len() {
        let full = index - start >= size;
        if index == subjects.len() || (full && group_of(&subjects[index]) != group_of(&subjects[index - 1])) {
            ends.push(index);
            start = index;
        }
    }
    ends
}

/// What a sweep keeps after its last chunk, for the last PutEvaluations and the answer.
pub const DEADLINE_RESERVE: Duration = Duration::from_secs(15);

/// A sweep's time: whether another chunk fits before the invocation's deadline.
#[derive(Debug)]
pub struct Budget {
    deadline: Option<SystemTime>,
    longest_chunk: Duration,
}

impl Budget {
    /// No deadline: every chunk fits (the command line, tests).
    pub fn new(deadline: Option<SystemTime>) -> Self {
        Budget { deadline, longest_chunk: Duration::ZERO }
    }

    /// A chunk took `elapsed`.
    pub fn chunk_took(&mut self, elapsed: Duration) {
        self.longest_chunk = self.longest_chunk.max(elapsed);
    }

    /// Whether a chunk as long as the longest so far would still end [`DEADLINE_RESERVE`] before
    /// the deadline.
    pub fn fits_another_chunk(&self) -> bool {
        self.deadline.is_none_or(|deadline| SystemTime::now() + self.longest_chunk + DEADLINE_RESERVE <= deadline)
    }
}
