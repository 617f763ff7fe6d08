//! # codepipeline-execution-anomalies
//!
//! The monitoring half of SEC11-BP07: a pipeline's recent activity should look like its usual
//! activity. Over the last `windowHours` the rule flags:
//!
//! - **failure rate**: more than `maxFailureRate` of the finished executions (Succeeded or Failed;
//!   stopped, superseded and running ones are left out) failed. Counted only from
//!   [`MIN_FINISHED_FOR_RATE`] finished executions on, so one failure out of two is not an anomaly.
//! - **frequency spike**: more than [`SPIKE_FACTOR`] × the pipeline's average number of executions
//!   per window over the [`BASELINE_WINDOWS`] previous windows. The baseline starts at the first
//!   execution seen when that is more recent, so a new pipeline is not measured against empty
//!   windows; with no earlier execution there is no baseline and no spike. A spike needs at least
//!   [`MIN_SPIKE_EXECUTIONS`] executions in the window.
//! - **off-hours runs**: executions started outside `businessHours` (see
//!   [`crate::common::business_hours`] for the format). Not checked when the parameter is not set.
//! - **sensitive calls**: DeletePipeline, UpdatePipeline, DisableStageTransition,
//!   StopPipelineExecution or PutApprovalResult on the pipeline from a source IP outside
//!   `allowedCidrs`, or by a principal outside `allowedPrincipals` (either list not set: that
//!   side is not checked). Calls that AWS services make on a principal's behalf carry a service
//!   name instead of an IP and are not judged by network.
//!
//! Executions come from ListPipelineExecutions (newest first, paged, read until the start of the
//! baseline). Calls come from CloudTrail's event history, LookupEvents by event name — one lookup
//! per sensitive operation for the whole invocation, not one per pipeline: LookupEvents is
//! limited to two requests a second per account, and the pipeline is taken from the request
//! parameters, which does not depend on CloudTrail listing the pipeline among the event's
//! resources. The window ends when the facts were gathered, so `evaluate` never reads the clock.
//!
//! A change notification is evaluated like a sweep (the same window, ending at the change), so
//! an UpdatePipeline from an unexpected network shows at once rather than at the next sweep.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: periodic sweep (the point of the rule), and configuration change
//! - **Parameters** (all optional): `windowHours` (1–168, default 24), `maxFailureRate` (0–1,
//!   default 0.5), `businessHours` (e.g. `Mon-Fri 08:00-18:00 Europe/Berlin`), `allowedCidrs`
//!   (comma-separated CIDRs or addresses, IPv4 or IPv6), `allowedPrincipals` (comma-separated
//!   IAM ARNs, `*` as wildcard; an assumed-role session matches by its role's ARN too)
//!
//! | scenario | verdict |
//! |---|---|
//! | steady executions, few failures, in business hours, no sensitive call | COMPLIANT |
//! | failure rate above `maxFailureRate` | NON_COMPLIANT, with counts |
//! | many failures but too few finished executions | COMPLIANT |
//! | executions above 3× the baseline | NON_COMPLIANT, with counts |
//! | a burst on a pipeline with no earlier execution | COMPLIANT (no baseline) |
//! | an execution outside `businessHours` | NON_COMPLIANT, with count and latest local time |
//! | a sensitive call from outside `allowedCidrs` | NON_COMPLIANT, with counts per operation |
//! | a sensitive call by a principal outside `allowedPrincipals` | NON_COMPLIANT |
//! | a sensitive call from an allowed network and principal | COMPLIANT |
//! | activity older than the window | COMPLIANT |
//! | the pipeline no longer exists in CodePipeline | NOT_APPLICABLE |

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_codepipeline::operation::list_pipeline_executions::ListPipelineExecutionsError;
use ipnet::IpNet;
use jiff::{SignedDuration, Timestamp};
use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::common::business_hours::BusinessHours;
use crate::common::event_pattern::wildcard;

pub const ID: &str = "codepipeline-execution-anomalies";

/// The window when `windowHours` is not set.
pub const DEFAULT_WINDOW_HOURS: u32 = 24;
/// The largest window: the baseline reaches back 8 windows, within CloudTrail's 90 days.
pub const MAX_WINDOW_HOURS: u32 = 168;
pub const DEFAULT_MAX_FAILURE_RATE: f64 = 0.5;
/// Finished executions needed before the failure rate means anything.
pub const MIN_FINISHED_FOR_RATE: usize = 5;
/// A spike is more than this many times the baseline...
pub const SPIKE_FACTOR: f64 = 3.0;
/// ...and at least this many executions in the window.
pub const MIN_SPIKE_EXECUTIONS: usize = 10;
/// The windows before this one that make the baseline.
pub const BASELINE_WINDOWS: u32 = 7;
/// The operations on a pipeline that change what it does or stop it.
pub const SENSITIVE_OPERATIONS: [&str; 5] =
    ["DeletePipeline", "UpdatePipeline", "DisableStageTransition", "StopPipelineExecution", "PutApprovalResult"];
const EVENT_SOURCE: &str = "codepipeline.amazonaws.com";

#[derive(Debug)]
pub struct ExecutionAnomalies;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "windowHours", deserialize_with = "window_hours")]
    pub window_hours: Option<u32>,
    #[serde(rename = "maxFailureRate", deserialize_with = "failure_rate")]
    pub max_failure_rate: Option<f64>,
    #[serde(rename = "businessHours", deserialize_with = "business_hours")]
    pub business_hours: Option<BusinessHours>,
    #[serde(rename = "allowedCidrs", deserialize_with = "cidrs")]
    pub allowed_cidrs: Vec<IpNet>,
    #[serde(rename = "allowedPrincipals", deserialize_with = "principals")]
    pub allowed_principals: Vec<String>,
}

impl Params {
    fn window(&self) -> SignedDuration {
        SignedDuration::from_hours(i64::from(self.window_hours.unwrap_or(DEFAULT_WINDOW_HOURS)))
    }

    fn window_text(&self) -> String {
        format!("{} h", self.window_hours.unwrap_or(DEFAULT_WINDOW_HOURS))
    }
}

fn window_hours<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let hours = pipesec_engine::params::whole_number(deserializer)?;
    match hours {
        Some(hours) if !(1..=MAX_WINDOW_HOURS).contains(&hours) => {
            Err(D::Error::custom(format!("expected 1 to {MAX_WINDOW_HOURS} hours, not {hours}")))
        }
        hours => Ok(hours),
    }
}

fn failure_rate<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    let rate = match Value::deserialize(deserializer)? {
        Value::String(text) => text.trim().parse::<f64>().ok(),
        Value::Number(number) => number.as_f64(),
        _ => None,
    };
    match rate {
        Some(rate) if (0.0..=1.0).contains(&rate) => Ok(Some(rate)),
        _ => Err(D::Error::custom("expected a fraction from 0 to 1, e.g. 0.5")),
    }
}

fn business_hours<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<BusinessHours>, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map(Some).map_err(D::Error::custom)
}

fn cidrs<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<IpNet>, D::Error> {
    pipesec_engine::params::comma_list(deserializer)?
        .iter()
        .map(|text| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| D::Error::custom(format!("`{text}` is not a CIDR block or IP address")))
        })
        .collect()
}

fn principals<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let principals = pipesec_engine::params::comma_list(deserializer)?;
    match principals.iter().find(|principal| !principal.starts_with("arn:")) {
        Some(bad) => Err(D::Error::custom(format!("`{bad}` is not an ARN (arn:…, `*` allowed)"))),
        None => Ok(principals),
    }
}

/// One execution of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub started: Timestamp,
    /// CodePipeline's status: `Succeeded`, `Failed`, `InProgress`, `Stopped`, `Superseded`, …
    pub status: String,
}

/// One sensitive call on a pipeline, from CloudTrail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiCall {
    pub time: Timestamp,
    pub operation: String,
    /// The pipeline it was made on, from the request parameters (or the event's resources).
    pub pipeline: Option<String>,
    /// `sourceIPAddress`: an IP address, or a service name for calls AWS services made.
    pub source: Option<String>,
    /// `userIdentity.arn`.
    pub principal: Option<String>,
    /// The role of an assumed-role session (`sessionContext.sessionIssuer.arn`).
    pub role: Option<String>,
}

/// What happened on the pipeline, up to `window_end`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Activity {
    /// When the facts were gathered: the end of the window.
    pub window_end: Timestamp,
    /// Executions since the start of the baseline, newest first; `None` when CodePipeline does
    /// not know the pipeline.
    pub executions: Option<Vec<Execution>>,
    /// Sensitive calls in the window on every pipeline of the account (read once, shared).
    pub calls: Arc<Vec<ApiCall>>,
}

fn before(end: Timestamp, duration: SignedDuration) -> Timestamp {
    end.checked_sub(duration).unwrap_or(Timestamp::MIN)
}

fn timestamp(time: &aws_sdk_codepipeline::primitives::DateTime) -> Option<Timestamp> {
    time.to_millis().ok().and_then(|millis| Timestamp::from_millisecond(millis).ok())
}

impl Rule for ExecutionAnomalies {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::Monitoring;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "Investigate the pipeline's recent executions and the listed API calls; restrict \
         who can change or stop the pipeline, and from where, with IAM conditions (aws:SourceIp, principals).";
    const READS: &'static [&'static str] = &["codepipeline:ListPipelineExecutions", "cloudtrail:LookupEvents"];
    const PERIODIC: bool = true;
    const INPUTS: &'static [&'static str] = &["pipeline.name"];
    type Resource = PipelineConfiguration;
    type Params = Params;
    type Facts = Activity;

    async fn gather(aws: &Aws, params: &Params, subjects: &[Subject<PipelineConfiguration>]) -> Result<Vec<Activity>> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let window_end = Timestamp::now();
        let window_start = before(window_end, params.window());
        let history_start = before(window_start, params.window() * BASELINE_WINDOWS.cast_signed());
        let calls = Arc::new(sensitive_calls(aws, window_start, window_end).await?);
        let mut activity = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let executions = executions(aws, subject.pipeline_name(), history_start).await?;
            activity.push(Activity { window_end, executions, calls: Arc::clone(&calls) });
        }
        Ok(activity)
    }

    fn evaluate(subject: &Subject<PipelineConfiguration>, activity: &Activity, params: &Params) -> Verdict {
        let name = subject.pipeline_name();
        let Some(executions) = &activity.executions else {
            return Verdict::not_applicable(format!("CodePipeline does not know pipeline `{name}` any more"));
        };
        let window_end = activity.window_end;
        let window_start = before(window_end, params.window());
        let in_window: Vec<&Execution> =
            executions.iter().filter(|e| e.started >= window_start && e.started <= window_end).collect();
        let mut findings = Vec::new();
        let mut notes = vec![format!("{} execution(s) in the last {}", in_window.len(), params.window_text())];

        let failed = in_window.iter().filter(|e| e.status == "Failed").count();
        let finished = failed + in_window.iter().filter(|e| e.status == "Succeeded").count();
        let max_rate = params.max_failure_rate.unwrap_or(DEFAULT_MAX_FAILURE_RATE);
        #[allow(clippy::cast_precision_loss)] // execution counts are far below 2^52
        let rate = if finished == 0 { 0.0 } else { failed as f64 / finished as f64 };
        if finished >= MIN_FINISHED_FOR_RATE && rate > max_rate {
            findings.push(format!(
                "failure rate {:.0}% ({failed} of {finished} finished executions) above {:.0}%",
                rate * 100.0,
                max_rate * 100.0
            ));
        } else {
            notes.push(format!("{failed} of {finished} finished failed"));
        }

        if let Some(spike) = spike(executions, in_window.len(), window_start, params.window()) {
            findings.push(format!(
                "{} executions in the last {}, over {SPIKE_FACTOR}× the usual {spike:.1} per window",
                in_window.len(),
                params.window_text()
            ));
        }

        if let Some(hours) = &params.business_hours {
            let outside: Vec<&&Execution> = in_window.iter().filter(|e| !hours.contains(e.started)).collect();
            if let Some(latest) = outside.iter().map(|e| e.started).max() {
                findings.push(format!(
                    "{} of {} executions started outside business hours ({hours}), latest {}",
                    outside.len(),
                    in_window.len(),
                    hours.local_time(latest)
                ));
            }
        }

        let calls: Vec<&ApiCall> = activity
            .calls
            .iter()
            .filter(|call| call.pipeline.as_deref() == Some(name))
            .filter(|call| call.time >= window_start && call.time <= window_end)
            .collect();
        let suspicious: Vec<&&ApiCall> = calls.iter().filter(|call| !allowed(call, params)).collect();
        if suspicious.is_empty() {
            notes.push(format!("{} sensitive call(s), none from outside the allow-lists", calls.len()));
        } else {
            findings.push(describe_calls(&suspicious));
        }

        if findings.is_empty() {
            Verdict::compliant(format!("no anomaly: {}", notes.join(", ")))
        } else {
            Verdict::non_compliant(findings.join("; "))
        }
    }
}

/// The baseline (executions per window) when the window's count is a spike against it.
fn spike(executions: &[Execution], in_window: usize, window_start: Timestamp, window: SignedDuration) -> Option<f64> {
    let history_start = before(window_start, window * BASELINE_WINDOWS.cast_signed());
    let history: Vec<Timestamp> = executions
        .iter()
        .map(|e| e.started)
        .filter(|started| *started >= history_start && *started < window_start)
        .collect();
    let first = history.iter().min()?;
    // Whole windows from the first execution seen to the window's start, at least one.
    let span = window_start.duration_since(*first).as_secs_f64() / window.as_secs_f64();
    let windows = span.ceil().clamp(1.0, f64::from(BASELINE_WINDOWS));
    #[allow(clippy::cast_precision_loss)] // execution counts are far below 2^52
    let baseline = history.len() as f64 / windows;
    #[allow(clippy::cast_precision_loss)]
    let spiked = in_window >= MIN_SPIKE_EXECUTIONS && in_window as f64 > SPIKE_FACTOR * baseline;
    spiked.then_some(baseline)
}

/// Whether a call came from an allowed network and principal (an unset list allows all).
fn allowed(call: &ApiCall, params: &Params) -> bool {
    let network_ok = params.allowed_cidrs.is_empty()
        || match call.source.as_deref().and_then(|source| source.parse::<IpAddr>().ok()) {
            Some(ip) => params.allowed_cidrs.iter().any(|net| net.contains(&ip)),
            // A service name (`codepipeline.amazonaws.com`, `AWS Internal`): AWS acted itself.
            None => true,
        };
    let identities = [call.principal.as_deref(), call.role.as_deref()];
    let principal_ok = params.allowed_principals.is_empty()
        || identities
            .iter()
            .flatten()
            .any(|identity| params.allowed_principals.iter().any(|allowed| wildcard(allowed, identity)));
    network_ok && principal_ok
}

/// `3 sensitive call(s) from outside the allow-lists: DeletePipeline ×1, UpdatePipeline ×2
/// (from 203.0.113.9, 198.51.100.4)`.
fn describe_calls(calls: &[&&ApiCall]) -> String {
    let mut per_operation: BTreeMap<&str, usize> = BTreeMap::new();
    for call in calls {
        *per_operation.entry(call.operation.as_str()).or_default() += 1;
    }
    let operations: Vec<String> = per_operation.iter().map(|(name, count)| format!("{name} ×{count}")).collect();
    let mut sources: Vec<&str> = calls.iter().filter_map(|call| call.source.as_deref()).collect();
    sources.sort_unstable();
    sources.dedup();
    let from = if sources.is_empty() { String::new() } else { format!(" (from {})", sources.join(", ")) };
    format!("{} sensitive call(s) from outside the allow-lists: {}{from}", calls.len(), operations.join(", "))
}

/// The pipeline's executions since `history_start`, newest first (`None`: no such pipeline).
async fn executions(aws: &Aws, pipeline: &str, history_start: Timestamp) -> Result<Option<Vec<Execution>>> {
    let mut executions = Vec::new();
    let mut pages =
        aws.codepipeline().list_pipeline_executions().pipeline_name(pipeline).max_results(100).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(ListPipelineExecutionsError::PipelineNotFoundException(_))
                ) =>
            {
                return Ok(None);
            }
            Err(err) => return Err(aws.error("codepipeline:ListPipelineExecutions", err)),
        };
        let mut reached_start = false;
        for summary in page.pipeline_execution_summaries() {
            let Some(started) = summary.start_time().and_then(timestamp) else { continue };
            if started < history_start {
                reached_start = true;
                continue;
            }
            let status = summary.status().map_or("Unknown", |status| status.as_str()).to_owned();
            executions.push(Execution { started, status });
        }
        // Newest first: older pages are not needed.
        if reached_start {
            break;
        }
    }
    Ok(Some(executions))
}

/// Every sensitive call on any pipeline between `start` and `end`: one LookupEvents read (paged)
/// per sensitive operation.
async fn sensitive_calls(aws: &Aws, start: Timestamp, end: Timestamp) -> Result<Vec<ApiCall>> {
    let to_sdk = |time: Timestamp| aws_sdk_cloudtrail::primitives::DateTime::from_millis(time.as_millisecond());
    let mut calls = Vec::new();
    for operation in SENSITIVE_OPERATIONS {
        let attribute = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::EventName)
            .attribute_value(operation)
            .build()
            .expect("both fields are set");
        let mut pages = aws
            .cloudtrail()
            .lookup_events()
            .lookup_attributes(attribute)
            .start_time(to_sdk(start))
            .end_time(to_sdk(end))
            .max_results(50)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| aws.error("cloudtrail:LookupEvents", err))?;
            calls.extend(page.events().iter().filter_map(api_call));
        }
    }
    Ok(calls)
}

/// The facts of one CloudTrail event, if it is a call on CodePipeline.
fn api_call(event: &aws_sdk_cloudtrail::types::Event) -> Option<ApiCall> {
    if event.event_source().is_some_and(|source| source != EVENT_SOURCE) {
        return None;
    }
    let record: Value = event.cloud_trail_event().and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
    if record.get("eventSource").and_then(Value::as_str).is_some_and(|source| source != EVENT_SOURCE) {
        return None;
    }
    let text = |pointer: &str| record.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    let from_resources = || {
        event
            .resources()
            .iter()
            .find(|resource| resource.resource_type().is_none_or(|kind| kind == "AWS::CodePipeline::Pipeline"))
            .and_then(|resource| resource.resource_name().map(str::to_owned))
    };
    let pipeline = text("/requestParameters/name")
        .or_else(|| text("/requestParameters/pipelineName"))
        .or_else(|| text("/requestParameters/pipeline/name"))
        .or_else(from_resources);
    Some(ApiCall {
        time: event.event_time().and_then(timestamp)?,
        operation: event.event_name().map(str::to_owned).or_else(|| text("/eventName"))?,
        pipeline,
        source: text("/sourceIPAddress"),
        principal: text("/userIdentity/arn"),
        role: text("/userIdentity/sessionContext/sessionIssuer/arn"),
    })
}

#[cfg(test)]
mod tests;
