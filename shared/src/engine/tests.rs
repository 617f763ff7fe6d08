//! The engine against mocked AWS clients: what it sends for each trigger, and how it handles
//! what comes back.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_config::Client as Config;
use aws_sdk_config::operation::get_compliance_details_by_config_rule::GetComplianceDetailsByConfigRuleOutput;
use aws_sdk_config::operation::get_resource_config_history::GetResourceConfigHistoryOutput;
use aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput;
use aws_sdk_config::operation::select_resource_config::SelectResourceConfigOutput;
use aws_sdk_config::types::{
    ComplianceType, ConfigurationItem as SdkItem, ConfigurationItemStatus, Evaluation as SdkEvaluation,
    EvaluationResult, EvaluationResultIdentifier, EvaluationResultQualifier,
};
use aws_smithy_mocks::{Rule as MockRule, RuleMode, mock, mock_client};
use serde_json::Value;

use super::*;
use crate::NoParameters;
use crate::aws::retry_config;
use crate::lambda::Handler;
use crate::resources::CodeBuildProject;
use crate::rule::{Area, Severity};
use crate::verdict::Verdict;

/// A rule that only looks at privileged mode: enough to see the engine's behaviour.
struct Privileged;

impl Rule for Privileged {
    const ID: &'static str = "test-privileged";
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::Infrastructure;
    const WEIGHT: u32 = 1;
    const REMEDIATION: &'static str = "Turn privileged mode off.";
    type Resource = CodeBuildProject;
    type Params = NoParameters;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildProject>, (): &(), _: &NoParameters) -> Verdict {
        if subject.resource.environment.privileged_mode {
            Verdict::non_compliant("privileged")
        } else {
            Verdict::compliant("unprivileged")
        }
    }
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// [`Privileged`], swept two resources at a time.
struct Chunked;

impl Rule for Chunked {
    const ID: &'static str = "test-chunked";
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::Infrastructure;
    const WEIGHT: u32 = 1;
    const REMEDIATION: &'static str = "Turn privileged mode off.";
    const SWEEP_CHUNK: Option<NonZeroUsize> = NonZeroUsize::new(2);
    type Resource = CodeBuildProject;
    type Params = NoParameters;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildProject>, facts: &(), params: &NoParameters) -> Verdict {
        Privileged::evaluate(subject, facts, params)
    }
}

fn engine(rules: &[&MockRule]) -> Engine<Privileged> {
    engine_of(rules)
}

fn engine_of<R: Rule>(rules: &[&MockRule]) -> Engine<R> {
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, rules, |c| c.retry_config(retry_config()));
    let aws = Aws::for_tests().with_config(config);
    Engine::with_clients(aws)
}

/// A PutEvaluations mock that keeps every evaluation it was sent.
fn recording_put() -> (MockRule, Arc<Mutex<Vec<SdkEvaluation>>>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&sent);
    let rule = mock!(Config::put_evaluations).then_compute_output(move |request| {
        sink.lock().unwrap().extend(request.evaluations().iter().cloned());
        PutEvaluationsOutput::builder().build()
    });
    (rule, sent)
}

fn time(text: &str) -> DateTime {
    DateTime::from_str(text, aws_sdk_config::primitives::DateTimeFormat::DateTime).unwrap()
}

fn history_item() -> SdkItem {
    let api = fixture("history-item.json");
    SdkItem::builder()
        .resource_type(ResourceType::from(api["resourceType"].as_str().unwrap()))
        .resource_id(api["resourceId"].as_str().unwrap())
        .resource_name(api["resourceName"].as_str().unwrap())
        .arn(api["arn"].as_str().unwrap())
        .account_id(api["accountId"].as_str().unwrap())
        .configuration_item_status(ConfigurationItemStatus::Ok)
        .configuration_item_capture_time(DateTime::from_secs_f64(api["configurationItemCaptureTime"].as_f64().unwrap()))
        .configuration(api["configuration"].as_str().unwrap())
        .build()
}

fn select_rows(range: std::ops::Range<usize>) -> Vec<String> {
    range
        .map(|i| {
            let mut row = fixture("select-row.json");
            row["resourceId"] = Value::from(format!("project-{i:03}"));
            row["configuration"]["environment"]["privilegedMode"] = Value::from(i % 2 == 0);
            row.to_string()
        })
        .collect()
}

fn compliance_result(resource_id: &str, compliance: ComplianceType) -> EvaluationResult {
    let qualifier = EvaluationResultQualifier::builder()
        .config_rule_name("codebuild-project-privileged-mode-disabled")
        .resource_type("AWS::CodeBuild::Project")
        .resource_id(resource_id)
        .build();
    EvaluationResult::builder()
        .evaluation_result_identifier(
            EvaluationResultIdentifier::builder().evaluation_result_qualifier(qualifier).build(),
        )
        .compliance_type(compliance)
        .build()
}

/// A COMPLIANT result Config recorded at `recorded` (seconds since the epoch).
fn result_recorded_at(resource_id: &str, recorded: i64) -> EvaluationResult {
    let mut result = compliance_result(resource_id, ComplianceType::Compliant);
    result.result_recorded_time = Some(DateTime::from_secs(recorded));
    result
}

/// Five projects: 001 and 003 evaluated before (003 most recently), the others never, and the
/// result of a deleted project to clear.
fn chunked_sweep_mocks() -> (MockRule, MockRule) {
    let select = mock!(Config::select_resource_config)
        .then_output(|| SelectResourceConfigOutput::builder().set_results(Some(select_rows(0..5))).build());
    let previous = mock!(Config::get_compliance_details_by_config_rule).then_output(|| {
        GetComplianceDetailsByConfigRuleOutput::builder()
            .evaluation_results(result_recorded_at("project-003", 200))
            .evaluation_results(result_recorded_at("project-001", 100))
            .evaluation_results(result_recorded_at("deleted-project", 50))
            .build()
    });
    (select, previous)
}

fn sent_ids(sent: &Mutex<Vec<SdkEvaluation>>) -> Vec<String> {
    sent.lock().unwrap().iter().map(|e| e.compliance_resource_id().to_owned()).collect()
}

#[tokio::test]
async fn sweep_out_of_time_reports_one_chunk_of_the_oldest_evaluated_and_counts_the_rest() {
    let (select, previous) = chunked_sweep_mocks();
    let (put, sent) = recording_put();
    // A deadline already past: the first chunk still runs, so that every sweep makes progress.
    let deadline = Some(SystemTime::now());
    let outcome = engine_of::<Chunked>(&[&select, &previous, &put])
        .handle_until(fixture("scheduled-event.json"), deadline)
        .await
        .unwrap();
    assert_eq!(sent_ids(&sent), ["deleted-project", "project-000", "project-002"], "never evaluated first");
    assert_eq!((outcome.evaluations, outcome.not_applicable, outcome.not_reached), (3, 1, 3));
}

#[tokio::test]
async fn sweep_with_time_evaluates_every_chunk_never_evaluated_then_oldest_first() {
    for deadline in [None, Some(SystemTime::now() + Duration::from_hours(1))] {
        let (select, previous) = chunked_sweep_mocks();
        let (put, sent) = recording_put();
        let outcome = engine_of::<Chunked>(&[&select, &previous, &put])
            .handle_until(fixture("scheduled-event.json"), deadline)
            .await
            .unwrap();
        let expected = ["deleted-project", "project-000", "project-002", "project-004", "project-001", "project-003"];
        assert_eq!(sent_ids(&sent), expected);
        assert_eq!((outcome.evaluations, outcome.not_reached), (6, 0));
        assert_eq!(put.num_calls(), 1, "evaluations from every chunk share PutEvaluations calls");
    }
}

#[test]
fn a_group_goes_by_its_oldest_member_and_stays_in_one_chunk() {
    // Even projects are privileged: two groups, "p" (000, 002, 004) and "u" (001, 003, 005).
    #[allow(clippy::unnecessary_wraps, reason = "the shape of a rule's sweep group")]
    fn group(subject: &Subject<CodeBuildProject>) -> Option<&str> {
        Some(if subject.resource.environment.privileged_mode { "p" } else { "u" })
    }
    let mut subjects: Vec<Subject<CodeBuildProject>> =
        select_rows(0..6).iter().map(|row| Subject::read_in_one_pass(row).unwrap()).collect();
    let previous: sweep::PreviousResults =
        [("project-001", 100), ("project-002", 50), ("project-004", 300), ("project-000", 200)]
            .into_iter()
            .map(|(id, recorded)| {
                (("AWS::CodeBuild::Project".to_owned(), id.to_owned()), DateTime::from_secs(recorded))
            })
            .collect();
    sweep::oldest_first(&mut subjects, &previous, group);
    let ids: Vec<&str> = subjects.iter().map(|subject| subject.item.resource_id.as_str()).collect();
    assert_eq!(
        ids,
        ["project-001", "project-003", "project-005", "project-000", "project-002", "project-004"],
        "\"u\" has resources never evaluated: it goes first, whole"
    );
    assert_eq!(sweep::chunk_ends(&subjects, 2, group), [3, 6], "a chunk of 2 grows to the end of its group");
    assert_eq!(sweep::chunk_ends(&subjects, 2, |_| None), [2, 4, 6]);
    assert_eq!(sweep::chunk_ends(&subjects[..0], 2, group), Vec::<usize>::new());
}

#[test]
fn a_budget_fits_a_chunk_as_long_as_the_longest_so_far_with_the_reserve_kept() {
    let now = SystemTime::now();
    let mut budget = sweep::Budget::new(Some(now + Duration::from_mins(1)));
    assert!(budget.fits_another_chunk());
    budget.chunk_took(Duration::from_secs(30));
    assert!(budget.fits_another_chunk(), "30 s + the 15 s reserve end before the deadline");
    budget.chunk_took(Duration::from_secs(50));
    assert!(!budget.fits_another_chunk(), "50 s + 15 s do not");
    assert!(sweep::Budget::new(None).fits_another_chunk());
}

#[tokio::test]
async fn change_event_reports_one_evaluation_at_the_capture_time() {
    let (put, sent) = recording_put();
    let outcome = engine(&[&put]).handle(fixture("change-event.json")).await.unwrap();
    assert_eq!(
        outcome,
        Outcome {
            rule: "test-privileged",
            evaluations: 1,
            compliant: 0,
            non_compliant: 1,
            not_applicable: 0,
            not_reached: 0
        }
    );
    let sent = sent.lock().unwrap();
    let evaluation = &sent[0];
    assert_eq!(evaluation.compliance_resource_type(), "AWS::CodeBuild::Project");
    assert_eq!(evaluation.compliance_resource_id(), "3f1e6f0a-8c1d-4b7e-9a52-0c5d2e7b9a11");
    assert_eq!(evaluation.compliance_type(), &ComplianceType::NonCompliant);
    assert_eq!(evaluation.annotation(), Some("privileged"));
    assert_eq!(evaluation.ordering_timestamp(), &time("2026-11-20T09:15:42.123Z"));
}

#[tokio::test]
async fn left_scope_and_deleted_items_are_not_applicable() {
    for edit in [
        |event: &mut Value| event["eventLeftScope"] = Value::from(true),
        |event: &mut Value| {
            let mut invoking: Value = serde_json::from_str(event["invokingEvent"].as_str().unwrap()).unwrap();
            invoking["configurationItem"]["configurationItemStatus"] = Value::from("ResourceDeleted");
            invoking["configurationItem"]["configuration"] = Value::Null;
            event["invokingEvent"] = Value::from(invoking.to_string());
        },
    ] {
        let mut event = fixture("change-event.json");
        edit(&mut event);
        let (put, sent) = recording_put();
        let outcome = engine(&[&put]).handle(event).await.unwrap();
        assert_eq!(outcome.not_applicable, 1);
        assert_eq!(sent.lock().unwrap()[0].compliance_type(), &ComplianceType::NotApplicable);
    }
}

#[tokio::test]
async fn test_mode_is_passed_to_put_evaluations() {
    let mut event = fixture("change-event.json");
    event["resultToken"] = Value::from("TESTMODE");
    let put = mock!(Config::put_evaluations)
        .match_requests(|request| request.test_mode() == Some(true) && request.result_token() == Some("TESTMODE"))
        .then_output(|| PutEvaluationsOutput::builder().build());
    engine(&[&put]).handle(event).await.unwrap();
    assert_eq!(put.num_calls(), 1);
}

#[tokio::test]
async fn oversized_event_reads_the_item_at_its_capture_time() {
    let capture = time("2026-11-20T09:15:42.123Z");
    let history = mock!(Config::get_resource_config_history)
        .match_requests(move |request| {
            request.limit() == Some(1)
                && request.later_time() == Some(&capture)
                && request.resource_id() == Some("3f1e6f0a-8c1d-4b7e-9a52-0c5d2e7b9a11")
        })
        .then_output(|| GetResourceConfigHistoryOutput::builder().configuration_items(history_item()).build());
    let (put, sent) = recording_put();
    let outcome = engine(&[&history, &put]).handle(fixture("oversized-event.json")).await.unwrap();
    assert_eq!(history.num_calls(), 1);
    assert_eq!(outcome.non_compliant, 1);
    assert_eq!(sent.lock().unwrap()[0].ordering_timestamp(), &capture);
}

#[tokio::test]
async fn oversized_deleted_resource_is_not_applicable_without_a_read() {
    let mut event = fixture("oversized-event.json");
    let mut invoking: Value = serde_json::from_str(event["invokingEvent"].as_str().unwrap()).unwrap();
    invoking["configurationItemSummary"]["configurationItemStatus"] = Value::from("ResourceDeleted");
    event["invokingEvent"] = Value::from(invoking.to_string());
    let history =
        mock!(Config::get_resource_config_history).then_output(|| GetResourceConfigHistoryOutput::builder().build());
    let (put, _) = recording_put();
    let outcome = engine(&[&history, &put]).handle(event).await.unwrap();
    assert_eq!((outcome.not_applicable, history.num_calls()), (1, 0));
}

#[tokio::test]
async fn oversized_item_missing_from_history_is_an_error() {
    let history =
        mock!(Config::get_resource_config_history).then_output(|| GetResourceConfigHistoryOutput::builder().build());
    let (put, _) = recording_put();
    let err = engine(&[&history, &put]).handle(fixture("oversized-event.json")).await.unwrap_err();
    assert_eq!(err.error_type(), "ResourceNotDiscoveredException");
    assert_eq!(put.num_calls(), 0);
}

#[tokio::test]
async fn sweep_pages_the_inventory_batches_reports_and_clears_stale_results() {
    let select = mock!(Config::select_resource_config).then_compute_output(|request| {
        assert!(request.expression().unwrap().contains("resourceType = 'AWS::CodeBuild::Project'"));
        match request.next_token() {
            None => SelectResourceConfigOutput::builder()
                .set_results(Some(select_rows(0..100)))
                .next_token("page-2")
                .build(),
            Some(_) => SelectResourceConfigOutput::builder().set_results(Some(select_rows(100..150))).build(),
        }
    });
    let previous = mock!(Config::get_compliance_details_by_config_rule)
        .match_requests(|request| request.config_rule_name() == Some("codebuild-project-privileged-mode-disabled"))
        .then_output(|| {
            GetComplianceDetailsByConfigRuleOutput::builder()
                .evaluation_results(compliance_result("project-007", ComplianceType::NonCompliant))
                .evaluation_results(compliance_result("deleted-project", ComplianceType::NonCompliant))
                .build()
        });
    let (put, sent) = recording_put();
    let outcome = engine(&[&select, &previous, &put]).handle(fixture("scheduled-event.json")).await.unwrap();
    assert_eq!(select.num_calls(), 2);
    assert_eq!(put.num_calls(), 2, "151 evaluations: 100 + 51");
    assert_eq!(
        outcome,
        Outcome {
            rule: "test-privileged",
            evaluations: 151,
            compliant: 75,
            non_compliant: 75,
            not_applicable: 1,
            not_reached: 0
        }
    );
    let sent = sent.lock().unwrap();
    let stale = sent.iter().find(|e| e.compliance_resource_id() == "deleted-project").unwrap();
    assert_eq!(stale.compliance_type(), &ComplianceType::NotApplicable);
    assert!(sent.iter().all(|e| e.ordering_timestamp() == &time("2026-11-21T00:00:00.000Z")));
}

#[tokio::test]
async fn unreadable_sweep_item_is_reported_after_the_others_and_skips_clean_up() {
    let select = mock!(Config::select_resource_config).then_output(|| {
        let mut rows = select_rows(0..3);
        rows.push(r#"{"resourceId": "broken", "resourceType": "AWS::CodeBuild::Project", "configurationItemCaptureTime": "2026-11-20T09:15:42.123Z", "configuration": {"environment": {"privilegedMode": [1]}}}"#.to_owned());
        SelectResourceConfigOutput::builder().set_results(Some(rows)).build()
    });
    let previous = mock!(Config::get_compliance_details_by_config_rule)
        .then_output(|| GetComplianceDetailsByConfigRuleOutput::builder().build());
    let (put, sent) = recording_put();
    let err = engine(&[&select, &previous, &put]).handle(fixture("scheduled-event.json")).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidConfigurationItemException");
    assert!(
        err.to_string().contains("`broken`") && err.to_string().contains("configuration.environment.privilegedMode"),
        "{err}"
    );
    let sent = sent.lock().unwrap();
    assert_eq!(sent.len(), 3, "the readable items are still reported, no stale result cleared: {sent:?}");
    assert!(sent.iter().all(|e| e.compliance_type() != &ComplianceType::NotApplicable));
}

/// Items the one-pass read leaves to the two-step one: a deleted resource without configuration
/// (skipped, and its old result cleared) and a configuration in the API model's JSON string.
#[tokio::test]
async fn sweep_reads_deleted_and_api_model_items_the_usual_way() {
    let select = mock!(Config::select_resource_config).then_output(|| {
        let mut rows = select_rows(0..2);
        let mut deleted = fixture("select-row.json");
        deleted["resourceId"] = Value::from("deleted-project");
        deleted["configurationItemStatus"] = Value::from("ResourceDeleted");
        deleted["configuration"] = Value::Null;
        let mut api_model = fixture("select-row.json");
        api_model["resourceId"] = Value::from("api-model-project");
        api_model["configuration"] = Value::from(api_model["configuration"].to_string());
        rows.extend([deleted.to_string(), api_model.to_string()]);
        SelectResourceConfigOutput::builder().set_results(Some(rows)).build()
    });
    let previous = mock!(Config::get_compliance_details_by_config_rule).then_output(|| {
        GetComplianceDetailsByConfigRuleOutput::builder()
            .evaluation_results(compliance_result("deleted-project", ComplianceType::NonCompliant))
            .evaluation_results(compliance_result("api-model-project", ComplianceType::NonCompliant))
            .build()
    });
    let (put, sent) = recording_put();
    let outcome = engine(&[&select, &previous, &put]).handle(fixture("scheduled-event.json")).await.unwrap();
    let sent = sent.lock().unwrap();
    let compliance =
        |id: &str| sent.iter().find(|e| e.compliance_resource_id() == id).map(|e| e.compliance_type().clone());
    assert_eq!(outcome.evaluations, 4, "{sent:?}");
    assert_eq!(compliance("deleted-project"), Some(ComplianceType::NotApplicable), "the stale result is cleared");
    let privileged = fixture("select-row.json")["configuration"]["environment"]["privilegedMode"].as_bool().unwrap();
    let expected = if privileged { ComplianceType::NonCompliant } else { ComplianceType::Compliant };
    assert_eq!(compliance("api-model-project"), Some(expected), "evaluated from the configuration string");
}

#[tokio::test]
async fn rejected_evaluations_are_sent_again() {
    let put = mock!(Config::put_evaluations)
        .sequence()
        .output(|| {
            let failed = SdkEvaluation::builder()
                .compliance_resource_type("AWS::CodeBuild::Project")
                .compliance_resource_id("3f1e6f0a-8c1d-4b7e-9a52-0c5d2e7b9a11")
                .compliance_type(ComplianceType::NonCompliant)
                .ordering_timestamp(DateTime::from_secs(0))
                .build()
                .unwrap();
            PutEvaluationsOutput::builder().failed_evaluations(failed).build()
        })
        .output(|| PutEvaluationsOutput::builder().build())
        .build();
    engine(&[&put]).handle(fixture("change-event.json")).await.unwrap();
    assert_eq!(put.num_calls(), 2);
}

#[tokio::test]
async fn evaluations_rejected_every_time_are_an_error() {
    let put = mock!(Config::put_evaluations).then_compute_output(|request| {
        PutEvaluationsOutput::builder().set_failed_evaluations(Some(request.evaluations().to_vec())).build()
    });
    let err = engine(&[&put]).handle(fixture("change-event.json")).await.unwrap_err();
    assert_eq!(err.error_type(), "FailedEvaluationsException");
    assert_eq!(put.num_calls(), 3);
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk() {
    let throttled = r#"{"__type": "ThrottlingException", "message": "Rate exceeded"}"#;
    let put = mock!(Config::put_evaluations)
        .sequence()
        .http_status(400, Some(throttled.to_owned()))
        .times(2)
        .output(|| PutEvaluationsOutput::builder().build())
        .build();
    engine(&[&put]).handle(fixture("change-event.json")).await.unwrap();
    assert_eq!(put.num_calls(), 3);
}

#[tokio::test]
async fn access_denied_names_the_principal_and_the_action() {
    let denied = r#"{"__type": "AccessDeniedException", "message": "not authorized to perform config:PutEvaluations"}"#;
    let put = mock!(Config::put_evaluations).sequence().http_status(400, Some(denied.to_owned())).build();
    let err = engine(&[&put]).handle(fixture("change-event.json")).await.unwrap_err();
    assert_eq!(err.error_type(), "AccessDeniedException");
    let message = err.to_string();
    assert!(
        message.contains("the function's execution role") && message.contains("config:PutEvaluations"),
        "{message}"
    );
}

#[tokio::test]
async fn bad_parameters_fail_before_any_call() {
    let mut event = fixture("change-event.json");
    event["ruleParameters"] = Value::from(r#"{"maxAge": "90"}"#);
    let (put, _) = recording_put();
    let err = engine(&[&put]).handle(event).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidParameterValueException");
    assert!(err.to_string().contains("`maxAge`"));
    assert_eq!(put.num_calls(), 0);
}

#[tokio::test]
async fn diagnostic_carries_the_stable_error_type() {
    let (put, _) = recording_put();
    let err = engine(&[&put]).handle(serde_json::json!({"invokingEvent": 3})).await.unwrap_err();
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "InvalidEventException");
}
