//! Periodic sweeps: every resource of the rule's type from AWS Config's own inventory, and the
//! clean-up of results for resources that are gone.

use std::collections::HashSet;

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

/// NOT_APPLICABLE for every resource this rule last found COMPLIANT or NON_COMPLIANT that is not
/// among `current` (type, id) pairs any more: without this, a deleted resource would stay
/// NON_COMPLIANT on the dashboard forever.
#[allow(clippy::implicit_hasher)] // one caller, with the default hasher
pub async fn stale_results(
    aws: &Aws,
    rule_name: &str,
    current: &HashSet<ResourceKey>,
    ordering_timestamp: DateTime,
) -> Result<Vec<Evaluation>> {
    let gone = Verdict::not_applicable("the resource no longer exists");
    let mut stale = Vec::new();
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
            if !current.contains(&(resource_type.to_owned(), resource_id.to_owned())) {
                stale.push(Evaluation::new(resource_type, resource_id, &gone, ordering_timestamp));
            }
        }
    }
    Ok(stale)
}
