//! One resource through the rules: its properties onto Config's configuration with the template
//! scan's mapping, every rule of its type run through the CLI's runner (the engine's evaluation
//! core), and each rule's verdict as a hook annotation.

use std::slice;

use pipesec_cli::input::template::mapping::SUPPORTED_TYPES;
use pipesec_cli::input::template::{Context, map_template};
use pipesec_cli::input::{Entry, Origin};
use pipesec_cli::runner::{Mode, Selection, run_rule};
use pipesec_engine::verdict::annotation;
use pipesec_engine::{Compliance, RuleInfo, Severity};
use serde_json::{Map, Value, json};

use crate::response::{Annotation, AnnotationStatus};

/// Where each rule's README row is: its remediation link is this with `#<rule id>`.
pub const README_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/README.md");

/// Configuration paths that only identify the resource. A rule that reads nothing else (its
/// pipeline's executions, the alerting that targets it) judges what exists around the deployed
/// resource, not the properties being deployed: the gate skips it, AWS Config judges it.
/// `deploy/hook.py` leaves their reads out of the function's role with the same list;
/// `tests/test_hook_e2e.py` checks that the two agree.
const IDENTITY_PATHS: &[&str] = &["name", "arn", "pipeline.name", "metadata.pipelineArn"];

/// The resource a request is about.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub resource_type: &'a str,
    pub logical_id: &'a str,
    pub properties: Map<String, Value>,
    pub account_id: &'a str,
    pub region: Option<&'a str>,
}

/// One rule's outcome for the resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleResult {
    pub rule: RuleInfo,
    pub status: AnnotationStatus,
    pub reason: String,
}

impl RuleResult {
    fn new(rule: &RuleInfo, status: AnnotationStatus, reason: &str) -> Self {
        RuleResult { rule: rule.clone(), status, reason: reason.to_owned() }
    }

    pub fn annotation(&self) -> Annotation {
        Annotation {
            annotation_name: self.rule.id.to_owned(),
            status: self.status,
            status_message: annotation(&self.reason).unwrap_or_default(),
            remediation_message: Some(self.rule.remediation.to_owned()),
            remediation_link: Some(format!("{README_URL}#{}", self.rule.id)),
            severity_level: self.rule.severity.as_str(),
        }
    }

    /// FAILED at or above `threshold`: the resource is stopped.
    pub fn stops(&self, threshold: Severity) -> bool {
        self.status == AnnotationStatus::Failed && self.rule.severity >= threshold
    }
}

/// Whether the gate judges resources of this type.
pub fn is_supported(resource_type: &str) -> bool {
    SUPPORTED_TYPES.contains(&resource_type)
}

/// The resource as the template scan sees a template resource whose values are all known.
pub fn entry(target: &Target<'_>) -> Result<Entry, String> {
    let template = json!({
        "Resources": { target.logical_id: { "Type": target.resource_type, "Properties": target.properties } }
    });
    let mut parameters = vec![("AWS::AccountId".to_owned(), target.account_id.to_owned())];
    parameters.extend(target.region.map(|region| ("AWS::Region".to_owned(), region.to_owned())));
    let context = Context { parameters: parameters.into_iter().collect() };
    let mapped = map_template(&template, &context).map_err(|err| err.to_string())?.pop();
    let mapped = mapped.ok_or_else(|| format!("{} is not a resource type pipesec judges", target.resource_type))?;
    Ok(Entry {
        item: mapped.item(Some(target.account_id), target.region),
        origin: Origin::Template { file: "the hook request".to_owned(), block: None, mapped: Box::new(mapped) },
    })
}

/// Every rule of the resource's type, in catalog order. `mode` is live: a rule that needs a
/// read makes it with the function's own role, and is SKIPPED with the reason when it cannot.
pub async fn judge(mode: &Mode, selection: &Selection, entry: &Entry) -> Vec<RuleResult> {
    let rules = selection.rules.iter().filter(|rule| rule.resource_type == entry.item.resource_type);
    let mut results = Vec::new();
    for rule in rules {
        if rule.inputs.iter().all(|input| IDENTITY_PATHS.contains(input)) {
            let reason = "judges the deployed resource's activity and surroundings, not the properties being \
                          deployed: AWS Config evaluates it after deployment";
            results.push(RuleResult::new(rule, AnnotationStatus::Skipped, reason));
            continue;
        }
        let parameters = selection.parameters.get(rule.id).map(String::as_str);
        let result = match run_rule(rule.id, mode, parameters, slice::from_ref(entry)).await {
            Ok(run) => match (run.unreadable.first(), run.findings.first()) {
                (Some(err), _) => RuleResult::new(
                    rule,
                    AnnotationStatus::Skipped,
                    &format!("the properties cannot be read as the rule reads them: {err}"),
                ),
                (None, Some(finding)) => {
                    let status = match finding.compliance {
                        Compliance::Compliant => AnnotationStatus::Passed,
                        Compliance::NonCompliant => AnnotationStatus::Failed,
                        // Unknown is never PASSED.
                        Compliance::NotApplicable => AnnotationStatus::Skipped,
                    };
                    RuleResult::new(rule, status, finding.annotation.as_deref().unwrap_or_default())
                }
                (None, None) => RuleResult::new(rule, AnnotationStatus::Skipped, "the rule gave no verdict"),
            },
            Err(err) => RuleResult::new(rule, AnnotationStatus::Skipped, &format!("could not decide: {err}")),
        };
        results.push(result);
    }
    results
}
