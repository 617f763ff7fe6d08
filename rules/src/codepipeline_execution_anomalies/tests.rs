use aws_sdk_cloudtrail::Client as CloudTrail;
use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
use std::net::IpAddr;

use aws_sdk_cloudtrail::types::{Event, LookupAttributeKey};
use aws_sdk_codepipeline::Client as CodePipeline;
use aws_sdk_codepipeline::operation::list_pipeline_executions::ListPipelineExecutionsOutput;
use aws_sdk_codepipeline::primitives::DateTime;
use aws_sdk_codepipeline::types::error::PipelineNotFoundException;
use aws_sdk_codepipeline::types::{PipelineExecutionStatus, PipelineExecutionSummary};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use jiff::SignedDuration;
use pipesec_engine::{Compliance, Error};
use rstest::rstest;
use serde_json::Value;

use super::*;
use crate::common::cloudtrail::trail_call;
use crate::testing::{fixture_path, instant_sleep, subject};

/// A Friday, 21:00 UTC: the window (24 h) starts Thursday 21:00; the default business hours are
/// 06:00–22:00 UTC.
const END: &str = "2026-11-20T21:00:00Z";

fn end() -> Timestamp {
    END.parse().unwrap()
}

fn hours_ago(hours: f64) -> Timestamp {
    end() - SignedDuration::from_secs_f64(hours * 3600.0)
}

/// `count` executions with `status`, one every `every` hours, the newest `from` hours before the end.
fn runs(count: usize, status: &str, from: f64, every: f64) -> Vec<Execution> {
    #[allow(clippy::cast_precision_loss)]
    (0..count).map(|i| Execution { started: hours_ago(from + every * i as f64), status: status.to_owned() }).collect()
}

/// Four successful runs a day, in the evening (UTC), for eight days.
fn steady() -> Vec<Execution> {
    (0..8).flat_map(|day| runs(4, "Succeeded", f64::from(day) * 24.0 + 0.5, 1.0)).collect()
}

/// 100 runs ten days ago, 2 a day ago, 12 in the window.
fn busy_then_quiet() -> Vec<Execution> {
    [runs(100, "Succeeded", 240.0, 0.1), runs(2, "Succeeded", 30.0, 1.0), runs(12, "Succeeded", 1.0, 0.5)].concat()
}

fn activity(executions: Vec<Execution>, calls: Vec<TrailCall>) -> Activity {
    Activity { window_end: end(), executions: Some(executions), calls: Arc::new(calls) }
}

fn with(mut executions: Vec<Execution>, more: Vec<Execution>) -> Vec<Execution> {
    executions.extend(more);
    executions
}

fn params(json: &str) -> Params {
    pipesec_engine::params::parse::<Params>(Some(json)).unwrap().rule
}

/// The call a CloudTrail record fixture describes, as LookupEvents returns it (at `time`, if
/// given, instead of the record's).
fn lookup_event(fixture: &str, time: Option<Timestamp>) -> Event {
    let text = std::fs::read_to_string(fixture_path(ID, fixture)).unwrap();
    let record: Value = serde_json::from_str(&text).unwrap();
    let time = time.unwrap_or_else(|| record["eventTime"].as_str().unwrap().parse().unwrap());
    Event::builder()
        .event_id(record["eventID"].as_str().unwrap())
        .event_name(record["eventName"].as_str().unwrap())
        .event_source(EVENT_SOURCE)
        .event_time(DateTime::from_millis(time.as_millisecond()))
        .cloud_trail_event(text)
        .build()
}

fn call(fixture: &str) -> TrailCall {
    trail_call(&lookup_event(fixture, None), EVENT_SOURCE).unwrap()
}

/// The fixture's call, moved to `hours` before the end of the window.
fn call_at(fixture: &str, hours: f64) -> TrailCall {
    TrailCall { time: hours_ago(hours), ..call(fixture) }
}

/// The fixture's call as another operation.
fn as_operation(operation: &str, call: TrailCall) -> TrailCall {
    TrailCall { operation: operation.to_owned(), ..call }
}

/// The fixture's call on another pipeline.
fn on_pipeline(pipeline: &str, mut call: TrailCall) -> TrailCall {
    call.request = serde_json::json!({"name": pipeline});
    call
}

const UPDATE: &str = "cloudtrail-update-pipeline";
const APPROVAL: &str = "cloudtrail-put-approval-result";
const NONE: &str = "{}";
const BERLIN_HOURS: &str = r#"{"businessHours": "Mon-Fri 08:00-18:00 Europe/Berlin"}"#;
const OFFICE_NETWORK: &str = r#"{"allowedCidrs": "10.0.0.0/8, 2001:db8::/32"}"#;
const DEPLOYERS: &str = r#"{"allowedPrincipals": "arn:aws:iam::123456789012:role/release-*"}"#;
/// Hours from the end of the window to 03:00 UTC on Friday, outside the default business hours.
const NIGHT: f64 = 18.0;
/// Five days before the end: in the default baseline (30 days before the window).
const LAST_WEEK: f64 = 120.0;

#[rstest]
#[case::steady(activity(steady(), vec![]), NONE, Compliance::Compliant)]
#[case::failure_rate_above_default(activity(with(runs(4, "Failed", 1.0, 1.0), runs(6, "Succeeded", 8.0, 1.0)), vec![]), NONE, Compliance::NonCompliant)]
#[case::failure_rate_at_default(activity(with(runs(3, "Failed", 1.0, 1.0), runs(7, "Succeeded", 8.0, 1.0)), vec![]), NONE, Compliance::Compliant)]
#[case::too_few_finished_to_count(activity(with(runs(3, "Failed", 1.0, 1.0), runs(1, "Stopped", 8.0, 1.0)), vec![]), NONE, Compliance::Compliant)]
#[case::stricter_max_rate(activity(with(steady(), runs(1, "Failed", 2.0, 1.0)), vec![]), r#"{"maxFailureRate": "0.1"}"#, Compliance::NonCompliant)]
#[case::frequency_spike(activity(with(steady(), runs(9, "Succeeded", 6.0, 0.5)), vec![]), NONE, Compliance::NonCompliant)]
#[case::below_a_higher_spike_factor(activity(with(steady(), runs(9, "Succeeded", 6.0, 0.5)), vec![]), r#"{"spikeFactor": "4"}"#, Compliance::Compliant)]
#[case::just_below_the_default_spike_factor(activity(with(steady(), runs(4, "Succeeded", 6.0, 0.5)), vec![]), NONE, Compliance::Compliant)]
#[case::busy_history_in_the_default_baseline(activity(busy_then_quiet(), vec![]), NONE, Compliance::Compliant)]
#[case::spike_against_a_shorter_baseline(activity(busy_then_quiet(), vec![]), r#"{"baselineDays": "3"}"#, Compliance::NonCompliant)]
#[case::burst_without_history(activity(runs(20, "Succeeded", 1.0, 0.25), vec![]), NONE, Compliance::Compliant)]
#[case::burst_on_a_new_pipeline(activity(with(runs(2, "Succeeded", 30.0, 1.0), runs(12, "Succeeded", 1.0, 0.5)), vec![]), NONE, Compliance::NonCompliant)]
#[case::spike_below_minimum(activity(with(runs(1, "Succeeded", 100.0, 1.0), runs(9, "Succeeded", 1.0, 1.0)), vec![]), NONE, Compliance::Compliant)]
#[case::off_hours_by_default(activity(runs(1, "Succeeded", NIGHT, 1.0), vec![]), NONE, Compliance::NonCompliant)]
#[case::in_business_hours(activity(runs(3, "Succeeded", 6.0, 1.0), vec![]), BERLIN_HOURS, Compliance::Compliant)]
#[case::outside_business_hours(activity(runs(1, "Succeeded", 2.0, 1.0), vec![]), BERLIN_HOURS, Compliance::NonCompliant)]
#[case::call_from_a_known_address(activity(steady(), vec![call_at(UPDATE, 2.0), on_pipeline("billing", call_at(UPDATE, LAST_WEEK))]), NONE, Compliance::Compliant)]
#[case::call_from_a_new_address(activity(steady(), vec![call_at(UPDATE, 2.0), call_at(APPROVAL, LAST_WEEK)]), NONE, Compliance::NonCompliant)]
#[case::call_from_an_address_seen_before_the_baseline(activity(steady(), vec![call_at(UPDATE, 2.0), call_at(UPDATE, 24.0 * 40.0)]), NONE, Compliance::NonCompliant)]
#[case::call_from_a_known_address_at_night(activity(steady(), vec![call_at(UPDATE, NIGHT), call_at(UPDATE, LAST_WEEK)]), NONE, Compliance::NonCompliant)]
#[case::call_from_outside_network(activity(steady(), vec![call_at(UPDATE, 2.0)]), OFFICE_NETWORK, Compliance::NonCompliant)]
#[case::call_from_allowed_network(activity(steady(), vec![call_at(APPROVAL, 2.0)]), OFFICE_NETWORK, Compliance::Compliant)]
#[case::call_from_allowed_network_at_night(activity(steady(), vec![call_at(APPROVAL, NIGHT)]), OFFICE_NETWORK, Compliance::Compliant)]
#[case::call_by_other_principal(activity(steady(), vec![call_at(UPDATE, 2.0)]), DEPLOYERS, Compliance::NonCompliant)]
#[case::call_by_allowed_role_session(activity(steady(), vec![call_at(APPROVAL, 2.0)]), DEPLOYERS, Compliance::Compliant)]
#[case::call_by_aws_service(activity(steady(), vec![TrailCall { source: Some("codepipeline.amazonaws.com".to_owned()), ..call_at(UPDATE, 2.0) }]), NONE, Compliance::Compliant)]
#[case::call_on_other_pipeline(activity(steady(), vec![on_pipeline("billing", call_at(UPDATE, 2.0))]), NONE, Compliance::Compliant)]
#[case::activity_before_the_window(activity(runs(10, "Failed", 30.0, 1.0), vec![call_at(UPDATE, 30.0)]), NONE, Compliance::Compliant)]
#[case::longer_window(activity(runs(10, "Failed", 30.0, 1.0), vec![]), r#"{"windowHours": "48"}"#, Compliance::NonCompliant)]
#[case::pipeline_gone(Activity { window_end: end(), executions: None, calls: Arc::default() }, NONE, Compliance::NotApplicable)]
fn scenario(#[case] activity: Activity, #[case] params_json: &str, #[case] expected: Compliance) {
    let verdict = ExecutionAnomalies::evaluate(&subject(ID, "pipeline"), &activity, &params(params_json));
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
}

fn reason(activity: &Activity, params_json: &str) -> String {
    ExecutionAnomalies::evaluate(&subject(ID, "pipeline"), activity, &params(params_json)).reason
}

#[test]
fn findings_carry_counts() {
    let failing = activity(with(runs(4, "Failed", 1.0, 1.0), runs(6, "Succeeded", 8.0, 1.0)), vec![]);
    assert_eq!(reason(&failing, NONE), "severity MEDIUM: failure rate 40% (4 of 10 finished executions) above 30%");

    let spike = activity(with(steady(), runs(9, "Succeeded", 6.0, 0.5)), vec![]);
    assert_eq!(
        reason(&spike, NONE),
        "severity MEDIUM: 13 executions in the last 24 h, over 2× the usual 4.0 per window of the previous 30 days"
    );

    let night = activity(with(runs(2, "Succeeded", 19.0, 0.5), runs(1, "Succeeded", 6.0, 1.0)), vec![]);
    assert_eq!(
        reason(&night, BERLIN_HOURS),
        "severity MEDIUM: 2 of 3 executions started outside business hours (Mon-Fri 08:00-18:00 Europe/Berlin), \
         latest Fri 2026-11-20 03:00"
    );
    assert_eq!(
        reason(&night, NONE),
        "severity MEDIUM: 2 of 3 executions started outside business hours (Mon-Sun 06:00-22:00 UTC), latest Fri \
         2026-11-20 02:00"
    );

    let calls = activity(steady(), vec![call_at(UPDATE, 2.0), call_at(UPDATE, 3.0), call_at(APPROVAL, 1.0)]);
    assert_eq!(
        reason(&calls, r#"{"allowedCidrs": "192.0.2.0/24"}"#),
        "severity MEDIUM: 3 sensitive call(s) from outside the allow-lists: PutApprovalResult ×1, UpdatePipeline ×2 \
         (from 10.20.30.40, 203.0.113.9)"
    );
}

/// With no parameter, a call is judged by business hours and by whether its address is new; the
/// calls come first, and a Delete or Stop makes the verdict HIGH.
#[test]
fn defaults_judge_calls_by_hours_and_new_addresses() {
    let tampered = activity(
        runs(1, "Succeeded", NIGHT + 1.0, 1.0),
        vec![
            as_operation("DeletePipeline", call_at(UPDATE, NIGHT)),
            call_at(APPROVAL, 2.0),
            call_at(APPROVAL, LAST_WEEK),
        ],
    );
    assert_eq!(
        reason(&tampered, NONE),
        "severity HIGH: 1 sensitive call(s) outside business hours (Mon-Sun 06:00-22:00 UTC): DeletePipeline ×1 (from \
         203.0.113.9); 1 sensitive call(s) from an address not seen in the previous 30 days: DeletePipeline ×1 (from \
         203.0.113.9); 1 of 1 executions started outside business hours (Mon-Sun 06:00-22:00 UTC), latest Fri \
         2026-11-20 02:00"
    );
    let stopped = activity(steady(), vec![as_operation("StopPipelineExecution", call_at(UPDATE, 2.0))]);
    assert!(reason(&stopped, NONE).starts_with("severity HIGH: 1 sensitive call(s) from an address not seen"));
    let retried = activity(steady(), vec![as_operation("RetryStageExecution", call_at(UPDATE, 2.0))]);
    assert!(reason(&retried, NONE).starts_with("severity MEDIUM: 1 sensitive call(s) from an address not seen"));
    let shorter = activity(steady(), vec![call_at(UPDATE, 2.0), call_at(UPDATE, LAST_WEEK)]);
    assert!(reason(&shorter, r#"{"baselineDays": "3"}"#).contains("not seen in the previous 3 days"));
}

#[test]
fn compliant_annotation_says_what_was_seen() {
    let calm = activity(with(steady(), runs(1, "Failed", 3.0, 1.0)), vec![call_at(APPROVAL, 1.0)]);
    assert_eq!(
        reason(&calm, OFFICE_NETWORK),
        "no anomaly: 5 execution(s) in the last 24 h, 1 of 5 finished failed, 1 sensitive call(s), none from outside \
         the allow-lists"
    );
    let known = activity(steady(), vec![call_at(APPROVAL, 1.0), call_at(APPROVAL, LAST_WEEK)]);
    assert_eq!(
        reason(&known, NONE),
        "no anomaly: 4 execution(s) in the last 24 h, 0 of 4 finished failed, 1 sensitive call(s), none outside \
         business hours or from a new address"
    );
}

#[test]
fn cloudtrail_records_become_calls() {
    let update = call(UPDATE);
    assert_eq!(update.operation, "UpdatePipeline");
    assert_eq!(pipeline_of(&update), Some("payments"));
    assert_eq!(update.source.as_deref(), Some("203.0.113.9"));
    assert_eq!(update.principal.as_deref(), Some("arn:aws:iam::123456789012:user/mallory"));
    assert_eq!(update.role, None);
    let approval = call(APPROVAL);
    assert_eq!(pipeline_of(&approval), Some("payments"));
    assert_eq!(approval.role.as_deref(), Some("arn:aws:iam::123456789012:role/release-approver"));
    let other_service = Event::builder().event_name("DeleteProject").event_source("codebuild.amazonaws.com").build();
    assert_eq!(trail_call(&other_service, EVENT_SOURCE), None);
}

#[rstest]
#[case::window_zero(r#"{"windowHours": "0"}"#, "windowHours")]
#[case::window_too_long(r#"{"windowHours": "169"}"#, "windowHours")]
#[case::window_not_a_number(r#"{"windowHours": "a day"}"#, "windowHours")]
#[case::rate_above_one(r#"{"maxFailureRate": "1.5"}"#, "maxFailureRate")]
#[case::rate_percent(r#"{"maxFailureRate": "50%"}"#, "maxFailureRate")]
#[case::spike_factor_below_one(r#"{"spikeFactor": "0.5"}"#, "spikeFactor")]
#[case::baseline_beyond_cloudtrail(r#"{"baselineDays": "90"}"#, "baselineDays")]
#[case::hours_without_zone(r#"{"businessHours": "Mon-Fri 08:00-18:00"}"#, "businessHours")]
#[case::unknown_zone(r#"{"businessHours": "Mon-Fri 08:00-18:00 Europe/Atlantis"}"#, "businessHours")]
#[case::bad_cidr(r#"{"allowedCidrs": "10.0.0.0/33"}"#, "allowedCidrs")]
#[case::principal_not_an_arn(r#"{"allowedPrincipals": "deployer"}"#, "allowedPrincipals")]
#[case::unknown_parameter(r#"{"businessHour": "Mon-Fri 08:00-18:00 UTC"}"#, "businessHour")]
fn invalid_parameter_is_named(#[case] json: &str, #[case] name: &str) {
    match pipesec_engine::params::parse::<Params>(Some(json)) {
        Err(err @ Error::InvalidParameter { .. }) => {
            assert_eq!(err.error_type(), "InvalidParameterValueException");
            assert!(err.to_string().contains(&format!("`{name}`")), "{err}");
        }
        other => panic!("{json}: expected InvalidParameter, got {other:?}"),
    }
}

#[test]
fn parameters_are_parsed() {
    let params = params(
        r#"{"windowHours": "12", "maxFailureRate": "0.25", "spikeFactor": "3.5", "baselineDays": "14",
            "businessHours": "Mon-Fri 08:00-18:00 UTC",
            "allowedCidrs": "10.0.0.0/8,192.0.2.7", "allowedPrincipals": "arn:aws:iam::123456789012:role/ci"}"#,
    );
    assert_eq!(params.window_hours, Some(12));
    assert_eq!(params.max_failure_rate, Some(0.25));
    assert_eq!((params.spike_factor, params.baseline_days), (Some(3.5), Some(14)));
    assert!(params.business_hours.is_some());
    assert_eq!(params.allowed_cidrs.len(), 2);
    assert!(params.allowed_cidrs[1].contains(&"192.0.2.7".parse::<IpAddr>().unwrap()));
}

fn summary(started: Timestamp, status: PipelineExecutionStatus) -> PipelineExecutionSummary {
    PipelineExecutionSummary::builder()
        .pipeline_execution_id(format!("exec-{}", started.as_second()))
        .status(status)
        .start_time(DateTime::from_millis(started.as_millisecond()))
        .build()
}

/// Two pipelines: CloudTrail is read once per sensitive operation for both, over the baseline and
/// the window, following pages;
/// executions are read per pipeline until the start of the baseline, and a deleted pipeline is
/// no error.
#[tokio::test]
async fn gather_reads_calls_once_and_executions_until_the_baseline() {
    let now = Timestamp::now();
    let ago = move |hours: i64| now - SignedDuration::from_hours(hours);
    let lookups = mock!(CloudTrail::lookup_events).then_compute_output(move |request| {
        let attribute = &request.lookup_attributes()[0];
        assert_eq!(attribute.attribute_key(), &LookupAttributeKey::EventName);
        let start = request.start_time().unwrap().to_millis().unwrap();
        let end = request.end_time().unwrap().to_millis().unwrap();
        assert_eq!(end - start, 31 * 24 * 3600 * 1000, "the baseline and the window");
        match (attribute.attribute_value(), request.next_token()) {
            ("UpdatePipeline", None) => {
                LookupEventsOutput::builder().events(lookup_event(UPDATE, Some(ago(2)))).next_token("page-2").build()
            }
            ("UpdatePipeline", Some("page-2")) => {
                LookupEventsOutput::builder().events(lookup_event(UPDATE, Some(ago(3)))).build()
            }
            ("PutApprovalResult", None) => {
                LookupEventsOutput::builder().events(lookup_event(APPROVAL, Some(ago(1)))).build()
            }
            _ => LookupEventsOutput::builder().build(),
        }
    });
    let gone = mock!(CodePipeline::list_pipeline_executions)
        .match_requests(|request| request.pipeline_name() == Some("retired"))
        .then_error(|| {
            ListPipelineExecutionsError::PipelineNotFoundException(PipelineNotFoundException::builder().build())
        });
    let listed = mock!(CodePipeline::list_pipeline_executions).then_compute_output(move |request| {
        assert_eq!(request.pipeline_name(), Some("payments"));
        match request.next_token() {
            None => ListPipelineExecutionsOutput::builder()
                .pipeline_execution_summaries(summary(ago(1), PipelineExecutionStatus::Failed))
                .pipeline_execution_summaries(summary(ago(30), PipelineExecutionStatus::Succeeded))
                .next_token("page-2")
                .build(),
            Some("page-2") => ListPipelineExecutionsOutput::builder()
                .pipeline_execution_summaries(summary(ago(24 * 30), PipelineExecutionStatus::Succeeded))
                .pipeline_execution_summaries(summary(ago(24 * 32), PipelineExecutionStatus::Succeeded))
                // More history exists, but it is older than the baseline: not read.
                .next_token("page-3")
                .build(),
            Some(other) => panic!("read past the baseline: {other}"),
        }
    });
    let aws = Aws::for_tests()
        .with_cloudtrail(mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&lookups], |config| config
            .sleep_impl(instant_sleep())))
        .with_codepipeline(mock_client!(aws_sdk_codepipeline, RuleMode::MatchAny, [&gone, &listed]));
    let mut retired = subject::<PipelineConfiguration>(ID, "pipeline");
    retired.resource.pipeline.name = Some("retired".to_owned());
    let pipelines = vec![subject(ID, "pipeline"), retired];

    let facts = ExecutionAnomalies::gather(&aws, &Params::default(), &pipelines).await.unwrap();

    assert_eq!(lookups.num_calls(), SENSITIVE_OPERATIONS.len() + 1, "one read per operation, plus a second page");
    assert_eq!((listed.num_calls(), gone.num_calls()), (2, 1));
    assert!(Arc::ptr_eq(&facts[0].calls, &facts[1].calls), "calls read once, shared");
    assert_eq!(facts[0].calls.len(), 3);
    let statuses: Vec<&str> = facts[0].executions.as_ref().unwrap().iter().map(|e| e.status.as_str()).collect();
    assert_eq!(statuses, ["Failed", "Succeeded", "Succeeded"], "the execution before the baseline is left out");
    assert_eq!(facts[1].executions, None);
    assert_eq!(facts[0].window_end, facts[1].window_end);
    let verdict = ExecutionAnomalies::evaluate(&pipelines[0], &facts[0], &params(OFFICE_NETWORK));
    assert_eq!(verdict.compliance, Compliance::NonCompliant, "{}", verdict.reason);
    assert!(verdict.reason.contains("UpdatePipeline ×2"), "{}", verdict.reason);
}
