//! Fuzz target bodies: one function per target, taking the fuzzer's bytes. Each must return on
//! any input (an error is a fine answer) and panics where an invariant breaks, which libFuzzer
//! reports as a crash. `fuzz/fuzz_targets/<name>.rs` calls them under libFuzzer (`scripts/fuzz`,
//! nightly); `smoke` runs them on stable inside `cargo test`.
//!
//! They live in the CLI crate because it reaches every subject: the Lambda event and the
//! configuration items (`pipesec_engine`), the rules and their secret detector
//! (`pipesec_rules`), and the CloudFormation template reader, whose YAML half is here.
//!
//! | target | subject |
//! |---|---|
//! | [`event`] | Lambda payload → [`Invocation`] (envelope and invoking event), then every rule's parameters and, for a change, its pure `evaluate` |
//! | [`item`] | configuration items in the event model, the API model (`configuration` as a JSON string, and through [`ConfigurationItem::from_history`]) and the snapshot / Select / BatchGet documents and service responses (as one file: several documents, gzip), then the typed views and every rule |
//! | [`params()`] | `ruleParameters` text for every rule's parameter type, the CLI's `--param` list, then evaluation with the parameters that were accepted |
//! | [`iam`] | a policy document (URL-encoded or JSON) and the least-privilege analysis; an optional first line is a policy ARN judged by name |
//! | [`secrets`] | `NAME=VALUE` through the secret detector, then every rule on a project and a pipeline holding it; no verdict may repeat the value |
//! | [`cfn()`] | CloudFormation template text (YAML or JSON) → mapped resources → items, lines and every rule |
//! | [`terraform()`] | `terraform show -json` output (plan or state) → mapped resources → items and every rule |
//!
//! Rules run with `Facts::default()`: `gather` calls AWS and is not fuzzed. Invariants checked
//! on every verdict: its annotation is within AWS Config's 256 characters and never empty, and
//! errors have a type and a message.

// A target reports a broken invariant by panicking: every one of them may.
#![allow(clippy::missing_panics_doc)]

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::OnceLock;

use aws_sdk_config::primitives::DateTime;
use aws_sdk_config::types::{ConfigurationItem as SdkItem, ConfigurationItemStatus, ResourceType};
use pipesec_engine::decide::not_applicable;
use pipesec_engine::evaluation::Evaluation;
use pipesec_engine::event::{Invocation, Trigger};
use pipesec_engine::iam::{
    Policy, PolicyDocument, PolicyId, action_matches, aws_managed_policy_name, broad_aws_managed_policy, findings,
    is_every_resource, is_policy_arn, is_read_only, matches_every_action, role_name,
};
use pipesec_engine::params;
use pipesec_engine::resources::{CodeBuildProject, CodeBuildReportGroup, PipelineConfiguration};
use pipesec_engine::rule::Subject;
use pipesec_engine::verdict::{MAX_ANNOTATION_CHARS, annotation};
use pipesec_engine::{ConfigurationItem, Error, Resource, Rule, RuleInfo, RuleVisitor, Verdict};
use pipesec_rules::common::secrets::{anchors_hide_no_format, detect};
use serde_json::{Value, json};

use crate::input::template::{self, Context, MappedResource};
use crate::input::{Origin, snapshot};
use crate::runner::{Selection, configured_name, template_item};

/// A target body: the fuzzer's bytes in, a panic on a broken invariant.
pub type Target = fn(&[u8]);

/// The targets, by the name of their `fuzz/fuzz_targets/<name>.rs`.
pub const TARGETS: &[(&str, Target)] = &[
    ("event", event),
    ("item", item),
    ("params", params),
    ("iam", iam),
    ("secrets", secrets),
    ("cfn", cfn),
    ("terraform", terraform),
];

/// A Lambda payload as AWS Config sends a rule.
pub fn event(data: &[u8]) {
    let Ok(payload) = serde_json::from_slice::<Value>(data) else { return };
    let invocation = match Invocation::from_value(payload) {
        Ok(invocation) => invocation,
        Err(err) => return check_error(&err),
    };
    let _ = invocation.partition();
    let _ = invocation.result_token.as_str();
    match &invocation.trigger {
        Trigger::Change(item) => {
            evaluate_all(item, invocation.rule_parameters.as_deref(), invocation.event_left_scope, None);
        }
        Trigger::OversizedChange(summary) => {
            for rule in catalog() {
                pipesec_rules::with_rule(
                    rule.id,
                    Applicability {
                        resource_type: &summary.resource_type,
                        resource_id: &summary.resource_id,
                        status: summary.status,
                        left_scope: invocation.event_left_scope,
                        parameters: invocation.rule_parameters.as_deref(),
                    },
                );
            }
        }
        Trigger::Scheduled { .. } => {
            for rule in catalog() {
                pipesec_rules::with_rule(rule.id, ParseParameters(invocation.rule_parameters.as_deref()));
            }
        }
    }
}

/// A configuration item, or a document of them, in any model Config produces, or the services'
/// own responses; the bytes are also read as a file is (several documents, gzip).
pub fn item(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        // Not one JSON document: read as a file is.
        if let Ok(bytes) = crate::input::gunzip(data.to_vec(), crate::input::MAX_SNAPSHOT_BYTES) {
            match snapshot::documents(&bytes) {
                Ok(items) => items.iter().for_each(check_item),
                Err(reason) => assert!(!reason.trim().is_empty(), "an empty error"),
            }
        }
        return;
    };
    match ConfigurationItem::from_value(&value) {
        Ok(item) => {
            check_item(&item);
            // The API model of the same item: `configuration` as a JSON string.
            if let Some(configuration) = value.get("configuration").filter(|c| c.is_object()) {
                let mut api = value.clone();
                api["configuration"] = Value::String(configuration.to_string());
                let again = ConfigurationItem::from_value(&api).expect("the API model of a readable item reads");
                assert_eq!(again.configuration, item.configuration, "both models give the same configuration");
            }
        }
        Err(err) => check_error(&err),
    }
    let json = value.to_string();
    one_pass_read_agrees::<CodeBuildProject>(&json);
    one_pass_read_agrees::<PipelineConfiguration>(&json);
    one_pass_read_agrees::<CodeBuildReportGroup>(&json);
    history(&value);
    match snapshot::items(&value) {
        Ok(items) => items.iter().for_each(check_item),
        Err(reason) => assert!(!reason.trim().is_empty(), "an empty error"),
    }
}

/// An item as GetResourceConfigHistory returns it, built from the fields of `value`.
fn history(value: &Value) {
    let text = |name: &str| value.get(name).and_then(Value::as_str);
    let time = match value.get("configurationItemCaptureTime") {
        Some(Value::Number(number)) => number.as_i64().map(DateTime::from_secs),
        Some(Value::String(text)) => Some(DateTime::from_millis(i64::try_from(text.len()).unwrap_or(0))),
        _ => None,
    };
    let configuration = value.get("configuration").map(|c| c.as_str().map_or_else(|| c.to_string(), str::to_owned));
    let mut builder = SdkItem::builder()
        .set_resource_type(text("resourceType").map(ResourceType::from))
        .set_resource_id(text("resourceId").map(str::to_owned))
        .set_resource_name(text("resourceName").map(str::to_owned))
        .set_configuration_item_status(text("configurationItemStatus").map(ConfigurationItemStatus::from))
        .set_configuration_item_capture_time(time)
        .set_configuration(configuration);
    if let Some(Value::Object(entries)) = value.get("supplementaryConfiguration") {
        for (key, entry) in entries {
            builder = builder
                .supplementary_configuration(key, entry.as_str().map_or_else(|| entry.to_string(), str::to_owned));
        }
    }
    if let Some(Value::Object(tags)) = value.get("tags") {
        for (key, tag) in tags {
            builder = builder.tags(key, tag.as_str().unwrap_or_default());
        }
    }
    match ConfigurationItem::from_history(&builder.build()) {
        Ok(item) => check_item(&item),
        Err(err) => check_error(&err),
    }
}

/// `ruleParameters` as Config passes them, for every rule; accepted parameters are then used
/// to evaluate a project, a pipeline and a report group.
pub fn params(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let items: Vec<&ConfigurationItem> = seed_items().iter().collect();
    evaluate_each(&items, Some(&text), false, None);
    // The CLI's `--param RULE_ID:NAME=VALUE`, one per line.
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if let Err(err) = Selection::new(&[], &lines) {
        assert!(!err.to_string().trim().is_empty(), "an empty error");
    }
}

/// A policy document and the least-privilege analysis. When the input has a line break, the
/// text before it is a policy ARN (or role ARN) and the rest the document.
pub fn iam(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (arn, document) = match text.split_once('\n') {
        Some((arn, document)) => (arn, document),
        None => ("", &*text),
    };
    let _ = (is_policy_arn(arn), aws_managed_policy_name(arn), broad_aws_managed_policy(arn), role_name(arn));
    let parsed = PolicyDocument::parse(document);
    if let Ok(document) = &parsed {
        let _ = document.problems();
        for statement in &document.statements {
            let actions = statement.action.iter().chain(&statement.not_action).flatten();
            for action in actions.clone() {
                let _ = (matches_every_action(action), is_read_only(action), action_matches(action, "iam:PassRole"));
                for other in actions.clone() {
                    let _ = action_matches(action, other);
                }
            }
            for resource in statement.resource.iter().chain(&statement.not_resource).flatten() {
                let _ = is_every_resource(resource);
            }
        }
    }
    let policies = vec![
        Policy { id: PolicyId::AwsManaged(arn.to_owned()), document: None },
        Policy { id: PolicyId::CustomerManaged(arn.to_owned()), document: Some(parsed.clone()) },
        Policy { id: PolicyId::Inline("inline".to_owned()), document: Some(parsed) },
    ];
    for finding in findings(&policies, &[]).iter().chain(&findings(&policies, &[arn.to_owned()])) {
        let reason = finding.to_string();
        check_verdict(&Verdict::non_compliant(reason));
    }
}

/// `NAME=VALUE`: the detector on its own, then every rule on a project and a pipeline holding
/// the variable (a PLAINTEXT variable, an action setting). No verdict may repeat the value.
pub fn secrets(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (name, value) = text.split_once('=').unwrap_or((&text, ""));
    let kinds = [detect(name, Some(value)), detect(name, None)];
    assert!(anchors_hide_no_format(value), "the anchor prefilter hid a secret format");
    let verdicts = secret_verdicts(name, value);
    let value = value.trim();
    // A short value can be in any sentence by chance (`a`, `secret`).
    if value.chars().count() < 8 {
        return;
    }
    for verdict in &verdicts {
        if verdict.reason.contains(value)
            // Not a repeat: the value is also in the rule's own wording, the variable's name or
            // the kind, as the verdict on a reference secret under the same name shows.
            && !kinds.iter().flatten().any(|kind| kind.to_string().contains(value))
            && !secret_verdicts(name, REFERENCE_SECRET).iter().any(|reference| reference.reason.contains(value))
        {
            panic!("the verdict repeats the value: {}", verdict.reason);
        }
    }
}

/// A GitHub token, for the wording of a verdict on a secret.
const REFERENCE_SECRET: &str = "ghp_R8xK2mQ9vT4nW7pL1sD6fH3jB5cZ0aY8eU2i";

fn secret_verdicts(name: &str, value: &str) -> Vec<Verdict> {
    let variables = json!([{"name": name, "value": value, "type": "PLAINTEXT"}]);
    let project = json!({
        "resourceType": CodeBuildProject::RESOURCE_TYPE, "resourceId": "fuzz", "resourceName": "fuzz-project",
        "configurationItemCaptureTime": "2026-01-01T00:00:00Z", "configurationItemStatus": "OK",
        "configuration": {"name": "fuzz-project", "environment": {"environmentVariables": variables}},
    });
    let pipeline = json!({
        "resourceType": PipelineConfiguration::RESOURCE_TYPE, "resourceId": "fuzz", "resourceName": "fuzz-pipeline",
        "configurationItemCaptureTime": "2026-01-01T00:00:00Z", "configurationItemStatus": "OK",
        "configuration": {"pipeline": {"name": "fuzz-pipeline", "stages": [{"name": "Build", "actions": [{
            "name": "Build",
            "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
            "configuration": {"ProjectName": "fuzz-project", "EnvironmentVariables": variables.to_string(), name: value},
        }]}]}},
    });
    let project = ConfigurationItem::from_value(&project).expect("a variable is always readable");
    let pipeline = ConfigurationItem::from_value(&pipeline).expect("a setting is always readable");
    evaluate_each(&[&project, &pipeline], None, false, None)
}

/// A CloudFormation template, YAML or JSON, read as `pipesec scan` reads it.
pub fn cfn(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let document = match template::parse(text) {
        Ok(document) => document,
        Err(reason) => {
            assert!(!reason.trim().is_empty(), "an empty error");
            return;
        }
    };
    let contexts = [
        Context::default(),
        Context {
            parameters: BTreeMap::from([
                ("AWS::Region".to_owned(), "eu-west-1".to_owned()),
                ("AWS::AccountId".to_owned(), "123456789012".to_owned()),
                ("Environment".to_owned(), "prod".to_owned()),
            ]),
        },
    ];
    for context in &contexts {
        let mapped = match template::map_template(&document, context) {
            Ok(mapped) => mapped,
            Err(err) => {
                assert!(!err.to_string().trim().is_empty(), "an empty error");
                continue;
            }
        };
        let account = context.parameters.get("AWS::AccountId").map(String::as_str);
        let region = context.parameters.get("AWS::Region").map(String::as_str);
        for resource in &mapped {
            let _ = resource.name();
            for unresolved in &resource.unresolved {
                let _ = template::lines::line_of(text, &resource.logical_id, &unresolved.property);
            }
            let item = resource.item(account, region);
            check_item_views(&item);
            evaluate_all(&item, None, false, Some((resource, text)));
        }
    }
}

/// A Terraform plan or state (`terraform show -json`), read as `pipesec scan-terraform` reads it.
pub fn terraform(data: &[u8]) {
    let Ok(document) = serde_json::from_slice::<Value>(data) else { return };
    let entries = match crate::input::terraform::entries(&document, "plan.json") {
        Ok(entries) => entries,
        Err(reason) => {
            assert!(!reason.trim().is_empty(), "an empty error");
            return;
        }
    };
    for entry in &entries {
        let Origin::Terraform { mapped, .. } = &entry.origin else { panic!("a Terraform entry of another origin") };
        let _ = mapped.name();
        check_item_views(&entry.item);
        // No text: Terraform's output has no lines to locate a property at.
        evaluate_all(&entry.item, None, false, Some((mapped, "")));
    }
}

fn catalog() -> &'static [RuleInfo] {
    static CATALOG: OnceLock<Vec<RuleInfo>> = OnceLock::new();
    CATALOG.get_or_init(pipesec_rules::catalog)
}

/// A project, a pipeline and a report group from the rules' fixtures, for the parameters target.
fn seed_items() -> &'static [ConfigurationItem] {
    static ITEMS: OnceLock<Vec<ConfigurationItem>> = OnceLock::new();
    ITEMS.get_or_init(|| {
        [
            include_str!("../../rules/fixtures/codebuild-project-no-plaintext-secrets/non-compliant-secret-name.json"),
            include_str!("../../rules/fixtures/codepipeline-region-fanout-check/non-compliant-fast-fanout.json"),
            include_str!("../../rules/fixtures/codebuild-report-group-export-encrypted/non-compliant-unencrypted.json"),
        ]
        .iter()
        .map(|text| ConfigurationItem::from_value(&serde_json::from_str(text).expect("fixture")).expect("fixture"))
        .collect()
    })
}

/// Every rule on one item, as the engine would (parameters, applicability, view, evaluate),
/// with the template's unresolved values when the item comes from one; the verdicts.
fn evaluate_all(
    item: &ConfigurationItem,
    parameters: Option<&str>,
    left_scope: bool,
    template: Option<(&MappedResource, &str)>,
) -> Vec<Verdict> {
    evaluate_each(&[item], parameters, left_scope, template)
}

/// [`evaluate_all`] on several items, each rule's parameters parsed once.
fn evaluate_each(
    items: &[&ConfigurationItem],
    parameters: Option<&str>,
    left_scope: bool,
    template: Option<(&MappedResource, &str)>,
) -> Vec<Verdict> {
    let items: Vec<(&ConfigurationItem, Views)> = items.iter().map(|item| (*item, Views::default())).collect();
    let mut verdicts = Vec::new();
    for rule in catalog() {
        let visitor = Evaluate { items: &items, parameters, left_scope, template };
        verdicts.extend(pipesec_rules::with_rule(rule.id, visitor).into_iter().flatten());
    }
    verdicts
}

/// The typed view of the item, read once per resource type rather than once per rule.
#[derive(Default)]
struct Views(std::cell::RefCell<Vec<(TypeId, Box<dyn Any>)>>);

impl Views {
    /// `evaluate` on the item's view as resource `R`; `None` when the item has no such view.
    fn with_subject<R: Resource>(
        &self,
        item: &ConfigurationItem,
        evaluate: impl FnOnce(&Subject<R>) -> Verdict,
    ) -> Option<Verdict> {
        let mut views = self.0.borrow_mut();
        let index = if let Some(index) = views.iter().position(|(id, _)| *id == TypeId::of::<R>()) {
            index
        } else {
            let subject = Subject::<R>::from_item(item.clone());
            if let Err(err) = &subject {
                check_error(err);
            }
            views.push((TypeId::of::<R>(), Box::new(subject.ok())));
            views.len() - 1
        };
        let subject = views[index].1.downcast_ref::<Option<Subject<R>>>().expect("one type per id").as_ref()?;
        Some(evaluate(subject))
    }
}

struct Evaluate<'a> {
    items: &'a [(&'a ConfigurationItem, Views)],
    parameters: Option<&'a str>,
    left_scope: bool,
    template: Option<(&'a MappedResource, &'a str)>,
}

impl RuleVisitor for Evaluate<'_> {
    type Output = Vec<Verdict>;

    fn visit<R: Rule>(self) -> Vec<Verdict> {
        let params = match params::parse::<R::Params>(self.parameters) {
            Ok(params) => params.rule,
            Err(err) => {
                check_error(&err);
                match params::parse::<R::Params>(None) {
                    Ok(params) => params.rule,
                    Err(_) => return Vec::new(),
                }
            }
        };
        self.items.iter().filter_map(|(item, views)| self.evaluate::<R>(item, views, &params)).collect()
    }
}

impl Evaluate<'_> {
    fn evaluate<R: Rule>(&self, item: &ConfigurationItem, views: &Views, params: &R::Params) -> Option<Verdict> {
        let verdict = if let Some(verdict) = not_applicable::<R>(&item.resource_type, item.status, self.left_scope) {
            verdict
        } else if let Some((mapped, text)) = self.template {
            match template_item(mapped, item, R::INPUTS, R::UNKNOWN_TOLERANT) {
                Err((verdict, property)) => {
                    let _ = template::lines::line_of(text, &mapped.logical_id, property);
                    verdict
                }
                Ok(item) => {
                    let subject = match Subject::<R::Resource>::from_item(item) {
                        Ok(subject) => subject,
                        Err(err) => {
                            check_error(&err);
                            return None;
                        }
                    };
                    let property = template::property_path(
                        &subject.item.resource_type,
                        R::INPUTS.first().copied().unwrap_or_default(),
                    );
                    let _ = template::lines::line_of(text, &mapped.logical_id, &property);
                    R::evaluate(&subject, &R::Facts::default(), params)
                }
            }
        } else {
            views.with_subject(item, |subject| R::evaluate(subject, &R::Facts::default(), params))?
        };
        check_verdict(&verdict);
        let _ = Evaluation::new(&item.resource_type, &item.resource_id, &verdict, item.capture_time);
        Some(verdict)
    }
}

/// Parameters only (scheduled notifications evaluate the inventory, which is AWS's).
struct ParseParameters<'a>(Option<&'a str>);

impl RuleVisitor for ParseParameters<'_> {
    type Output = ();

    fn visit<R: Rule>(self) {
        if let Err(err) = params::parse::<R::Params>(self.0) {
            check_error(&err);
        }
    }
}

/// What the engine decides for an oversized notification before reading the item.
struct Applicability<'a> {
    resource_type: &'a str,
    resource_id: &'a str,
    status: pipesec_engine::ItemStatus,
    left_scope: bool,
    parameters: Option<&'a str>,
}

impl RuleVisitor for Applicability<'_> {
    type Output = ();

    fn visit<R: Rule>(self) {
        ParseParameters(self.parameters).visit::<R>();
        if let Some(verdict) = not_applicable::<R>(self.resource_type, self.status, self.left_scope) {
            check_verdict(&verdict);
            let _ = Evaluation::new(self.resource_type, self.resource_id, &verdict, DateTime::from_secs(0));
        }
    }
}

/// The item's views of every resource type, whatever its own type, and every rule on it.
fn check_item(item: &ConfigurationItem) {
    let _ = (item.lookup_name(), item.status.is_gone(), configured_name(item));
    check_item_views(item);
    evaluate_all(item, None, false, None);
}

fn check_item_views(item: &ConfigurationItem) {
    fn view<T: Resource>(item: &ConfigurationItem) {
        if let Err(err) = item.view::<T>() {
            check_error(&err);
        }
    }
    view::<CodeBuildProject>(item);
    view::<PipelineConfiguration>(item);
    view::<CodeBuildReportGroup>(item);
}

/// The sweep's one-pass read gives the subject the two steps give, or leaves the item to them.
fn one_pass_read_agrees<T: Resource>(json: &str) {
    if let Some(one) = Subject::<T>::read_in_one_pass(json) {
        let two = ConfigurationItem::from_json(json).and_then(Subject::<T>::from_item);
        let two = two.expect("what one pass reads, two steps read");
        assert_eq!(format!("{one:?}"), format!("{two:?}"), "one pass and two steps read the same");
    }
}

/// An error says what it is and what went wrong.
fn check_error(err: &Error) {
    assert!(!err.error_type().is_empty(), "an error without type: {err:?}");
    assert!(!err.to_string().trim().is_empty(), "an error without message: {err:?}");
}

/// A verdict's annotation fits AWS Config's limit and is never empty.
fn check_verdict(verdict: &Verdict) {
    if let Some(annotation) = annotation(&verdict.reason) {
        let chars = annotation.chars().count();
        assert!((1..=MAX_ANNOTATION_CHARS).contains(&chars), "annotation of {chars} characters: {annotation:?}");
        assert_eq!(annotation.trim(), annotation, "annotation with surrounding spaces: {annotation:?}");
    }
}

#[cfg(test)]
mod smoke;
