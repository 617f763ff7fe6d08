//! CloudTrail's event history for the monitoring rules: sensitive calls looked up by event name,
//! paced within LookupEvents' quota, and how a call is judged.
//!
//! LookupEvents allows two requests a second per account and region, and filters by one
//! attribute only. [`lookup`] reads each event name once (every page, through the SDK's
//! paginator) and waits [`LOOKUP_INTERVAL`] before every request after the first, so one
//! invocation never sends more than two a second. Two rule functions looking up at the same
//! moment can still meet the quota together; the SDK's standard retries back off on the
//! throttling error.
//!
//! A call is judged by [`CallPolicy`]: with `allowedCidrs` or `allowedPrincipals` set, the
//! allow-lists decide; with neither set, a call made outside business hours, or from an IP
//! address that none of the looked-up calls of the baseline came from (see [`new_addresses`]),
//! is suspicious.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use aws_sdk_cloudtrail::config::AsyncSleep as _;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use ipnet::IpNet;
use jiff::Timestamp;
use pipesec_engine::{Aws, Result};
use serde_json::Value;

use crate::common::business_hours::BusinessHours;
use crate::common::event_pattern::wildcard;

/// The pause before each LookupEvents request after the first: at most two a second, with a
/// tenth to spare for network jitter bringing two requests closer together on arrival.
pub const LOOKUP_INTERVAL: Duration = Duration::from_millis(550);
/// Events per LookupEvents page (CloudTrail's largest).
const PAGE_SIZE: i32 = 50;

/// One call, as CloudTrail recorded it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrailCall {
    pub time: Timestamp,
    /// The event name: `UpdatePipeline`, `StartBuild`, …
    pub operation: String,
    /// `sourceIPAddress`: an IP address, or a service name for calls AWS services made.
    pub source: Option<String>,
    /// `userIdentity.arn`.
    pub principal: Option<String>,
    /// The role of an assumed-role session (`sessionContext.sessionIssuer.arn`).
    pub role: Option<String>,
    /// `requestParameters`. It may hold secrets (an environment-variable override's values):
    /// rules read names and flags from it, never quote it.
    pub request: Value,
    /// The names of the event's resources, as CloudTrail lists them.
    pub resources: Vec<String>,
}

impl TrailCall {
    /// The caller's IP address; `None` for a service name (AWS acting itself, `AWS Internal`).
    pub fn address(&self) -> Option<IpAddr> {
        self.source.as_deref().and_then(|source| source.parse().ok())
    }

    /// Who made the call, stably across sessions: an assumed role's ARN, else the principal's.
    pub fn identity(&self) -> Option<&str> {
        self.role.as_deref().or(self.principal.as_deref())
    }

    /// A string request parameter at a JSON pointer (`/pipeline/name`).
    pub fn request_text(&self, pointer: &str) -> Option<&str> {
        self.request.pointer(pointer).and_then(Value::as_str)
    }
}

/// Every call to `event_source` named in `operations`, made between `start` and `end`: one
/// LookupEvents read (all pages) per operation, paced by [`LOOKUP_INTERVAL`].
///
/// # Panics
///
/// Never: the lookup attribute's two required fields are always set.
pub async fn lookup(
    aws: &Aws,
    event_source: &str,
    operations: &[&str],
    start: Timestamp,
    end: Timestamp,
) -> Result<Vec<TrailCall>> {
    let to_sdk = |time: Timestamp| aws_sdk_cloudtrail::primitives::DateTime::from_millis(time.as_millisecond());
    let client = aws.cloudtrail();
    let sleep = client.config().sleep_impl();
    let mut calls = Vec::new();
    let mut first = true;
    for operation in operations {
        let attribute = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::EventName)
            .attribute_value(*operation)
            .build()
            .expect("both fields are set");
        let mut pages = client
            .lookup_events()
            .lookup_attributes(attribute)
            .start_time(to_sdk(start))
            .end_time(to_sdk(end))
            .max_results(PAGE_SIZE)
            .into_paginator()
            .send();
        loop {
            // The paginator sends a request when asked for the next page.
            if !first {
                match &sleep {
                    Some(sleep) => sleep.sleep(LOOKUP_INTERVAL).await,
                    None => tokio::time::sleep(LOOKUP_INTERVAL).await,
                }
            }
            first = false;
            let Some(page) = pages.next().await else { break };
            let page = page.map_err(|err| aws.error("cloudtrail:LookupEvents", err))?;
            calls.extend(page.events().iter().filter_map(|event| trail_call(event, event_source)));
            // The last page: the paginator would end without a request, so no pause either.
            if page.next_token().is_none() {
                break;
            }
        }
    }
    Ok(calls)
}

fn timestamp(time: &aws_sdk_cloudtrail::primitives::DateTime) -> Option<Timestamp> {
    time.to_millis().ok().and_then(|millis| Timestamp::from_millisecond(millis).ok())
}

/// The facts of one event, if it is a call to `event_source`.
pub fn trail_call(event: &aws_sdk_cloudtrail::types::Event, event_source: &str) -> Option<TrailCall> {
    if event.event_source().is_some_and(|source| source != event_source) {
        return None;
    }
    let record: Value = event.cloud_trail_event().and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default();
    if record.get("eventSource").and_then(Value::as_str).is_some_and(|source| source != event_source) {
        return None;
    }
    let text = |pointer: &str| record.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
    Some(TrailCall {
        time: event.event_time().and_then(timestamp)?,
        operation: event.event_name().map(str::to_owned).or_else(|| text("/eventName"))?,
        source: text("/sourceIPAddress"),
        principal: text("/userIdentity/arn"),
        role: text("/userIdentity/sessionContext/sessionIssuer/arn"),
        resources: event
            .resources()
            .iter()
            .filter_map(|resource| resource.resource_name().map(str::to_owned))
            .collect(),
        request: record.get("requestParameters").cloned().unwrap_or_default(),
    })
}

/// Why a call is suspicious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suspicion {
    /// From an IP address outside `allowedCidrs`, or by a principal outside `allowedPrincipals`.
    OutsideAllowLists,
    /// No allow-list set: made outside business hours.
    OffHours,
    /// No allow-list set: from an IP address none of the baseline's calls came from.
    NewAddress,
}

/// How a rule judges the calls of its window.
#[derive(Debug)]
pub struct CallPolicy<'a> {
    pub allowed_cidrs: &'a [IpNet],
    pub allowed_principals: &'a [String],
    pub business_hours: &'a BusinessHours,
    /// The IP addresses the baseline's calls came from ([`new_addresses`]).
    pub known_addresses: &'a BTreeSet<IpAddr>,
}

impl CallPolicy<'_> {
    /// Whether the rule judges by allow-lists (either set) or by its defaults.
    pub fn uses_allow_lists(&self) -> bool {
        !self.allowed_cidrs.is_empty() || !self.allowed_principals.is_empty()
    }

    /// Why `call` is suspicious (a call may be both off hours and from a new address), empty when
    /// it is not. An unset list allows everything; a service name instead of an IP address is
    /// AWS acting itself and is not judged by network.
    pub fn suspicions(&self, call: &TrailCall) -> Vec<Suspicion> {
        if self.uses_allow_lists() {
            return if self.allowed(call) { Vec::new() } else { vec![Suspicion::OutsideAllowLists] };
        }
        let mut found = Vec::new();
        if !self.business_hours.contains(call.time) {
            found.push(Suspicion::OffHours);
        }
        if call.address().is_some_and(|address| !self.known_addresses.contains(&address)) {
            found.push(Suspicion::NewAddress);
        }
        found
    }

    /// Whether the caller is in `allowedPrincipals` (unset: everyone is).
    pub fn principal_allowed(&self, call: &TrailCall) -> bool {
        self.allowed_principals.is_empty()
            || [call.principal.as_deref(), call.role.as_deref()]
                .iter()
                .flatten()
                .any(|identity| self.allowed_principals.iter().any(|allowed| wildcard(allowed, identity)))
    }

    fn allowed(&self, call: &TrailCall) -> bool {
        let network_ok = self.allowed_cidrs.is_empty()
            || call.address().is_none_or(|address| self.allowed_cidrs.iter().any(|net| net.contains(&address)));
        network_ok && self.principal_allowed(call)
    }
}

/// The IP addresses that calls of the baseline came from: a window's call is from a *new*
/// address when none of the calls the rule looked up (every operation it reads, on every
/// resource of the account, by any principal) came from that address between `baseline_start`
/// and `window_start`. Any principal, because a team shares its office and VPN addresses: a
/// colleague's first change from the office is not new.
pub fn new_addresses(calls: &[TrailCall], baseline_start: Timestamp, window_start: Timestamp) -> BTreeSet<IpAddr> {
    calls
        .iter()
        .filter(|call| call.time >= baseline_start && call.time < window_start)
        .filter_map(TrailCall::address)
        .collect()
}

/// `3 sensitive call(s) <what>: DeletePipeline ×1, UpdatePipeline ×2 (from 198.51.100.4,
/// 203.0.113.9)`: operations counted, sources named, nothing from the request.
pub fn describe(what: &str, calls: &[&TrailCall]) -> String {
    let mut per_operation: BTreeMap<&str, usize> = BTreeMap::new();
    for call in calls {
        *per_operation.entry(call.operation.as_str()).or_default() += 1;
    }
    let operations: Vec<String> = per_operation.iter().map(|(name, count)| format!("{name} ×{count}")).collect();
    let sources: BTreeSet<&str> = calls.iter().filter_map(|call| call.source.as_deref()).collect();
    let from =
        if sources.is_empty() { String::new() } else { format!(" (from {})", Vec::from_iter(sources).join(", ")) };
    format!("{} sensitive call(s) {what}: {}{from}", calls.len(), operations.join(", "))
}

/// The findings for the suspicious calls among `calls`, most serious kind first, each naming its
/// calls: `1 sensitive call(s) outside business hours (Mon-Sun 06:00-22:00 UTC): …`.
pub fn findings(policy: &CallPolicy<'_>, calls: &[&TrailCall], baseline_text: &str) -> Vec<String> {
    let mut by_kind: BTreeMap<Suspicion, Vec<&TrailCall>> = BTreeMap::new();
    for call in calls {
        for suspicion in policy.suspicions(call) {
            by_kind.entry(suspicion).or_default().push(call);
        }
    }
    by_kind
        .iter()
        .map(|(kind, calls)| {
            let what = match kind {
                Suspicion::OutsideAllowLists => "from outside the allow-lists".to_owned(),
                Suspicion::OffHours => format!("outside business hours ({})", policy.business_hours),
                Suspicion::NewAddress => format!("from an address not seen in the previous {baseline_text}"),
            };
            describe(&what, calls)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_cloudtrail::Client as CloudTrail;
    use aws_sdk_cloudtrail::config::{AsyncSleep, SharedAsyncSleep, Sleep};
    use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
    use aws_sdk_cloudtrail::types::Event;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    /// Records the pacing pauses and returns from them at once; the SDK's own sleeps (its
    /// timeouts) never end.
    #[derive(Debug, Clone, Default)]
    struct RecordedSleep(Arc<Mutex<Vec<Duration>>>);

    impl AsyncSleep for RecordedSleep {
        fn sleep(&self, duration: Duration) -> Sleep {
            if duration == LOOKUP_INTERVAL {
                self.0.lock().unwrap().push(duration);
                Sleep::new(std::future::ready(()))
            } else {
                Sleep::new(std::future::pending())
            }
        }
    }

    fn event(name: &str, source: &str) -> Event {
        let record = serde_json::json!({
            "eventSource": source, "eventName": name, "sourceIPAddress": "203.0.113.9",
            "userIdentity": {"arn": "arn:aws:sts::123456789012:assumed-role/ci/build-7",
                             "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/ci"}}},
            "requestParameters": {"projectName": "payments"},
        });
        Event::builder()
            .event_name(name)
            .event_source(source)
            .event_time(aws_sdk_cloudtrail::primitives::DateTime::from_secs(1_795_000_000))
            .cloud_trail_event(record.to_string())
            .build()
    }

    /// Three reads, one of two pages: every request after the first waits the interval, and
    /// calls of another service are left out.
    #[tokio::test]
    async fn lookups_are_paced_and_paged() {
        let lookups = mock!(CloudTrail::lookup_events).then_compute_output(|request| {
            let name = request.lookup_attributes()[0].attribute_value().to_owned();
            match (name.as_str(), request.next_token()) {
                ("StartBuild", None) => LookupEventsOutput::builder()
                    .events(event("StartBuild", "codebuild.amazonaws.com"))
                    .next_token("2")
                    .build(),
                ("StartBuild", Some("2")) => {
                    LookupEventsOutput::builder().events(event("StartBuild", "codebuild.amazonaws.com")).build()
                }
                ("UpdateProject", None) => {
                    LookupEventsOutput::builder().events(event("UpdateProject", "codecommit.amazonaws.com")).build()
                }
                _ => LookupEventsOutput::builder().build(),
            }
        });
        let sleeps = RecordedSleep::default();
        let shared = SharedAsyncSleep::new(sleeps.clone());
        let client = mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&lookups], |config| config
            .sleep_impl(shared.clone()));
        let aws = Aws::for_tests().with_cloudtrail(client);
        let end = Timestamp::from_second(1_795_000_100).unwrap();
        let start = Timestamp::from_second(1_794_000_000).unwrap();

        let calls =
            lookup(&aws, "codebuild.amazonaws.com", &["StartBuild", "UpdateProject", "CreateWebhook"], start, end)
                .await
                .unwrap();

        assert_eq!(lookups.num_calls(), 4);
        assert_eq!(*sleeps.0.lock().unwrap(), vec![LOOKUP_INTERVAL; 3], "a pause before each request but the first");
        assert_eq!(calls.len(), 2, "{calls:?}");
        assert_eq!(calls[0].identity(), Some("arn:aws:iam::123456789012:role/ci"));
        assert_eq!(calls[0].request_text("/projectName"), Some("payments"));
    }

    fn call(at: &str, source: &str) -> TrailCall {
        TrailCall {
            time: at.parse().unwrap(),
            operation: "UpdatePipeline".to_owned(),
            source: Some(source.to_owned()),
            principal: Some("arn:aws:iam::123456789012:user/dev".to_owned()),
            ..TrailCall::default()
        }
    }

    /// "New" means: no looked-up call of the baseline, before the window, came from the address.
    #[test]
    fn new_address_is_one_the_baseline_never_saw() {
        let hours: BusinessHours = "Mon-Sun 06:00-22:00 UTC".parse().unwrap();
        let baseline_start: Timestamp = "2026-10-20T12:00:00Z".parse().unwrap();
        let window_start: Timestamp = "2026-11-19T12:00:00Z".parse().unwrap();
        let history = [
            call("2026-10-10T12:00:00Z", "198.51.100.1"), // before the baseline: forgotten
            call("2026-11-01T12:00:00Z", "192.0.2.10"),
            call("2026-11-01T12:00:00Z", "codepipeline.amazonaws.com"),
            call("2026-11-19T13:00:00Z", "198.51.100.2"), // in the window: not a baseline
        ];
        let known = new_addresses(&history, baseline_start, window_start);
        assert_eq!(known, BTreeSet::from(["192.0.2.10".parse().unwrap()]));
        let policy =
            CallPolicy { allowed_cidrs: &[], allowed_principals: &[], business_hours: &hours, known_addresses: &known };
        let judged = |at: &str, source: &str| policy.suspicions(&call(at, source));
        assert_eq!(judged("2026-11-20T10:00:00Z", "192.0.2.10"), []);
        assert_eq!(judged("2026-11-20T10:00:00Z", "198.51.100.1"), [Suspicion::NewAddress]);
        assert_eq!(judged("2026-11-20T10:00:00Z", "198.51.100.2"), [Suspicion::NewAddress]);
        assert_eq!(judged("2026-11-20T10:00:00Z", "codepipeline.amazonaws.com"), []);
        assert_eq!(judged("2026-11-20T03:00:00Z", "192.0.2.10"), [Suspicion::OffHours]);
        assert_eq!(judged("2026-11-20T23:00:00Z", "203.0.113.9"), [Suspicion::OffHours, Suspicion::NewAddress]);

        // An allow-list replaces the defaults.
        let office: Vec<IpNet> = vec!["198.51.100.0/24".parse().unwrap()];
        let listed = CallPolicy {
            allowed_cidrs: &office,
            allowed_principals: &[],
            business_hours: &hours,
            known_addresses: &known,
        };
        assert_eq!(listed.suspicions(&call("2026-11-20T23:00:00Z", "198.51.100.1")), []);
        assert_eq!(listed.suspicions(&call("2026-11-20T10:00:00Z", "192.0.2.10")), [Suspicion::OutsideAllowLists]);
    }

    #[test]
    fn description_counts_operations_and_names_sources_only() {
        let mut secret = call("2026-11-20T10:00:00Z", "203.0.113.9");
        secret.request = serde_json::json!({"environmentVariablesOverride": [{"name": "X", "value": "hunter2"}]});
        let other = call("2026-11-20T11:00:00Z", "192.0.2.1");
        let text = describe("from outside the allow-lists", &[&secret, &other, &secret]);
        assert_eq!(
            text,
            "3 sensitive call(s) from outside the allow-lists: UpdatePipeline ×3 (from 192.0.2.1, 203.0.113.9)"
        );
        assert!(!text.contains("hunter2"));
    }
}
