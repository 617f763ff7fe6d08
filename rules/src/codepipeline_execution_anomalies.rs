//! # codepipeline-execution-anomalies
//!
//! The monitoring half of SEC11-BP07: a pipeline's recent activity should look like its usual
//! activity. The defaults follow the SEC11-BP07 guidance this project implements, so the rule
//! finds something with no parameter set. Over the last `windowHours` the rule flags:
//!
//! - **failure rate**: more than `maxFailureRate` (default 0.3) of the finished executions
//!   (Succeeded or Failed; stopped, superseded and running ones are left out) failed. Counted
//!   only from [`MIN_FINISHED_FOR_RATE`](crate::common::anomaly::MIN_FINISHED_FOR_RATE) finished executions on, so one failure out of two is not
//!   an anomaly.
//! - **frequency spike**: more than `spikeFactor` (default 2) × the pipeline's average number of
//!   executions per window over the `baselineDays` (default 30) before the window. The baseline
//!   starts at the first execution seen when that is more recent, so a new pipeline is not
//!   measured against empty days; with no earlier execution there is no baseline and no spike. A
//!   spike needs at least [`MIN_SPIKE_RUNS`](crate::common::anomaly::MIN_SPIKE_RUNS) executions in the window.
//! - **off-hours runs**: executions started outside `businessHours` (default
//!   `Mon-Sun 06:00-22:00 UTC`, every day; see [`crate::common::business_hours`] for the format).
//! - **sensitive calls**: [`SENSITIVE_OPERATIONS`] on the pipeline. With `allowedCidrs` or
//!   `allowedPrincipals` set, a call from a source IP outside `allowedCidrs` or by a principal
//!   outside `allowedPrincipals` (a list not set: that side is not checked). With neither set, a
//!   call made outside `businessHours`, or from an IP address that is *new*: none of the
//!   sensitive calls CloudTrail holds for the account's pipelines (any pipeline, any principal)
//!   in the `baselineDays` before the window came from it
//!   ([`crate::common::cloudtrail::new_addresses`]). Calls that AWS services make on a
//!   principal's behalf carry a service name instead of an IP and are not judged by network.
//!
//! **Severity** follows the finding: a suspicious DeletePipeline or StopPipelineExecution is
//! HIGH, every other finding MEDIUM. The verdict states it (`severity HIGH: …`, see
//! [`pipesec_engine::Verdict::with_severity`]); Security Hub, SARIF and ASFF report that
//! severity, and the rule's `SEVERITY` (HIGH) is the highest it states.
//!
//! Executions come from ListPipelineExecutions (newest first, paged, read until the start of the
//! baseline). Calls come from CloudTrail's event history, LookupEvents by event name over the
//! baseline and the window ([`crate::common::cloudtrail::lookup`]: one read per sensitive
//! operation for the whole invocation, not one per pipeline, paced within LookupEvents' two
//! requests a second; the pipeline is taken from the request parameters, which does not depend
//! on CloudTrail listing the pipeline among the event's resources). The window ends when the facts
//! were gathered, so `evaluate` never reads the clock.
//!
//! A change notification is evaluated like a sweep (the same window, ending at the change), so
//! an UpdatePipeline from an unexpected network shows at once rather than at the next sweep.
//!
//! Parity: no AWS managed Config rule, Security Hub control or Prowler check judges a pipeline's
//! executions or the calls made on it. GuardDuty's anomaly detection covers API calls in
//! general (unusual caller, location or network), not per pipeline or by business hours.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: periodic sweep (the point of the rule), and configuration change
//! - **Parameters** (all optional): `windowHours` (1–168, default 24), `maxFailureRate` (0–1,
//!   default 0.3), `spikeFactor` (1–100, default 2), `baselineDays` (1–83, default 30; with the
//!   window within CloudTrail's 90 days of event history), `businessHours` (default
//!   `Mon-Sun 06:00-22:00 UTC`; e.g. `Mon-Fri 08:00-18:00 Europe/Berlin`), `allowedCidrs`
//!   (comma-separated CIDRs or addresses, IPv4 or IPv6), `allowedPrincipals` (comma-separated
//!   IAM ARNs, `*` as wildcard; an assumed-role session matches by its role's ARN too)
//!
//! | scenario | verdict |
//! |---|---|
//! | steady executions, few failures, in business hours, no sensitive call | COMPLIANT |
//! | failure rate above `maxFailureRate` | NON_COMPLIANT (MEDIUM), with counts |
//! | many failures but too few finished executions | COMPLIANT |
//! | executions above `spikeFactor` × the baseline | NON_COMPLIANT (MEDIUM), with counts |
//! | a burst on a pipeline with no earlier execution | COMPLIANT (no baseline) |
//! | an execution outside `businessHours` (default 06:00–22:00 UTC) | NON_COMPLIANT (MEDIUM), with count and latest local time |
//! | no allow-list: a sensitive call outside business hours | NON_COMPLIANT (HIGH for Delete/Stop, else MEDIUM) |
//! | no allow-list: a sensitive call from an address new in the baseline | NON_COMPLIANT |
//! | no allow-list: a sensitive call in business hours from an address of the baseline | COMPLIANT |
//! | a sensitive call from outside `allowedCidrs` | NON_COMPLIANT, with counts per operation |
//! | a sensitive call by a principal outside `allowedPrincipals` | NON_COMPLIANT |
//! | a sensitive call from an allowed network and principal, at night | COMPLIANT (the allow-lists decide) |
//! | activity older than the window | COMPLIANT |
//! | the pipeline no longer exists in CodePipeline | NOT_APPLICABLE |

use std::num::NonZeroUsize;
use std::sync::Arc;

use aws_sdk_codepipeline::operation::list_pipeline_executions::ListPipelineExecutionsError;
use jiff::Timestamp;
use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict};

use crate::common::anomaly::{self, DEFAULT_MAX_FAILURE_RATE, DEFAULT_SPIKE_FACTOR};
use crate::common::cloudtrail::{self, CallPolicy, TrailCall};

pub const ID: &str = "codepipeline-execution-anomalies";

/// The operations on a pipeline that change what it does, stop it or decide for it.
pub const SENSITIVE_OPERATIONS: [&str; 7] = [
    "DeletePipeline",
    "UpdatePipeline",
    "StopPipelineExecution",
    "DisableStageTransition",
    "PutJobFailureResult",
    "RetryStageExecution",
    "PutApprovalResult",
];
/// The sensitive operations whose suspicious use is HIGH; the others are MEDIUM.
pub const HIGH_SEVERITY_OPERATIONS: [&str; 2] = ["DeletePipeline", "StopPipelineExecution"];
const EVENT_SOURCE: &str = "codepipeline.amazonaws.com";

#[derive(Debug)]
pub struct ExecutionAnomalies;

/// The parameters every activity rule takes (common/anomaly.rs).
pub type Params = anomaly::ActivityParams;

/// One execution of the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    pub started: Timestamp,
    /// CodePipeline's status: `Succeeded`, `Failed`, `InProgress`, `Stopped`, `Superseded`, …
    pub status: String,
}

/// What happened on the pipeline, up to `window_end`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// When the facts were gathered: the end of the window.
    pub window_end: Timestamp,
    /// Executions since the start of the baseline, newest first; `None` when CodePipeline does
    /// not know the pipeline.
    pub executions: Option<Vec<Execution>>,
    /// Sensitive calls in the baseline and the window on every pipeline of the account (read
    /// once, shared).
    pub calls: Arc<Vec<TrailCall>>,
}

fn timestamp(time: &aws_sdk_codepipeline::primitives::DateTime) -> Option<Timestamp> {
    time.to_millis().ok().and_then(|millis| Timestamp::from_millisecond(millis).ok())
}

/// The pipeline a call was made on: from the request parameters, else the event's resources.
pub fn pipeline_of(call: &TrailCall) -> Option<&str> {
    call.request_text("/name")
        .or_else(|| call.request_text("/pipelineName"))
        .or_else(|| call.request_text("/pipeline/name"))
        .or_else(|| call.resources.first().map(String::as_str))
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
    /// Reads per resource (one ListPipelineExecutions per pipeline): at scale a sweep continues across
    /// invocations, 500 at a time (bench/README.md, "Sweeps at scale under emulated rate limits").
    const SWEEP_CHUNK: Option<NonZeroUsize> = NonZeroUsize::new(500);
    const INPUTS: &'static [&'static str] = &["pipeline.name"];
    type Resource = PipelineConfiguration;
    type Params = Params;
    type Facts = Activity;

    async fn gather(aws: &Aws, params: &Params, subjects: &[Subject<PipelineConfiguration>]) -> Result<Vec<Activity>> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let window_end = Timestamp::now();
        let history_start = params.span().baseline_start(window_end);
        let calls =
            Arc::new(cloudtrail::lookup(aws, EVENT_SOURCE, &SENSITIVE_OPERATIONS, history_start, window_end).await?);
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
        let span = params.span();
        let window_end = activity.window_end;
        let window_start = span.window_start(window_end);
        let history_start = span.baseline_start(window_end);
        let in_window: Vec<&Execution> =
            executions.iter().filter(|e| e.started >= window_start && e.started <= window_end).collect();
        let mut findings = Vec::new();
        let mut notes = vec![format!("{} execution(s) in the last {}", in_window.len(), span.window_text())];

        let failed = in_window.iter().filter(|e| e.status == "Failed").count();
        let finished = failed + in_window.iter().filter(|e| e.status == "Succeeded").count();
        let max_rate = params.max_failure_rate.unwrap_or(DEFAULT_MAX_FAILURE_RATE);
        match anomaly::failure_rate_finding(failed, finished, max_rate, "executions") {
            Some(finding) => findings.push(finding),
            None => notes.push(format!("{failed} of {finished} finished failed")),
        }

        let started: Vec<Timestamp> = executions.iter().map(|e| e.started).collect();
        let factor = params.spike_factor.unwrap_or(DEFAULT_SPIKE_FACTOR);
        if let Some(baseline) = anomaly::spike(&started, in_window.len(), window_end, span, factor) {
            findings.push(format!(
                "{} executions in the last {}, over {factor}× the usual {baseline:.1} per window of the previous {}",
                in_window.len(),
                span.window_text(),
                span.baseline_text()
            ));
        }

        let hours = params.business_hours();
        let outside: Vec<&&Execution> = in_window.iter().filter(|e| !hours.contains(e.started)).collect();
        if let Some(latest) = outside.iter().map(|e| e.started).max() {
            findings.push(format!(
                "{} of {} executions started outside business hours ({hours}), latest {}",
                outside.len(),
                in_window.len(),
                hours.local_time(latest)
            ));
        }

        let known_addresses = cloudtrail::new_addresses(&activity.calls, history_start, window_start);
        let policy = CallPolicy {
            allowed_cidrs: &params.allowed_cidrs,
            allowed_principals: &params.allowed_principals,
            business_hours: &hours,
            known_addresses: &known_addresses,
        };
        let calls: Vec<&TrailCall> = activity
            .calls
            .iter()
            .filter(|call| pipeline_of(call) == Some(name))
            .filter(|call| call.time >= window_start && call.time <= window_end)
            .collect();
        let suspicious: Vec<&TrailCall> =
            calls.iter().copied().filter(|call| !policy.suspicions(call).is_empty()).collect();
        let call_findings = cloudtrail::findings(&policy, &suspicious, &span.baseline_text());
        if call_findings.is_empty() {
            let judged_by = if policy.uses_allow_lists() {
                "from outside the allow-lists"
            } else {
                "outside business hours or from a new address"
            };
            notes.push(format!("{} sensitive call(s), none {judged_by}", calls.len()));
        }
        // The most serious first: the annotation is cut at 256 characters.
        let findings = [call_findings, findings].concat();

        if findings.is_empty() {
            return Verdict::compliant(format!("no anomaly: {}", notes.join(", ")));
        }
        let high = suspicious.iter().any(|call| HIGH_SEVERITY_OPERATIONS.contains(&call.operation.as_str()));
        Verdict::non_compliant(findings.join("; ")).with_severity(if high { Severity::High } else { Severity::Medium })
    }
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

#[cfg(test)]
mod tests;
