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

/// Every recorded item of `resource_type`, read from Config's inventory (100 per call), plus the
/// errors of those that could not be read (the sweep reports the rest).
pub async fn inventory(aws: &Aws, resource_type: &str) -> Result<(Vec<ConfigurationItem>, Vec<Error>)> {
    let (mut items, mut errors) = (Vec::new(), Vec::new());
    select_each(aws, resource_type, |result| match ConfigurationItem::from_json(result) {
        Ok(item) => items.push(item),
        Err(err) => errors.push(err),
    })
    .await?;
    Ok((items, errors))
}

/// What a rule's sweep reads from Config's inventory.
#[derive(Debug)]
pub struct Subjects<R> {
    /// The resources that exist, readable or not, as (type, id): the stale-result clean-up
    /// keeps their results.
    pub current: HashSet<(String, String)>,
    /// Those to evaluate: recorded and readable.
    pub subjects: Vec<Subject<R>>,
    /// Why the others could not be read.
    pub unreadable: Vec<Error>,
}

/// Every recorded resource of the rule's type, read from Config's inventory (100 per call) into
/// the rule's view.
pub async fn subjects<R: Resource>(aws: &Aws) -> Result<Subjects<R>> {
    let mut read = Subjects { current: HashSet::new(), subjects: Vec::new(), unreadable: Vec::new() };
    select_each(aws, R::RESOURCE_TYPE, |result| read.add(result)).await?;
    Ok(read)
}

impl<R: Resource> Subjects<R> {
    fn add(&mut self, json: &str) {
        // Most items in one pass; the rest (deleted resources, errors) in two, which say why.
        let Some(subject) = Subject::<R>::read_in_one_pass(json).or_else(|| self.read_in_two_steps(json)) else {
            return;
        };
        // A deleted resource may still come with its last configuration.
        if !subject.item.status.is_gone() {
            self.current.insert((subject.item.resource_type.clone(), subject.item.resource_id.clone()));
            self.subjects.push(subject);
        }
    }

    /// The subject, unless the resource is gone or cannot be read: then the error is kept (and a
    /// resource whose view cannot be read still exists).
    fn read_in_two_steps(&mut self, json: &str) -> Option<Subject<R>> {
        let item = ConfigurationItem::from_json(json).map_err(|err| self.unreadable.push(err)).ok()?;
        if item.status.is_gone() {
            return None;
        }
        let key = (item.resource_type.clone(), item.resource_id.clone());
        Subject::from_item(item)
            .map_err(|err| {
                self.current.insert(key);
                self.unreadable.push(err);
            })
            .ok()
    }
}

/// Calls `each` with the JSON text of every recorded item of `resource_type`, page by page.
async fn select_each(aws: &Aws, resource_type: &str, mut each: impl FnMut(&str)) -> Result<()> {
    // Resource types are constants of the rules, never user input, so quoting is not an issue.
    let expression = format!("SELECT {SELECTED_FIELDS} WHERE resourceType = '{resource_type}'");
    let mut next_token = None;
    loop {
        let page = aws
            .config()
            .select_resource_config()
            .expression(&expression)
            .limit(PAGE_SIZE)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|err| aws.error("config:SelectResourceConfig", err))?;
        for result in page.results() {
            each(result);
        }
        next_token = page.next_token().filter(|token| !token.is_empty()).map(str::to_owned);
        if next_token.is_none() {
            return Ok(());
        }
    }
}

/// NOT_APPLICABLE for every resource this rule last found COMPLIANT or NON_COMPLIANT that is not
/// among `current` (type, id) pairs any more: without this, a deleted resource would stay
/// NON_COMPLIANT on the dashboard forever.
#[allow(clippy::implicit_hasher)] // one caller, with the default hasher
pub async fn stale_results(
    aws: &Aws,
    rule_name: &str,
    current: &HashSet<(String, String)>,
    ordering_timestamp: DateTime,
) -> Result<Vec<Evaluation>> {
    let gone = Verdict::not_applicable("the resource no longer exists");
    let mut stale = Vec::new();
    let mut next_token = None;
    loop {
        let page = aws
            .config()
            .get_compliance_details_by_config_rule()
            .config_rule_name(rule_name)
            .compliance_types(ComplianceType::Compliant)
            .compliance_types(ComplianceType::NonCompliant)
            .limit(PAGE_SIZE)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|err| aws.error("config:GetComplianceDetailsByConfigRule", err))?;
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
        next_token = page.next_token().filter(|token| !token.is_empty()).map(str::to_owned);
        if next_token.is_none() {
            return Ok(stale);
        }
    }
}
