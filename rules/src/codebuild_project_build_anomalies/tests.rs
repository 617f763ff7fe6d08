use aws_sdk_cloudtrail::Client as CloudTrail;
use aws_sdk_cloudtrail::operation::lookup_events::LookupEventsOutput;
use aws_sdk_cloudtrail::types::Event;
use aws_sdk_codebuild::Client as CodeBuild;
use aws_sdk_codebuild::operation::batch_get_builds::BatchGetBuildsOutput;
use aws_sdk_codebuild::operation::list_builds_for_project::ListBuildsForProjectOutput;
use aws_sdk_codebuild::primitives::DateTime;
use aws_sdk_codebuild::types::error::ResourceNotFoundException;
use aws_sdk_codebuild::types::{Build as SdkBuild, StatusType};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use jiff::SignedDuration;
use pipesec_engine::{Compliance, Error};
use rstest::rstest;

use super::*;
use crate::common::cloudtrail::trail_call;
use crate::testing::{fixture_path, instant_sleep, subject};

/// A Friday, 21:00 UTC: the window (24 h) starts Thursday 21:00.
const END: &str = "2026-11-20T21:00:00Z";
const OVERRIDE: &str = "cloudtrail-start-build-override";
const PIPELINE_BUILD: &str = "cloudtrail-start-build-pipeline";
const UPDATE: &str = "cloudtrail-update-project";
const CREDENTIALS: &str = "cloudtrail-import-source-credentials";
const NONE: &str = "{}";
const OPERATORS: &str = r#"{"allowedPrincipals": "arn:aws:iam::123456789012:role/developers"}"#;
const OFFICE_NETWORK: &str = r#"{"allowedCidrs": "198.51.100.0/24"}"#;
/// The canary value in the override fixture's environment-variable override.
const CANARY: &str = "canary-override-Secr3t-9d41";
/// Hours from the end of the window to 03:00 UTC on Friday, outside the default business hours.
const NIGHT: f64 = 18.0;
const LAST_WEEK: f64 = 120.0;

fn end() -> Timestamp {
    END.parse().unwrap()
}

fn hours_ago(hours: f64) -> Timestamp {
    end() - SignedDuration::from_secs_f64(hours * 3600.0)
}

fn lookup_event(fixture: &str, time: Option<Timestamp>) -> Event {
    let text = std::fs::read_to_string(fixture_path(ID, fixture)).unwrap();
    let record: Value = serde_json::from_str(&text).unwrap();
    let time = time.unwrap_or_else(|| record["eventTime"].as_str().unwrap().parse().unwrap());
    Event::builder()
        .event_id(record["eventID"].as_str().unwrap())
        .event_name(record["eventName"].as_str().unwrap())
        .event_source(EVENT_SOURCE)
        .event_time(aws_sdk_cloudtrail::primitives::DateTime::from_millis(time.as_millisecond()))
        .cloud_trail_event(text)
        .build()
}

/// The fixture's call, at `hours` before the end of the window.
fn call_at(fixture: &str, hours: f64) -> TrailCall {
    trail_call(&lookup_event(fixture, Some(hours_ago(hours))), EVENT_SOURCE).unwrap()
}

/// The fixture's call by another caller: `mallory`'s override as `bob` of `developers`.
fn by_developer(call: TrailCall) -> TrailCall {
    TrailCall {
        principal: Some("arn:aws:sts::123456789012:assumed-role/developers/bob".to_owned()),
        role: Some("arn:aws:iam::123456789012:role/developers".to_owned()),
        ..call
    }
}

/// The fixture's call from another address.
fn from(source: &str, call: TrailCall) -> TrailCall {
    TrailCall { source: Some(source.to_owned()), ..call }
}

fn with_request(request: Value, call: TrailCall) -> TrailCall {
    TrailCall { request, ..call }
}

/// `count` builds with `status`, one every `every` hours, the newest `from` hours before the end.
fn runs(count: usize, status: &str, from: f64, every: f64) -> Vec<Build> {
    #[allow(clippy::cast_precision_loss)]
    (0..count).map(|i| Build { started: hours_ago(from + every * i as f64), status: status.to_owned() }).collect()
}

/// Three successful builds a day for eight days, in the evening (UTC).
fn steady() -> Vec<Build> {
    (0..8).flat_map(|day| runs(3, "SUCCEEDED", f64::from(day) * 24.0 + 0.5, 1.0)).collect()
}

fn activity(builds: Vec<Build>, calls: Vec<TrailCall>) -> BuildActivity {
    BuildActivity { window_end: end(), builds: Some(builds), calls: Arc::new(calls) }
}

fn params(json: &str) -> Params {
    pipesec_engine::params::parse::<Params>(Some(json)).unwrap().rule
}

fn verdict(activity: &BuildActivity, params_json: &str) -> Verdict {
    BuildAnomalies::evaluate(&subject(ID, "project"), activity, &params(params_json))
}

#[rstest]
#[case::steady(activity(steady(), vec![]), NONE, Compliance::Compliant)]
#[case::override_by_a_new_principal(activity(steady(), vec![call_at(OVERRIDE, 2.0)]), NONE, Compliance::NonCompliant)]
#[case::override_by_a_principal_that_built_before(activity(steady(), vec![call_at(OVERRIDE, 2.0), call_at(OVERRIDE, LAST_WEEK)]), NONE, Compliance::Compliant)]
#[case::override_by_a_principal_seen_before_the_baseline(activity(steady(), vec![call_at(OVERRIDE, 2.0), call_at(OVERRIDE, 24.0 * 40.0)]), NONE, Compliance::NonCompliant)]
#[case::override_by_a_principal_that_built_another_project(activity(steady(), vec![call_at(OVERRIDE, 2.0), with_request(serde_json::json!({"projectName": "billing"}), call_at(OVERRIDE, LAST_WEEK))]), NONE, Compliance::NonCompliant)]
#[case::override_in_a_pipeline_build(activity(steady(), vec![call_at(PIPELINE_BUILD, 2.0)]), NONE, Compliance::Compliant)]
#[case::build_without_override(activity(steady(), vec![with_request(serde_json::json!({"projectName": "api-service", "sourceVersion": "main"}), call_at(OVERRIDE, 2.0))]), NONE, Compliance::Compliant)]
#[case::override_outside_allowed_principals(activity(steady(), vec![call_at(OVERRIDE, 2.0), call_at(OVERRIDE, LAST_WEEK)]), OPERATORS, Compliance::NonCompliant)]
#[case::pipeline_override_outside_allowed_principals(activity(steady(), vec![call_at(PIPELINE_BUILD, 2.0)]), OPERATORS, Compliance::NonCompliant)]
#[case::override_by_an_allowed_principal(activity(steady(), vec![by_developer(call_at(OVERRIDE, 2.0))]), OPERATORS, Compliance::Compliant)]
#[case::override_on_another_project(activity(steady(), vec![with_request(serde_json::json!({"projectName": "billing", "buildspecOverride": "x"}), call_at(OVERRIDE, 2.0))]), NONE, Compliance::Compliant)]
#[case::update_from_a_known_address(activity(steady(), vec![call_at(UPDATE, 2.0), call_at(UPDATE, LAST_WEEK)]), NONE, Compliance::Compliant)]
#[case::update_from_a_new_address(activity(steady(), vec![call_at(UPDATE, 2.0), from("192.0.2.8", call_at(UPDATE, LAST_WEEK))]), NONE, Compliance::NonCompliant)]
#[case::update_at_night(activity(steady(), vec![call_at(UPDATE, NIGHT), call_at(UPDATE, LAST_WEEK)]), NONE, Compliance::NonCompliant)]
#[case::update_from_the_office_at_night(activity(steady(), vec![call_at(UPDATE, NIGHT)]), OFFICE_NETWORK, Compliance::Compliant)]
#[case::credentials_from_outside_the_office(activity(steady(), vec![from("203.0.113.9", call_at(CREDENTIALS, 2.0))]), OFFICE_NETWORK, Compliance::NonCompliant)]
#[case::credentials_for_another_provider(activity(steady(), vec![with_request(serde_json::json!({"serverType": "BITBUCKET"}), from("203.0.113.9", call_at(CREDENTIALS, 2.0)))]), OFFICE_NETWORK, Compliance::Compliant)]
#[case::failure_rate_above_default(activity([runs(4, "FAILED", 1.0, 1.0), runs(6, "SUCCEEDED", 8.0, 1.0)].concat(), vec![]), NONE, Compliance::NonCompliant)]
#[case::timeouts_and_faults_are_failures(activity([runs(2, "FAULT", 1.0, 1.0), runs(2, "TIMED_OUT", 3.0, 1.0), runs(4, "SUCCEEDED", 8.0, 1.0)].concat(), vec![]), NONE, Compliance::NonCompliant)]
#[case::stopped_builds_are_not_counted(activity([runs(3, "FAILED", 1.0, 1.0), runs(7, "SUCCEEDED", 5.0, 1.0), runs(5, "STOPPED", 12.0, 0.5)].concat(), vec![]), NONE, Compliance::Compliant)]
#[case::build_spike(activity([steady(), runs(10, "SUCCEEDED", 6.0, 0.5)].concat(), vec![]), NONE, Compliance::NonCompliant)]
#[case::activity_before_the_window(activity(runs(10, "FAILED", 30.0, 1.0), vec![call_at(OVERRIDE, 30.0), call_at(UPDATE, 30.0)]), NONE, Compliance::Compliant)]
#[case::project_gone(BuildActivity { window_end: end(), builds: None, calls: Arc::default() }, NONE, Compliance::NotApplicable)]
fn scenario(#[case] activity: BuildActivity, #[case] params_json: &str, #[case] expected: Compliance) {
    let verdict = verdict(&activity, params_json);
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    assert!(!verdict.reason.contains(CANARY), "{}", verdict.reason);
}

#[test]
fn findings_name_the_override_kinds_callers_and_severity() {
    let overridden =
        activity(steady(), vec![call_at(OVERRIDE, 2.0), call_at(UPDATE, NIGHT), call_at(UPDATE, LAST_WEEK)]);
    assert_eq!(
        verdict(&overridden, NONE).reason,
        "severity HIGH: 1 build(s) with overrides by a principal that did not build the project in the previous 30 \
         days: buildspecOverride ×1, environmentVariablesOverride ×1 (by arn:aws:iam::123456789012:user/mallory from \
         203.0.113.9); 1 sensitive call(s) outside business hours (Mon-Sun 06:00-22:00 UTC): UpdateProject ×1 (from \
         198.51.100.23)"
    );
    let listed = activity(steady(), vec![call_at(OVERRIDE, 2.0)]);
    assert!(
        verdict(&listed, OPERATORS)
            .reason
            .starts_with("severity HIGH: 1 build(s) with overrides by a principal outside allowedPrincipals"),
    );
    let updated = activity(steady(), vec![call_at(UPDATE, 2.0)]);
    assert_eq!(
        verdict(&updated, NONE).reason,
        "severity MEDIUM: 1 sensitive call(s) from an address not seen in the previous 30 days: UpdateProject ×1 \
         (from 198.51.100.23)"
    );
    let credentials = activity(steady(), vec![from("203.0.113.9", call_at(CREDENTIALS, 2.0))]);
    assert!(
        verdict(&credentials, OFFICE_NETWORK).reason.starts_with("severity HIGH: 1 sensitive call(s) from outside")
    );
    let failing = activity([runs(4, "FAILED", 1.0, 1.0), runs(6, "SUCCEEDED", 8.0, 1.0)].concat(), vec![]);
    assert_eq!(verdict(&failing, NONE).reason, "severity MEDIUM: failure rate 40% (4 of 10 finished builds) above 30%");
}

#[test]
fn compliant_annotation_says_what_was_seen() {
    let calm = activity(steady(), vec![call_at(PIPELINE_BUILD, 2.0), call_at(UPDATE, 3.0), call_at(UPDATE, LAST_WEEK)]);
    assert_eq!(
        verdict(&calm, NONE).reason,
        "no anomaly: 3 build(s) in the last 24 h, 1 build(s) with overrides, none by an unknown principal, 1 change(s) \
         to the project, none suspicious, 0 of 3 finished failed"
    );
}

#[test]
fn cloudtrail_records_become_calls() {
    let started = call_at(OVERRIDE, 2.0);
    assert_eq!(project_of(&started), Some("api-service"));
    assert_eq!(overrides(&started), ["buildspecOverride", "environmentVariablesOverride"]);
    assert_eq!(started.identity(), Some("arn:aws:iam::123456789012:user/mallory"));
    let by_pipeline = call_at(PIPELINE_BUILD, 2.0);
    assert_eq!(overrides(&by_pipeline), ["sourceLocationOverride", "environmentVariablesOverride"]);
    assert_eq!(by_pipeline.address(), None, "a service name, not an address");
    assert_eq!(by_pipeline.identity(), Some("arn:aws:iam::123456789012:role/api-service-pipeline"));
    assert_eq!(project_of(&call_at(UPDATE, 2.0)), Some("api-service"));
    assert_eq!(project_of(&call_at(CREDENTIALS, 2.0)), None);
    let by_arn = with_request(
        serde_json::json!({"projectName": "arn:aws:codebuild:us-east-1:123456789012:project/api-service"}),
        call_at(OVERRIDE, 2.0),
    );
    assert_eq!(project_of(&by_arn), Some("api-service"));
    let empty = with_request(
        serde_json::json!({"projectName": "api-service", "buildspecOverride": "", "environmentVariablesOverride": []}),
        call_at(OVERRIDE, 2.0),
    );
    assert!(overrides(&empty).is_empty());
}

#[rstest]
#[case::window_zero(r#"{"windowHours": "0"}"#, "windowHours")]
#[case::spike_factor_below_one(r#"{"spikeFactor": "0.5"}"#, "spikeFactor")]
#[case::baseline_beyond_cloudtrail(r#"{"baselineDays": "84"}"#, "baselineDays")]
#[case::rate_above_one(r#"{"maxFailureRate": "2"}"#, "maxFailureRate")]
#[case::hours_without_zone(r#"{"businessHours": "Mon-Fri 08:00-18:00"}"#, "businessHours")]
#[case::bad_cidr(r#"{"allowedCidrs": "10.0.0.0/33"}"#, "allowedCidrs")]
#[case::principal_not_an_arn(r#"{"allowedPrincipals": "deployer"}"#, "allowedPrincipals")]
#[case::unknown_parameter(r#"{"allowedPrincipal": "arn:aws:iam::123456789012:role/ci"}"#, "allowedPrincipal")]
fn invalid_parameter_is_named(#[case] json: &str, #[case] name: &str) {
    match pipesec_engine::params::parse::<Params>(Some(json)) {
        Err(err @ Error::InvalidParameter { .. }) => {
            assert!(err.to_string().contains(&format!("`{name}`")), "{err}");
        }
        other => panic!("{json}: expected InvalidParameter, got {other:?}"),
    }
}

fn sdk_build(id: &str, started: Timestamp, status: StatusType) -> SdkBuild {
    SdkBuild::builder().id(id).start_time(DateTime::from_millis(started.as_millisecond())).build_status(status).build()
}

/// Two projects: CloudTrail is read once per operation for both, over the baseline and the
/// window; builds are listed per project (newest first) and read in batches until the start of
/// the baseline; a deleted project is no error.
#[tokio::test]
async fn gather_reads_calls_once_and_builds_until_the_baseline() {
    let now = Timestamp::now();
    let ago = move |hours: i64| now - SignedDuration::from_hours(hours);
    let lookups = mock!(CloudTrail::lookup_events).then_compute_output(move |request| {
        let start = request.start_time().unwrap().to_millis().unwrap();
        let end = request.end_time().unwrap().to_millis().unwrap();
        assert_eq!(end - start, 31 * 24 * 3600 * 1000, "the baseline and the window");
        match request.lookup_attributes()[0].attribute_value() {
            "StartBuild" => LookupEventsOutput::builder().events(lookup_event(OVERRIDE, Some(ago(2)))).build(),
            _ => LookupEventsOutput::builder().build(),
        }
    });
    let gone = mock!(CodeBuild::list_builds_for_project)
        .match_requests(|request| request.project_name() == Some("retired"))
        .then_error(|| {
            ListBuildsForProjectError::ResourceNotFoundException(ResourceNotFoundException::builder().build())
        });
    let listed = mock!(CodeBuild::list_builds_for_project).then_compute_output(|request| {
        assert_eq!(request.project_name(), Some("api-service"));
        assert_eq!(request.sort_order(), Some(&SortOrderType::Descending));
        match request.next_token() {
            None => {
                ListBuildsForProjectOutput::builder().ids("api-service:1").ids("api-service:2").next_token("2").build()
            }
            Some("2") => ListBuildsForProjectOutput::builder().ids("api-service:3").next_token("3").build(),
            Some(other) => panic!("read past the baseline: {other}"),
        }
    });
    let read = mock!(CodeBuild::batch_get_builds).then_compute_output(move |request| {
        let builds = request.ids().iter().map(|id| match id.as_str() {
            "api-service:1" => sdk_build(id, ago(1), StatusType::Failed),
            "api-service:2" => sdk_build(id, ago(48), StatusType::Succeeded),
            _ => sdk_build(id, ago(24 * 40), StatusType::Succeeded),
        });
        BatchGetBuildsOutput::builder().set_builds(Some(builds.collect())).build()
    });
    let aws = Aws::for_tests()
        .with_cloudtrail(mock_client!(aws_sdk_cloudtrail, RuleMode::MatchAny, [&lookups], |config| config
            .sleep_impl(instant_sleep())))
        .with_codebuild(mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&gone, &listed, &read]));
    let mut retired = subject::<CodeBuildProject>(ID, "project");
    retired.resource.name = Some("retired".to_owned());
    let projects = vec![subject(ID, "project"), retired];

    let facts = BuildAnomalies::gather(&aws, &Params::default(), &projects).await.unwrap();

    assert_eq!(lookups.num_calls(), OPERATIONS.len());
    assert_eq!((listed.num_calls(), read.num_calls(), gone.num_calls()), (2, 2, 1));
    assert!(Arc::ptr_eq(&facts[0].calls, &facts[1].calls), "calls read once, shared");
    let statuses: Vec<&str> = facts[0].builds.as_ref().unwrap().iter().map(|b| b.status.as_str()).collect();
    assert_eq!(statuses, ["FAILED", "SUCCEEDED"], "the build before the baseline is left out");
    assert_eq!(facts[1].builds, None);
    let verdict = BuildAnomalies::evaluate(&projects[0], &facts[0], &Params::default());
    assert_eq!(verdict.compliance, Compliance::NonCompliant, "{}", verdict.reason);
    assert!(verdict.reason.contains("buildspecOverride ×1"), "{}", verdict.reason);
}
