//! The optional pre-deployment gate: a CloudFormation Lambda hook that runs the pipesec rules
//! on an `AWS::CodeBuild::Project`, `AWS::CodeBuild::ReportGroup` or `AWS::CodePipeline::Pipeline`
//! before CloudFormation (or the Cloud Control API) creates or updates it, and answers FAILED /
//! NonCompliant when a rule at or above `FAIL_ON_SEVERITY` fails.
//!
//! The properties arrive with intrinsic functions resolved; they are mapped onto Config's
//! configuration by the template scan's mapping and judged by the same rules, so the verdicts
//! are the ones `pipesec scan-template` gives on the same resource with every value known.
//! The contract handling is described in docs/design.md ("Pre-deployment gate").

pub mod gate;
pub mod request;
pub mod response;

use std::fmt::Write as _;

use pipesec_cli::runner::{Mode, Selection};
use pipesec_engine::{Aws, Severity};
use serde_json::{Map, Value};

use gate::{RuleResult, Target};
use request::{HookRequest, InvocationPoint};
use response::{Annotation, AnnotationStatus, HookResponse};

/// The function's environment variable: the lowest severity of a failing rule that stops the
/// operation (LOW, MEDIUM, HIGH or CRITICAL; HIGH when unset).
pub const FAIL_ON_SEVERITY: &str = "FAIL_ON_SEVERITY";
/// The function's environment variable: the rules' own parameters, as a JSON object of rule id
/// → `{name: value}` (the values AWS Config would pass as `ruleParameters`).
pub const RULE_PARAMETERS: &str = "RULE_PARAMETERS";
/// The resource tag that opts a resource out of the gate; its value is the reason, and must be
/// given. An opted-out resource is still judged and reported, never silently passed.
pub const OPT_OUT_TAG: &str = "pipesec:hook-opt-out";

/// What the function is told by its environment, read once per process.
#[derive(Debug, Clone)]
pub struct Settings {
    pub fail_on: Severity,
    pub selection: Selection,
}

impl Settings {
    /// The settings from `variable` (the process environment, or a test's). The error says
    /// which variable is wrong and why.
    pub fn from_env(variable: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let fail_on = match variable(FAIL_ON_SEVERITY).as_deref().map(str::trim) {
            None | Some("") => Severity::High,
            Some(value) => severity(value)
                .ok_or_else(|| format!("{FAIL_ON_SEVERITY} must be LOW, MEDIUM, HIGH or CRITICAL, not `{value}`"))?,
        };
        let mut assignments = Vec::new();
        if let Some(raw) = variable(RULE_PARAMETERS).filter(|raw| !raw.trim().is_empty()) {
            let bad = || format!("{RULE_PARAMETERS} must be a JSON object of rule id -> {{name: value}}");
            let rules: Map<String, Value> = serde_json::from_str(&raw).map_err(|_| bad())?;
            for (rule, values) in rules {
                for (name, value) in values.as_object().ok_or_else(bad)? {
                    let value = match value {
                        Value::String(text) => text.clone(),
                        other => other.to_string(),
                    };
                    assignments.push(format!("{rule}:{name}={value}"));
                }
            }
        }
        let selection = Selection::new(&[], &assignments).map_err(|err| format!("{RULE_PARAMETERS}: {err}"))?;
        Ok(Settings { fail_on, selection })
    }
}

fn severity(name: &str) -> Option<Severity> {
    [Severity::Low, Severity::Medium, Severity::High, Severity::Critical]
        .into_iter()
        .find(|severity| severity.as_str().eq_ignore_ascii_case(name))
}

/// The function's handler: the live mode (the function's own role) and its settings.
#[derive(Debug)]
pub struct Function {
    mode: Mode,
    settings: Result<Settings, String>,
}

impl Function {
    pub fn with_settings(aws: Aws, settings: Result<Settings, String>) -> Self {
        Function { mode: Mode::Live(aws), settings }
    }
}

impl pipesec_engine::Handler for Function {
    const NAME: &'static str = "pipesec-hook";
    type Output = HookResponse;
    // Never returned: every outcome, a failure to evaluate included, is a hook response.
    type Error = pipesec_engine::Error;

    fn new(sdk_config: &aws_config::SdkConfig) -> Self {
        Function::with_settings(Aws::new(sdk_config), Settings::from_env(|name| std::env::var(name).ok()))
    }

    async fn handle(&self, payload: Value) -> Result<HookResponse, pipesec_engine::Error> {
        Ok(self.answer(payload).await)
    }
}

impl Function {
    /// The response to one request: never an error, never a panic.
    pub async fn answer(&self, payload: Value) -> HookResponse {
        let token = request::client_request_token(&payload);
        let settings = match &self.settings {
            Ok(settings) => settings,
            Err(reason) => {
                tracing::error!(%reason, "the function's settings are invalid");
                return HookResponse::internal_failure(token, &format!("the function's settings: {reason}"));
            }
        };
        let request = match HookRequest::from_value(payload) {
            Ok(request) => request,
            Err(reason) => {
                tracing::error!(%reason, "not a hook resource request");
                return HookResponse::internal_failure(
                    token,
                    &format!("not a CloudFormation hook resource request: {reason}"),
                );
            }
        };
        let response = self.answer_request(settings, &request).await;
        tracing::info!(
            logical_id = %request.request_data.target_logical_id,
            resource_type = %request.request_data.target_name,
            action = request.action_invocation_point.as_str(),
            hook_status = ?response.hook_status,
            failed = %failed_rules(&response.annotations),
            "answered"
        );
        response
    }

    async fn answer_request(&self, settings: &Settings, request: &HookRequest) -> HookResponse {
        let token = request.client_request_token.clone();
        let data = &request.request_data;
        let (resource_type, logical_id) = (data.target_name.as_str(), data.target_logical_id.as_str());
        if request.action_invocation_point == InvocationPoint::DeletePreProvision {
            return HookResponse::success(token, &format!("pipesec: deleting {logical_id} is not gated"), Vec::new());
        }
        if !gate::is_supported(resource_type) {
            return HookResponse::success(
                token,
                &format!("pipesec: {resource_type} {logical_id} is not a resource type pipesec judges"),
                Vec::new(),
            );
        }
        let properties = match request.properties() {
            Ok(properties) => properties,
            Err(reason) => return HookResponse::internal_failure(token, &reason),
        };
        let opt_out = opt_out(&properties);
        let target = Target {
            resource_type,
            logical_id,
            properties,
            account_id: &request.aws_account_id,
            region: request.stack_region(),
        };
        let entry = match gate::entry(&target) {
            Ok(entry) => entry,
            Err(reason) => return HookResponse::internal_failure(token, &format!("{logical_id}: {reason}")),
        };
        let results = gate::judge(&self.mode, &settings.selection, &entry).await;
        decide(token, &target, &results, settings.fail_on, opt_out)
    }
}

/// The resource's opt-out tag: `Some(Ok(reason))`, or `Some(Err(()))` when it has no reason.
fn opt_out(properties: &Map<String, Value>) -> Option<Result<String, ()>> {
    let tags = properties.get("Tags")?.as_array()?;
    let tag = tags.iter().find(|tag| tag.get("Key").and_then(Value::as_str) == Some(OPT_OUT_TAG))?;
    let reason = tag.get("Value").and_then(Value::as_str).map(str::trim).unwrap_or_default();
    Some(if reason.is_empty() { Err(()) } else { Ok(reason.chars().take(256).collect()) })
}

/// The answer from the rules' results.
fn decide(
    token: String,
    target: &Target<'_>,
    results: &[RuleResult],
    fail_on: Severity,
    opt_out: Option<Result<String, ()>>,
) -> HookResponse {
    let mut annotations: Vec<Annotation> = results.iter().map(RuleResult::annotation).collect();
    let stopping: Vec<&RuleResult> = results.iter().filter(|result| result.stops(fail_on)).collect();
    let count = |status| results.iter().filter(|result| result.status == status).count();
    let (passed, failed, skipped) =
        (count(AnnotationStatus::Passed), count(AnnotationStatus::Failed), count(AnnotationStatus::Skipped));
    let resource = format!("{} {}", target.resource_type, target.logical_id);
    let tally = format!("{passed} passed, {failed} failed, {skipped} skipped");
    // An opt-out is reported on every answer, whatever the rules found.
    match &opt_out {
        Some(Err(())) => annotations.push(opt_out_annotation(
            AnnotationStatus::Failed,
            format!("the `{OPT_OUT_TAG}` tag has no reason: it is ignored; give the reason as its value"),
        )),
        Some(Ok(reason)) => {
            tracing::warn!(logical_id = %target.logical_id, %reason, "opted out of the gate");
            annotations.push(opt_out_annotation(
                AnnotationStatus::Skipped,
                format!("WARN: the gate is opted out by tag `{OPT_OUT_TAG}`: {reason}"),
            ));
        }
        None => {}
    }
    if stopping.is_empty() {
        let message = match &opt_out {
            Some(Ok(reason)) => format!(
                "WARN pipesec: {resource} is opted out of the gate by tag `{OPT_OUT_TAG}` ({reason}); no rule at or \
                 above {} failed ({tally})",
                fail_on.as_str()
            ),
            _ => format!("pipesec: {resource}: no rule at or above {} failed ({tally})", fail_on.as_str()),
        };
        return HookResponse::success(token, &message, annotations);
    }
    let summary: Vec<String> =
        stopping.iter().map(|result| format!("{} ({})", result.rule.id, result.rule.severity.as_str())).collect();
    let summary = summary.join(", ");
    let mut reasons = String::new();
    for result in &stopping {
        let _ = write!(reasons, " {}: {}.", result.rule.id, result.reason.trim_end_matches('.'));
    }
    if let Some(Ok(reason)) = opt_out {
        let message = format!(
            "WARN pipesec: {resource} is opted out of the gate by tag `{OPT_OUT_TAG}` ({reason}); it would \
             otherwise be stopped by {summary} ({tally}).{reasons}"
        );
        return HookResponse::success(token, &message, annotations);
    }
    let message = format!(
        "pipesec stopped {resource}: {summary} failed at or above {} ({tally}).{reasons} Remediation: see \
         the hook's annotations, or {}",
        fail_on.as_str(),
        gate::README_URL
    );
    HookResponse::non_compliant(token, &message, annotations)
}

fn opt_out_annotation(status: AnnotationStatus, message: String) -> Annotation {
    Annotation {
        annotation_name: "pipesec-hook-opt-out".to_owned(),
        status,
        status_message: message,
        remediation_message: Some(format!(
            "Remove the `{OPT_OUT_TAG}` tag once the findings are fixed; an opt-out is reported on every operation."
        )),
        remediation_link: Some(format!("{}#pre-deployment-gate", gate::README_URL)),
        severity_level: "INFORMATIONAL",
    }
}

fn failed_rules(annotations: &[Annotation]) -> String {
    let failed: Vec<&str> = annotations
        .iter()
        .filter(|annotation| annotation.status == AnnotationStatus::Failed)
        .map(|annotation| annotation.annotation_name.as_str())
        .collect();
    failed.join(",")
}

#[cfg(test)]
mod tests;
