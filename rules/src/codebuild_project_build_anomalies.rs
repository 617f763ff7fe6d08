//! # codebuild-project-build-anomalies
//!
//! The build half of SEC11-BP07's monitoring: who ran what with the project's role, and who
//! changed how the project builds. A build started with an override runs commands, an image or
//! a source the project does not define, with the project's service role; a changed project,
//! webhook or source credential changes what every later build does. Over the last
//! `windowHours` the rule flags:
//!
//! - **overrides by an unknown principal**: StartBuild calls on the project with
//!   `buildspecOverride`, `imageOverride`, `sourceLocationOverride` or
//!   `environmentVariablesOverride`, by a principal outside `allowedPrincipals`. Without
//!   `allowedPrincipals`, by a principal that started no build of the project (with or without
//!   overrides) in the `baselineDays` before the window (an assumed-role session counts as its
//!   role). Without the list, builds that an AWS service started (CodePipeline's build action: the
//!   source is the service's name, not an IP) pass overrides from their own configuration, which
//!   the pipeline rules judge, and are not flagged.
//! - **sensitive calls**: UpdateProject, CreateWebhook, UpdateWebhook and DeleteWebhook on the
//!   project, and ImportSourceCredentials for the project's source provider (credentials
//!   imported for `GITHUB` serve every GitHub project), judged as the pipeline rule judges its
//!   calls ([`crate::common::cloudtrail::CallPolicy`]): with `allowedCidrs` or
//!   `allowedPrincipals` set, from outside them; with neither, made outside `businessHours`
//!   (default every day 06:00–22:00 UTC) or from an IP address none of the looked-up calls of
//!   the baseline (any project, any principal, StartBuild included) came from.
//! - **failure rate**: more than `maxFailureRate` (default 0.3) of the finished builds
//!   (SUCCEEDED, or FAILED, FAULT, TIMED_OUT; stopped and running ones are left out) failed,
//!   from [`MIN_FINISHED_FOR_RATE`](crate::common::anomaly::MIN_FINISHED_FOR_RATE) finished builds on.
//! - **frequency spike**: more than `spikeFactor` (default 2) × the average number of builds per
//!   window over the `baselineDays` (default 30) before the window, from
//!   [`MIN_SPIKE_RUNS`](crate::common::anomaly::MIN_SPIKE_RUNS) builds on
//!   ([`crate::common::anomaly::spike`]).
//!
//! **Severity**: an override by an unknown principal or a suspicious ImportSourceCredentials is
//! HIGH (commands run with the project's role; the source credentials every build uses were
//! replaced), every other finding MEDIUM; the verdict states it (`severity HIGH: …`). Override
//! values are never quoted: an environment-variable override may carry a secret, so only the kind
//! of override is named.
//!
//! Calls come from CloudTrail's event history, LookupEvents by event name over the baseline and
//! the window, once per invocation for every project, paced within LookupEvents' two requests a
//! second ([`crate::common::cloudtrail::lookup`]). Builds come from ListBuildsForProject (newest
//! first) and BatchGetBuilds (up to 100 per call), read until the start of the baseline.
//!
//! Parity: no AWS managed Config rule, Security Hub control or Prowler check judges a project's
//! builds or the calls made on it. GuardDuty's anomaly detection covers API calls in general
//! (unusual caller, location or network), not build overrides. Security Hub's CodeBuild.1–5
//! check the project's configuration (source credentials in the URL, plaintext variables,
//! logging, privileged mode), which the configuration rules cover.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: periodic sweep (the point of the rule), and configuration change
//! - **Parameters** (all optional): `windowHours` (1–168, default 24), `maxFailureRate` (0–1,
//!   default 0.3), `spikeFactor` (1–100, default 2), `baselineDays` (1–83, default 30),
//!   `businessHours` (default `Mon-Sun 06:00-22:00 UTC`), `allowedCidrs` (comma-separated CIDRs
//!   or addresses), `allowedPrincipals` (comma-separated IAM ARNs, `*` as wildcard; an
//!   assumed-role session matches by its role's ARN too)
//!
//! | scenario | verdict |
//! |---|---|
//! | builds without overrides, few failures, no sensitive call | COMPLIANT |
//! | no allow-list: a buildspec override by a principal new to the project | NON_COMPLIANT (HIGH), naming the override kind |
//! | no allow-list: an override by a principal that built the project in the baseline | COMPLIANT |
//! | no allow-list: an override in a build CodePipeline started | COMPLIANT |
//! | an override by a principal outside `allowedPrincipals` | NON_COMPLIANT (HIGH) |
//! | an override by a principal in `allowedPrincipals` | COMPLIANT |
//! | no allow-list: UpdateProject outside business hours, or from a new address | NON_COMPLIANT (MEDIUM) |
//! | ImportSourceCredentials for the project's provider from outside `allowedCidrs` | NON_COMPLIANT (HIGH) |
//! | ImportSourceCredentials for another provider | COMPLIANT |
//! | failure rate above `maxFailureRate` | NON_COMPLIANT (MEDIUM), with counts |
//! | builds above `spikeFactor` × the baseline | NON_COMPLIANT (MEDIUM), with counts |
//! | activity older than the window | COMPLIANT |
//! | the project no longer exists in CodeBuild | NOT_APPLICABLE |

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::sync::Arc;

use aws_sdk_codebuild::operation::list_builds_for_project::ListBuildsForProjectError;
use aws_sdk_codebuild::types::SortOrderType;
use jiff::Timestamp;
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict};
use serde_json::Value;

use crate::common::anomaly::{self, DEFAULT_MAX_FAILURE_RATE, DEFAULT_SPIKE_FACTOR, Span};
use crate::common::cloudtrail::{self, CallPolicy, TrailCall};

pub const ID: &str = "codebuild-project-build-anomalies";

/// The calls looked up: builds (for overrides, and who builds the project) and the changes to
/// how the project builds.
pub const OPERATIONS: [&str; 6] =
    ["StartBuild", "UpdateProject", "ImportSourceCredentials", "CreateWebhook", "UpdateWebhook", "DeleteWebhook"];
/// StartBuild's request parameters that make a build run something the project does not define.
pub const OVERRIDES: [&str; 4] =
    ["buildspecOverride", "imageOverride", "sourceLocationOverride", "environmentVariablesOverride"];
/// BatchGetBuilds' limit per call (and ListBuildsForProject's page).
const BUILDS_PER_CALL: usize = 100;
const EVENT_SOURCE: &str = "codebuild.amazonaws.com";
const FAILED_STATUSES: [&str; 3] = ["FAILED", "FAULT", "TIMED_OUT"];

#[derive(Debug)]
pub struct BuildAnomalies;

/// The parameters every activity rule takes (common/anomaly.rs).
pub type Params = anomaly::ActivityParams;

/// One build of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    pub started: Timestamp,
    /// CodeBuild's status: `SUCCEEDED`, `FAILED`, `FAULT`, `TIMED_OUT`, `IN_PROGRESS`, `STOPPED`.
    pub status: String,
}

/// What happened on the project, up to `window_end`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildActivity {
    /// When the facts were gathered: the end of the window.
    pub window_end: Timestamp,
    /// Builds since the start of the baseline; `None` when CodeBuild does not know the project.
    pub builds: Option<Vec<Build>>,
    /// The looked-up calls of the baseline and the window on every project (read once, shared).
    pub calls: Arc<Vec<TrailCall>>,
}

/// The project a call was made on (`None` for ImportSourceCredentials: the account's).
pub fn project_of(call: &TrailCall) -> Option<&str> {
    let name = call.request_text("/projectName").or_else(|| call.request_text("/name"))?;
    // StartBuild accepts a project ARN too.
    Some(name.rsplit_once(":project/").map_or(name, |(_, name)| name))
}

/// The overrides a StartBuild call passed, by parameter name.
pub fn overrides(call: &TrailCall) -> Vec<&'static str> {
    OVERRIDES
        .into_iter()
        .filter(|name| match call.request.get(*name) {
            None | Some(Value::Null) => false,
            Some(Value::String(text)) => !text.is_empty(),
            Some(Value::Array(items)) => !items.is_empty(),
            Some(_) => true,
        })
        .collect()
}

fn timestamp(time: &aws_sdk_codebuild::primitives::DateTime) -> Option<Timestamp> {
    time.to_millis().ok().and_then(|millis| Timestamp::from_millisecond(millis).ok())
}

impl Rule for BuildAnomalies {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::Monitoring;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "Investigate the listed builds and calls; allow StartBuild overrides and changes \
         to the project only to the principals that need them, with IAM conditions (codebuild:buildspecOverride \
         denied, aws:SourceIp).";
    const READS: &'static [&'static str] =
        &["codebuild:ListBuildsForProject", "codebuild:BatchGetBuilds", "cloudtrail:LookupEvents"];
    const PERIODIC: bool = true;
    /// Reads per resource (one ListBuildsForProject per project): at scale a sweep continues across
    /// invocations, 500 at a time (bench/README.md, "Sweeps at scale under emulated rate limits").
    const SWEEP_CHUNK: Option<NonZeroUsize> = NonZeroUsize::new(500);
    const INPUTS: &'static [&'static str] = &["name", "source.type", "secondarySources.type"];
    type Resource = CodeBuildProject;
    type Params = Params;
    type Facts = BuildActivity;

    async fn gather(aws: &Aws, params: &Params, subjects: &[Subject<CodeBuildProject>]) -> Result<Vec<BuildActivity>> {
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let window_end = Timestamp::now();
        let history_start = params.span().baseline_start(window_end);
        let calls = Arc::new(cloudtrail::lookup(aws, EVENT_SOURCE, &OPERATIONS, history_start, window_end).await?);
        let mut activity = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let builds = builds(aws, subject.project_name(), history_start).await?;
            activity.push(BuildActivity { window_end, builds, calls: Arc::clone(&calls) });
        }
        Ok(activity)
    }

    fn evaluate(subject: &Subject<CodeBuildProject>, activity: &BuildActivity, params: &Params) -> Verdict {
        let name = subject.project_name();
        let Some(builds) = &activity.builds else {
            return Verdict::not_applicable(format!("CodeBuild does not know project `{name}` any more"));
        };
        let span = params.span();
        let window_end = activity.window_end;
        let window_start = span.window_start(window_end);
        let history_start = span.baseline_start(window_end);
        let in_window = |time: Timestamp| time >= window_start && time <= window_end;
        let in_baseline = |time: Timestamp| time >= history_start && time < window_start;
        let hours = params.business_hours();
        let known_addresses = cloudtrail::new_addresses(&activity.calls, history_start, window_start);
        let policy = CallPolicy {
            allowed_cidrs: &params.allowed_cidrs,
            allowed_principals: &params.allowed_principals,
            business_hours: &hours,
            known_addresses: &known_addresses,
        };
        let mut high = Vec::new();
        let mut medium = Vec::new();
        let mut notes = Vec::new();

        // Overrides, by principals outside the list, or new to the project without one.
        let starts: Vec<&TrailCall> = activity
            .calls
            .iter()
            .filter(|call| call.operation == "StartBuild" && project_of(call) == Some(name))
            .collect();
        let builders: BTreeSet<&str> =
            starts.iter().filter(|call| in_baseline(call.time)).filter_map(|call| call.identity()).collect();
        let overridden: Vec<&&TrailCall> =
            starts.iter().filter(|call| in_window(call.time) && !overrides(call).is_empty()).collect();
        let unknown: Vec<&&TrailCall> = overridden
            .iter()
            .copied()
            .filter(|call| {
                if params.allowed_principals.is_empty() {
                    call.address().is_some() && call.identity().is_none_or(|identity| !builders.contains(identity))
                } else {
                    !policy.principal_allowed(call)
                }
            })
            .collect();
        if unknown.is_empty() {
            notes.push(format!("{} build(s) with overrides, none by an unknown principal", overridden.len()));
        } else {
            high.push(describe_overrides(&unknown, params, span));
        }

        // Changes to how the project builds.
        let sources: BTreeSet<&str> = subject
            .resource
            .source
            .iter()
            .chain(&subject.resource.secondary_sources)
            .filter_map(|source| source.source_type.as_deref())
            .collect();
        let changes: Vec<&TrailCall> = activity
            .calls
            .iter()
            .filter(|call| in_window(call.time))
            .filter(|call| match call.operation.as_str() {
                "StartBuild" => false,
                "ImportSourceCredentials" => {
                    call.request_text("/serverType").is_some_and(|kind| sources.contains(kind))
                }
                _ => project_of(call) == Some(name),
            })
            .collect();
        let suspicious: Vec<&TrailCall> =
            changes.iter().copied().filter(|call| !policy.suspicions(call).is_empty()).collect();
        let call_findings = cloudtrail::findings(&policy, &suspicious, &span.baseline_text());
        if call_findings.is_empty() {
            notes.push(format!("{} change(s) to the project, none suspicious", changes.len()));
        } else if suspicious.iter().any(|call| call.operation == "ImportSourceCredentials") {
            high.extend(call_findings);
        } else {
            medium.extend(call_findings);
        }

        // Failures and spikes.
        let recent: Vec<&Build> = builds.iter().filter(|build| in_window(build.started)).collect();
        notes.insert(0, format!("{} build(s) in the last {}", recent.len(), span.window_text()));
        let failed = recent.iter().filter(|build| FAILED_STATUSES.contains(&build.status.as_str())).count();
        let finished = failed + recent.iter().filter(|build| build.status == "SUCCEEDED").count();
        let max_rate = params.max_failure_rate.unwrap_or(DEFAULT_MAX_FAILURE_RATE);
        match anomaly::failure_rate_finding(failed, finished, max_rate, "builds") {
            Some(finding) => medium.push(finding),
            None => notes.push(format!("{failed} of {finished} finished failed")),
        }
        let started: Vec<Timestamp> = builds.iter().map(|build| build.started).collect();
        let factor = params.spike_factor.unwrap_or(DEFAULT_SPIKE_FACTOR);
        if let Some(baseline) = anomaly::spike(&started, recent.len(), window_end, span, factor) {
            medium.push(format!(
                "{} builds in the last {}, over {factor}× the usual {baseline:.1} per window of the previous {}",
                recent.len(),
                span.window_text(),
                span.baseline_text()
            ));
        }

        if high.is_empty() && medium.is_empty() {
            return Verdict::compliant(format!("no anomaly: {}", notes.join(", ")));
        }
        let severity = if high.is_empty() { Severity::Medium } else { Severity::High };
        Verdict::non_compliant([high, medium].concat().join("; ")).with_severity(severity)
    }
}

/// `2 build(s) with overrides by a principal that did not build the project in the previous 30
/// days: buildspecOverride ×2, environmentVariablesOverride ×1 (by arn:…:user/mallory from
/// 203.0.113.9)`: kinds counted, callers and sources named, no value.
fn describe_overrides(calls: &[&&TrailCall], params: &Params, span: Span) -> String {
    let mut kinds: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for call in calls {
        for kind in overrides(call) {
            *kinds.entry(kind).or_default() += 1;
        }
    }
    let kinds: Vec<String> = kinds.iter().map(|(kind, count)| format!("{kind} ×{count}")).collect();
    let callers: BTreeSet<&str> = calls.iter().filter_map(|call| call.identity()).collect();
    let sources: BTreeSet<&str> = calls.iter().filter_map(|call| call.source.as_deref()).collect();
    let who = if params.allowed_principals.is_empty() {
        format!("by a principal that did not build the project in the previous {}", span.baseline_text())
    } else {
        "by a principal outside allowedPrincipals".to_owned()
    };
    format!(
        "{} build(s) with overrides {who}: {} (by {} from {})",
        calls.len(),
        kinds.join(", "),
        Vec::from_iter(callers).join(", "),
        Vec::from_iter(sources).join(", ")
    )
}

/// The project's builds since `history_start` (`None`: no such project).
async fn builds(aws: &Aws, project: &str, history_start: Timestamp) -> Result<Option<Vec<Build>>> {
    let mut builds = Vec::new();
    let mut pages = aws
        .codebuild()
        .list_builds_for_project()
        .project_name(project)
        .sort_order(SortOrderType::Descending)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(err)
                if matches!(err.as_service_error(), Some(ListBuildsForProjectError::ResourceNotFoundException(_))) =>
            {
                return Ok(None);
            }
            Err(err) => return Err(aws.error("codebuild:ListBuildsForProject", err)),
        };
        let mut reached_start = false;
        for ids in page.ids().chunks(BUILDS_PER_CALL) {
            let output = aws
                .codebuild()
                .batch_get_builds()
                .set_ids(Some(ids.to_vec()))
                .send()
                .await
                .map_err(|err| aws.error("codebuild:BatchGetBuilds", err))?;
            for build in output.builds() {
                let Some(started) = build.start_time().and_then(timestamp) else { continue };
                if started < history_start {
                    reached_start = true;
                    continue;
                }
                let status = build.build_status().map_or("UNKNOWN", |status| status.as_str()).to_owned();
                builds.push(Build { started, status });
            }
        }
        // Newest first: older pages are not needed.
        if reached_start {
            break;
        }
    }
    Ok(Some(builds))
}

#[cfg(test)]
mod tests;
