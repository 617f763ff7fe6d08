//! # codebuild-project-build-log-indicators
//!
//! What a build printed can show that it was compromised or leaked: a remote script piped to a
//! shell, base64 decoded into a shell, a reverse shell, a crypto miner, the instance metadata or
//! container credentials endpoint, the environment dumped with AWS credentials in it, or a secret
//! printed in clear. The rule reads the project's build logs of the last `windowHours` from
//! CloudWatch Logs and looks for those indicators. It is opt-in (`scanLogs`): reading logs costs
//! time and requests in proportion to how much the builds print.
//!
//! The indicators are data, [`INDICATORS_JSON`] (`indicators.json` beside this module): a name,
//! why it matters, a regular expression over one log line, and optionally `after`, a line that
//! must come earlier in the same log stream (`printenv` before the credentials it prints).
//! `secret-in-clear` is the shared secret detector ([`crate::common::secrets`]) over each line:
//! any known secret format in the line, and each `NAME=value` printed.
//!
//! A finding names the indicator, the log stream and the time, never the line: the line may be
//! the secret. Reading is bounded by `maxBytesScanned` per invocation, across every project of
//! a sweep, counted as the bytes of the log events read: a project whose logs were not read to the
//! end without a finding is NOT_APPLICABLE, saying how much was read, not COMPLIANT.
//!
//! Logs come from FilterLogEvents on the project's log group (`logsConfig.cloudWatchLogs`, by
//! default `/aws/codebuild/<project>`, with its stream name as prefix), paged with the SDK's
//! paginator.
//!
//! Parity: no AWS managed Config rule, Security Hub control or Prowler check reads build logs.
//! GuardDuty Runtime Monitoring finds miners and reverse shells on EC2, ECS and EKS by behaviour,
//! not in CodeBuild; Security Hub's CodeBuild.4 only checks that logging is on.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: periodic sweep (the point of the rule), and configuration change
//! - **Parameters**: `scanLogs` (`true` to read the logs; default off), `windowHours` (1–168,
//!   default 24), `maxBytesScanned` (bytes of log events read per invocation, 1 KiB–10 GiB,
//!   default [`DEFAULT_MAX_BYTES_SCANNED`], 100 MiB)
//!
//! | scenario | verdict |
//! |---|---|
//! | `scanLogs` not set | NOT_APPLICABLE, saying how to turn it on |
//! | logs read to the end, no indicator | COMPLIANT, with bytes read |
//! | a line pipes curl into sh | NON_COMPLIANT: `remote-script-to-shell`, stream and time |
//! | a reverse shell, miner or metadata endpoint in a line | NON_COMPLIANT, by name |
//! | `printenv` followed by AWS credentials in the same stream | NON_COMPLIANT: `environment-dump-with-aws-key` |
//! | AWS credentials in a stream without a `printenv` before | NON_COMPLIANT only as `secret-in-clear` |
//! | a GitHub token printed | NON_COMPLIANT: `secret-in-clear` |
//! | the budget ran out before the end, no indicator in what was read | NOT_APPLICABLE, with bytes read |
//! | the budget ran out, an indicator in what was read | NON_COMPLIANT, saying the read was cut |
//! | CloudWatch Logs disabled for the project | NOT_APPLICABLE |
//! | the log group does not exist (no build logged) | COMPLIANT, naming the group |

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsError;
use jiff::Timestamp;
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict};
use regex::Regex;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::common::anomaly::{Span, window_hours};
use crate::common::secrets;

pub const ID: &str = "codebuild-project-build-log-indicators";

/// The indicators, as data: `name`, `why`, `pattern` and optional `after` (regular expressions).
pub const INDICATORS_JSON: &str = include_str!("codebuild_project_build_log_indicators/indicators.json");
/// The indicator the secret detector reports.
pub const SECRET_IN_CLEAR: &str = "secret-in-clear";
pub const DEFAULT_MAX_BYTES_SCANNED: u64 = 100 * 1024 * 1024;
const MIN_BYTES_SCANNED: u64 = 1024;
const MAX_BYTES_SCANNED: u64 = 10 * 1024 * 1024 * 1024;
/// Findings kept per project: the annotation holds a few, the count says the rest.
pub const MAX_HITS: usize = 100;

/// One indicator of `indicators.json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub name: String,
    pub why: String,
    #[serde(deserialize_with = "regex")]
    pub pattern: Regex,
    #[serde(default, deserialize_with = "optional_regex")]
    pub after: Option<Regex>,
}

fn regex<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Regex, D::Error> {
    optional_regex(deserializer)?.ok_or_else(|| D::Error::custom("a regular expression is required"))
}

fn optional_regex<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Regex>, D::Error> {
    crate::common::params::regex_param(deserializer)
}

/// The indicators, compiled once. The file is part of the binary and a test reads it, so it is
/// valid.
pub static INDICATORS: LazyLock<Vec<Indicator>> =
    LazyLock::new(|| serde_json::from_str(INDICATORS_JSON).expect("indicators.json is valid (tested)"));

#[derive(Debug)]
pub struct BuildLogIndicators;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "scanLogs", deserialize_with = "switch")]
    pub scan_logs: bool,
    #[serde(rename = "windowHours", deserialize_with = "window_hours")]
    pub window_hours: Option<u32>,
    #[serde(rename = "maxBytesScanned", deserialize_with = "byte_budget")]
    pub max_bytes_scanned: Option<u64>,
}

impl Params {
    fn span(&self) -> Span {
        Span::new(self.window_hours, None)
    }

    fn budget(&self) -> u64 {
        self.max_bytes_scanned.unwrap_or(DEFAULT_MAX_BYTES_SCANNED)
    }
}

/// `true` or `false`, as Config passes parameters: strings.
fn switch<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Bool(on) => Ok(on),
        serde_json::Value::String(text) if text.trim().eq_ignore_ascii_case("true") => Ok(true),
        serde_json::Value::String(text) if text.trim().eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(D::Error::custom("expected true or false")),
    }
}

fn byte_budget<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let bytes = match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::String(text) => text.trim().parse::<u64>().ok(),
        serde_json::Value::Number(number) => number.as_u64(),
        _ => None,
    };
    match bytes {
        Some(bytes) if (MIN_BYTES_SCANNED..=MAX_BYTES_SCANNED).contains(&bytes) => Ok(Some(bytes)),
        _ => Err(D::Error::custom(format!(
            "expected a whole number of bytes from {MIN_BYTES_SCANNED} to {MAX_BYTES_SCANNED} (10 GiB)"
        ))),
    }
}

/// One indicator found: which, where, when — never the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub indicator: String,
    pub stream: String,
    pub time: Timestamp,
}

/// What was read of one project's logs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogScan {
    /// The log group read.
    pub group: String,
    /// Whether the group exists.
    pub group_exists: bool,
    /// Bytes of log events read.
    pub bytes: u64,
    /// Whether every event of the window was read (the budget did not run out).
    pub complete: bool,
    /// Indicators found, at most [`MAX_HITS`], and how many in all.
    pub hits: Vec<Hit>,
    pub hit_count: usize,
}

/// The facts for one project: `None` when its logs were not read (the rule is off, its logs do
/// not go to CloudWatch Logs, or the budget was spent before its turn).
pub type Facts = Option<LogScan>;

/// Where the project's build logs are: `None` when CloudWatch Logs is disabled.
pub fn log_location(project: &CodeBuildProject, name: &str) -> Option<(String, Option<String>)> {
    let logs = project.logs_config.cloud_watch_logs.clone().unwrap_or_default();
    if logs.status.as_deref().is_some_and(|status| status.eq_ignore_ascii_case("DISABLED")) {
        return None;
    }
    let group = logs.group_name.filter(|group| !group.is_empty()).unwrap_or_else(|| format!("/aws/codebuild/{name}"));
    Some((group, logs.stream_name.filter(|stream| !stream.is_empty())))
}

/// Looks for indicators, line by line, remembering per stream which `after` lines were seen.
#[derive(Debug, Default)]
pub struct Scanner {
    /// Per stream, the indicators whose `after` line has been seen.
    armed: HashMap<String, Vec<bool>>,
}

impl Scanner {
    /// The indicators in `line` of `stream`.
    pub fn scan(&mut self, stream: &str, line: &str) -> Vec<&'static str> {
        let indicators: &'static [Indicator] = &INDICATORS;
        let armed = self.armed.entry(stream.to_owned()).or_insert_with(|| vec![false; indicators.len()]);
        let mut found = Vec::new();
        for (index, indicator) in indicators.iter().enumerate() {
            let ready = indicator.after.is_none() || armed[index];
            if ready && indicator.pattern.is_match(line) {
                found.push(indicator.name.as_str());
            }
            if indicator.after.as_ref().is_some_and(|after| after.is_match(line)) {
                armed[index] = true;
            }
        }
        if secret_in(line) {
            found.push(SECRET_IN_CLEAR);
        }
        found
    }
}

/// The shortest value an assignment in a log line must have to be judged a secret: shorter ones
/// (`AWS_SESSION_TOKEN=x` in a test) leak nothing worth a finding.
pub const MIN_SECRET_CHARS: usize = 8;

/// Whether the secret detector finds a secret in `line`: a known format anywhere in it, or a
/// `NAME=value` assignment (as `printenv` and `set -x` print them) whose value is a secret. A
/// value CodeBuild masked (`***`: it masks Secrets Manager and Parameter Store values in its
/// logs) or shorter than [`MIN_SECRET_CHARS`] is not.
pub fn secret_in(line: &str) -> bool {
    if secrets::detect("", Some(line)).is_some_and(|kind| kind != secrets::SecretKind::HighEntropy) {
        return true;
    }
    line.split_whitespace().filter_map(|word| word.split_once('=')).any(|(name, value)| {
        let name = name.trim_start_matches(['+', '-']);
        let value = value.trim_matches(['"', '\'']);
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && value.chars().count() >= MIN_SECRET_CHARS
            && !value.chars().all(|c| c == '*')
            && secrets::detect(name, Some(value)).is_some()
    })
}

fn timestamp(millis: i64) -> Timestamp {
    Timestamp::from_millisecond(millis).unwrap_or(Timestamp::UNIX_EPOCH)
}

impl Rule for BuildLogIndicators {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::Monitoring;
    const WEIGHT: u32 = 2;
    const REMEDIATION: &'static str = "Investigate the named builds: rotate any credential the build role or printed \
         secrets give, find the commit or override that ran the command, and keep secrets out of build output.";
    const READS: &'static [&'static str] = &["logs:FilterLogEvents"];
    const PERIODIC: bool = true;
    const INPUTS: &'static [&'static str] = &["name", "logsConfig.cloudWatchLogs"];
    type Resource = CodeBuildProject;
    type Params = Params;
    type Facts = Facts;

    async fn gather(aws: &Aws, params: &Params, subjects: &[Subject<CodeBuildProject>]) -> Result<Vec<Facts>> {
        if !params.scan_logs {
            return Ok(vec![None; subjects.len()]);
        }
        let end = Timestamp::now();
        let start = params.span().window_start(end);
        let mut left = params.budget();
        let mut facts = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let location = log_location(&subject.resource, subject.project_name());
            match location {
                Some((group, prefix)) if left > 0 => {
                    let scan = read_logs(aws, group, prefix, start, end, left).await?;
                    // A cut read means the next event would not fit: the budget is spent.
                    left = if scan.complete { left - scan.bytes.min(left) } else { 0 };
                    facts.push(Some(scan));
                }
                _ => facts.push(None),
            }
        }
        Ok(facts)
    }

    fn evaluate(subject: &Subject<CodeBuildProject>, facts: &Facts, params: &Params) -> Verdict {
        let window = params.span().window_text();
        if !params.scan_logs {
            return Verdict::not_applicable(
                "build logs are not read: set scanLogs to true to look for indicators of compromise in them",
            );
        }
        let Some(scan) = facts else {
            return match log_location(&subject.resource, subject.project_name()) {
                None => Verdict::not_applicable("the project's build logs do not go to CloudWatch Logs"),
                Some((group, _)) => Verdict::not_applicable(format!(
                    "log group `{group}` not read: maxBytesScanned ({}) was spent on other projects first",
                    params.budget()
                )),
            };
        };
        if !scan.group_exists {
            return Verdict::compliant(format!("log group `{}` does not exist: no build has logged", scan.group));
        }
        if scan.hits.is_empty() {
            return if scan.complete {
                Verdict::compliant(format!(
                    "no indicator in {} bytes of build logs of the last {window} (`{}`)",
                    scan.bytes, scan.group
                ))
            } else {
                Verdict::not_applicable(format!(
                    "no indicator in the first {} bytes of build logs of the last {window} (`{}`), but \
                     maxBytesScanned stopped the read before the end",
                    scan.bytes, scan.group
                ))
            };
        }
        let cut = if scan.complete { "" } else { " (read stopped at maxBytesScanned)" };
        Verdict::non_compliant(format!(
            "{} indicator(s) in build logs of the last {window}{cut}: {}",
            scan.hit_count,
            describe(&scan.hits)
        ))
    }
}

/// `reverse-shell-dev-tcp ×2, latest in stream `x` at 2026-11-20T03:12:44Z; …`, the most frequent
/// first.
fn describe(hits: &[Hit]) -> String {
    let mut by_indicator: BTreeMap<&str, Vec<&Hit>> = BTreeMap::new();
    for hit in hits {
        by_indicator.entry(hit.indicator.as_str()).or_default().push(hit);
    }
    let mut groups: Vec<(&str, Vec<&Hit>)> = by_indicator.into_iter().collect();
    groups.sort_by_key(|(_, hits)| std::cmp::Reverse(hits.len()));
    groups
        .iter()
        .map(|(indicator, hits)| {
            let latest = hits.iter().max_by_key(|hit| hit.time).expect("a group has a hit");
            format!(
                "{indicator} ×{}, latest in stream `{}` at {}",
                hits.len(),
                latest.stream,
                latest.time.strftime("%Y-%m-%dT%H:%M:%SZ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads the group's events between `start` and `end` until `budget` bytes, scanning each line.
async fn read_logs(
    aws: &Aws,
    group: String,
    prefix: Option<String>,
    start: Timestamp,
    end: Timestamp,
    budget: u64,
) -> Result<LogScan> {
    let mut scan = LogScan { group, group_exists: true, complete: true, ..LogScan::default() };
    let mut scanner = Scanner::default();
    let mut pages = aws
        .logs()
        .filter_log_events()
        .log_group_name(&scan.group)
        .set_log_stream_name_prefix(prefix)
        .start_time(start.as_millisecond())
        .end_time(end.as_millisecond())
        .into_paginator()
        .send();
    'pages: while let Some(page) = pages.next().await {
        let page = match page {
            Ok(page) => page,
            Err(err) if matches!(err.as_service_error(), Some(FilterLogEventsError::ResourceNotFoundException(_))) => {
                scan.group_exists = false;
                break;
            }
            Err(err) => return Err(aws.error("logs:FilterLogEvents", err)),
        };
        for event in page.events() {
            let message = event.message().unwrap_or_default();
            if scan.bytes + message.len() as u64 > budget {
                scan.complete = false;
                break 'pages;
            }
            scan.bytes += message.len() as u64;
            let stream = event.log_stream_name().unwrap_or_default();
            for line in message.lines() {
                for indicator in scanner.scan(stream, line) {
                    scan.hit_count += 1;
                    if scan.hits.len() < MAX_HITS {
                        scan.hits.push(Hit {
                            indicator: indicator.to_owned(),
                            stream: stream.to_owned(),
                            time: timestamp(event.timestamp().unwrap_or_default()),
                        });
                    }
                }
            }
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests;
