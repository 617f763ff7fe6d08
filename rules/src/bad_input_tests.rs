//! The bad-input matrix: malformed, mistyped, missing, unknown, empty, oversized and odd inputs
//! through the real engine and real rules (AWS clients mocked), each with the error or verdict it
//! must produce. Nothing may panic, lose an evaluation silently, or report a value.

use std::sync::{Arc, Mutex};

use aws_sdk_config::Client as ConfigClient;
use aws_sdk_config::operation::put_evaluations::PutEvaluationsOutput;
use aws_sdk_config::types::Evaluation as SdkEvaluation;
use aws_smithy_mocks::{Rule as MockRule, RuleMode, mock, mock_client};
use pipesec_engine::Handler;
use pipesec_engine::engine::Engine;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Aws, ConfigurationItem, Rule};
use rstest::rstest;
use serde_json::{Value, json};

use crate::codebuild_project_no_plaintext_secrets::NoPlaintextSecrets;
use crate::codebuild_project_privileged_mode_disabled::PrivilegedModeDisabled;
use crate::codepipeline_approval_before_deploy::ApprovalBeforeDeploy;
use crate::testing::fixture_path;

/// What an invocation must come to.
#[derive(Debug)]
enum Expect {
    Error(&'static str),
    /// Reported evaluations' compliance values, in order.
    Reported(&'static [&'static str]),
}

fn item_of(rule_id: &str, scenario: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_path(rule_id, scenario)).unwrap()).unwrap()
}

fn change_event(item: &Value) -> Value {
    json!({
        "version": "1.0",
        "invokingEvent": json!({"configurationItem": item, "configurationItemDiff": null,
            "notificationCreationTime": "2026-11-20T09:16:01.517Z",
            "messageType": "ConfigurationItemChangeNotification", "recordVersion": "1.3"}).to_string(),
        "resultToken": "token",
        "eventLeftScope": false,
        "configRuleName": "rule",
        "accountId": "123456789012",
    })
}

fn project() -> Value {
    item_of("codebuild-project-privileged-mode-disabled", "non-compliant-privileged")
}

fn edited(edit: impl FnOnce(&mut Value)) -> Value {
    let mut event = change_event(&project());
    edit(&mut event);
    event
}

fn with_item(edit: impl FnOnce(&mut Value)) -> Value {
    let mut item = project();
    edit(&mut item);
    change_event(&item)
}

fn recording_put() -> (MockRule, Arc<Mutex<Vec<SdkEvaluation>>>) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&sent);
    let rule = mock!(ConfigClient::put_evaluations).then_compute_output(move |request| {
        sink.lock().unwrap().extend(request.evaluations().iter().cloned());
        PutEvaluationsOutput::builder().build()
    });
    (rule, sent)
}

async fn run<R: Rule>(event: Value) -> (Result<pipesec_engine::Outcome, pipesec_engine::Error>, Vec<SdkEvaluation>) {
    let (put, sent) = recording_put();
    let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&put]);
    let aws = Aws::for_tests().with_config(config);
    let engine = Engine::<R>::with_clients(aws);
    let result = engine.handle(event).await;
    let sent = sent.lock().unwrap().clone();
    (result, sent)
}

fn check(result: &Result<pipesec_engine::Outcome, pipesec_engine::Error>, sent: &[SdkEvaluation], expect: &Expect) {
    match expect {
        Expect::Error(error_type) => {
            let err = result.as_ref().expect_err("expected an error");
            assert_eq!(err.error_type(), *error_type, "{err}");
            assert!(sent.is_empty(), "nothing is reported for a bad event");
        }
        Expect::Reported(values) => {
            assert!(result.is_ok(), "{:?}", result.as_ref().err().map(ToString::to_string));
            let reported: Vec<&str> = sent.iter().map(|e| e.compliance_type().as_str()).collect();
            assert_eq!(reported, *values);
            for evaluation in sent {
                assert!(evaluation.annotation().is_none_or(|a| a.chars().count() <= 256));
            }
        }
    }
}

#[rstest]
#[case::not_json_in_invoking_event(edited(|e| e["invokingEvent"] = json!("{not json")), Expect::Error("InvalidEventException"))]
#[case::invoking_event_as_object(edited(|e| e["invokingEvent"] = json!({})), Expect::Error("InvalidEventException"))]
#[case::event_left_scope_as_text(edited(|e| e["eventLeftScope"] = json!("yes")), Expect::Error("InvalidEventException"))]
#[case::missing_result_token(edited(|e| { e.as_object_mut().unwrap().remove("resultToken"); }), Expect::Error("InvalidEventException"))]
#[case::missing_rule_name(edited(|e| { e.as_object_mut().unwrap().remove("configRuleName"); }), Expect::Error("InvalidEventException"))]
#[case::empty_payload(json!({}), Expect::Error("InvalidEventException"))]
#[case::payload_is_a_list(json!([1, 2, 3]), Expect::Error("InvalidEventException"))]
#[case::unknown_message_type(edited(|e| e["invokingEvent"] = json!(json!({"messageType": "ComplianceChangeNotification"}).to_string())), Expect::Error("InvalidEventException"))]
#[case::missing_configuration_item(edited(|e| e["invokingEvent"] = json!(json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": null}).to_string())), Expect::Error("InvalidEventException"))]
#[case::missing_resource_id(with_item(|i| { i.as_object_mut().unwrap().remove("resourceId"); }), Expect::Error("InvalidConfigurationItemException"))]
#[case::missing_capture_time(with_item(|i| { i.as_object_mut().unwrap().remove("configurationItemCaptureTime"); }), Expect::Error("InvalidConfigurationItemException"))]
#[case::capture_time_as_epoch_number(with_item(|i| i["configurationItemCaptureTime"] = json!(1_795_166_142.123)), Expect::Reported(&["NON_COMPLIANT"]))]
#[case::privileged_mode_as_list(with_item(|i| i["configuration"]["environment"]["privilegedMode"] = json!([true])), Expect::Error("InvalidConfigurationItemException"))]
#[case::privileged_mode_as_text(with_item(|i| i["configuration"]["environment"]["privilegedMode"] = json!("true")), Expect::Reported(&["NON_COMPLIANT"]))]
#[case::configuration_as_json_string(with_item(|i| i["configuration"] = json!(i["configuration"].to_string())), Expect::Reported(&["NON_COMPLIANT"]))]
#[case::configuration_null(with_item(|i| i["configuration"] = Value::Null), Expect::Error("InvalidConfigurationItemException"))]
#[case::unknown_resource_type(with_item(|i| i["resourceType"] = json!("AWS::Example::Thing")), Expect::Reported(&["NOT_APPLICABLE"]))]
#[case::deleted(with_item(|i| { i["configurationItemStatus"] = json!("ResourceDeleted"); i["configuration"] = Value::Null; }), Expect::Reported(&["NOT_APPLICABLE"]))]
#[case::deleted_not_recorded(with_item(|i| i["configurationItemStatus"] = json!("ResourceDeletedNotRecorded")), Expect::Reported(&["NOT_APPLICABLE"]))]
#[case::left_scope(edited(|e| e["eventLeftScope"] = json!(true)), Expect::Reported(&["NOT_APPLICABLE"]))]
#[case::unknown_status(with_item(|i| i["configurationItemStatus"] = json!("SomethingNew")), Expect::Reported(&["NON_COMPLIANT"]))]
#[case::control_characters_in_names(with_item(|i| { i["resourceName"] = json!("a\u{0}b\u{1b}[31m"); i["configuration"]["name"] = json!("a\u{0}b\u{7}"); }), Expect::Reported(&["NON_COMPLIANT"]))]
#[case::parameters_not_json(edited(|e| e["ruleParameters"] = json!("{exemptedProjects")), Expect::Error("InvalidParameterValueException"))]
#[case::parameters_as_list(edited(|e| e["ruleParameters"] = json!("[]")), Expect::Error("InvalidParameterValueException"))]
#[case::unknown_parameter(edited(|e| e["ruleParameters"] = json!(r#"{"exemptedProject": "x"}"#)), Expect::Error("InvalidParameterValueException"))]
#[case::parameter_of_wrong_type(edited(|e| e["ruleParameters"] = json!(r#"{"exemptedProjects": {"a": 1}}"#)), Expect::Error("InvalidParameterValueException"))]
#[case::empty_parameters(edited(|e| e["ruleParameters"] = json!("")), Expect::Reported(&["NON_COMPLIANT"]))]
#[case::oversized_parameter(edited(|e| e["ruleParameters"] = json!(json!({"exemptedProjects": "p,".repeat(50_000)}).to_string())), Expect::Reported(&["NON_COMPLIANT"]))]
#[tokio::test]
async fn privileged_mode_rule(#[case] event: Value, #[case] expect: Expect) {
    let (result, sent) = run::<PrivilegedModeDisabled>(event).await;
    check(&result, &sent, &expect);
}

#[tokio::test]
async fn duplicate_events_report_the_same_evaluation_twice() {
    let event = change_event(&project());
    let (first, sent_first) = run::<PrivilegedModeDisabled>(event.clone()).await;
    let (second, sent_second) = run::<PrivilegedModeDisabled>(event).await;
    assert!(first.is_ok() && second.is_ok());
    assert_eq!(sent_first, sent_second, "the same event gives the same, not a contradictory, evaluation");
}

#[tokio::test]
async fn huge_environment_variable_lists_are_evaluated_without_leaking() {
    let mut item = item_of("codebuild-project-no-plaintext-secrets", "non-compliant-secret-name");
    let variables: Vec<Value> = (0..10_000)
        .map(|i| json!({"name": format!("SETTING_{i}"), "value": format!("value-{i}"), "type": "PLAINTEXT"}))
        .chain([json!({"name": "ZZ_API_TOKEN", "value": "huge-list-canary-Tok3n", "type": "PLAINTEXT"})])
        .collect();
    item["configuration"]["environment"]["environmentVariables"] = Value::Array(variables);
    let (result, sent) = run::<NoPlaintextSecrets>(change_event(&item)).await;
    check(&result, &sent, &Expect::Reported(&["NON_COMPLIANT"]));
    let annotation = sent[0].annotation().unwrap();
    assert!(annotation.contains("`ZZ_API_TOKEN`") || annotation.ends_with("[…]"), "{annotation}");
    assert!(!annotation.contains("canary"), "{annotation}");
}

#[tokio::test]
async fn huge_pipelines_are_evaluated() {
    let mut item = item_of("codepipeline-approval-before-deploy", "non-compliant-no-approval");
    let stages: Vec<Value> = (0..50)
        .map(|s| {
            let actions: Vec<Value> = (0..50)
                .map(|a| {
                    json!({"name": format!("A{a}"), "runOrder": a % 5 + 1, "configuration": {"K": "v"},
                           "actionTypeId": {"category": if s == 49 { "Deploy" } else { "Build" }, "owner": "AWS",
                                            "provider": "CodeBuild", "version": "1"}})
                })
                .collect();
            json!({"name": format!("Stage{s}"), "actions": actions})
        })
        .collect();
    item["configuration"]["pipeline"]["stages"] = Value::Array(stages);
    let (result, sent) = run::<ApprovalBeforeDeploy>(change_event(&item)).await;
    check(&result, &sent, &Expect::Reported(&["NON_COMPLIANT"]));
    assert!(sent[0].annotation().unwrap().ends_with("[…]"), "50 unapproved deploy actions do not fit: cut visibly");
}

/// The fixtures of `rule_id` as they are, then every field of their `configuration` (each path
/// once, from the first fixture that has it) replaced in turn by null and by a value of another
/// JSON type: the items, labelled.
fn wrong_type_items(rule_id: &str) -> Vec<(String, Value)> {
    let directory = fixture_path(rule_id, "x").parent().unwrap().to_owned();
    let mut paths = std::fs::read_dir(&directory).unwrap().map(|entry| entry.unwrap().path()).collect::<Vec<_>>();
    paths.sort();
    let mut seen = std::collections::HashSet::new();
    let mut items = Vec::new();
    for path in paths {
        let item: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        if item.get("resourceType").is_none() {
            continue; // not an item (e.g. an IAM account description)
        }
        let mut pointers = Vec::new();
        leaf_pointers(&item["configuration"], "/configuration", &mut pointers);
        let scenario = path.file_stem().unwrap().to_string_lossy().into_owned();
        items.push((scenario.clone(), item.clone()));
        for pointer in pointers.into_iter().filter(|pointer| seen.insert(pointer.clone())) {
            let original = item.pointer(&pointer).unwrap();
            let swapped = match original {
                Value::String(_) => json!(["a list", 1]),
                Value::Number(_) | Value::Bool(_) => json!({"an": "object"}),
                Value::Array(_) | Value::Object(_) => json!("a string"),
                Value::Null => json!(7),
            };
            for replacement in [Value::Null, swapped] {
                let mut mutated = item.clone();
                *mutated.pointer_mut(&pointer).unwrap() = replacement.clone();
                items.push((format!("{scenario}: {pointer} = {replacement}"), mutated));
            }
        }
    }
    items
}

/// [`wrong_type_items`] in change events (the unmutated fixtures are left out: their verdicts
/// are the rules' own tests).
fn wrong_type_events(rule_id: &str) -> Vec<(String, Value)> {
    wrong_type_items(rule_id)
        .into_iter()
        .filter(|(label, _)| label.contains(" = "))
        .map(|(label, item)| (label, change_event(&item)))
        .collect()
}

/// JSON pointers of every member and list element under `value`, containers included.
fn leaf_pointers(value: &Value, at: &str, into: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(members) => {
            members.iter().map(|(key, member)| (key.replace('~', "~0").replace('/', "~1"), member)).collect()
        }
        Value::Array(items) => items.iter().enumerate().map(|(index, item)| (index.to_string(), item)).collect(),
        _ => return,
    };
    for (key, child) in children {
        let pointer = format!("{at}/{key}");
        into.push(pointer.clone());
        leaf_pointers(child, &pointer, into);
    }
}

/// Runs every wrong-type event of one rule through the engine, with AWS clients that refuse
/// every read (a rule that needs one fails with a clear error): the problems found.
#[derive(Clone, Copy)]
struct WrongTypes;

impl pipesec_engine::RuleVisitor for WrongTypes {
    type Output = Vec<String>;

    fn visit<R: Rule>(self) -> Vec<String> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (put, sent) = recording_put();
        let config = mock_client!(aws_sdk_config, RuleMode::MatchAny, [&put]);
        let engine = Engine::<R>::with_clients(Aws::offline().with_config(config));
        let mut problems = Vec::new();
        for (label, event) in wrong_type_events(R::ID) {
            sent.lock().unwrap().clear();
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(engine.handle(event))));
            let sent = sent.lock().unwrap().clone();
            match outcome {
                Err(_) => problems.push(format!("{}: {label}: panicked", R::ID)),
                Ok(Err(err)) if !sent.is_empty() => {
                    problems.push(format!("{}: {label}: failed ({err}) after reporting {}", R::ID, sent.len()));
                }
                Ok(Ok(_)) if sent.len() != 1 => {
                    problems.push(format!("{}: {label}: reported {} evaluations", R::ID, sent.len()));
                }
                Ok(Ok(_)) if sent[0].annotation().is_some_and(|a| a.chars().count() > 256) => {
                    problems.push(format!("{}: {label}: annotation over 256 characters", R::ID));
                }
                Ok(_) => {}
            }
        }
        problems
    }
}

/// The wrong-types part of the matrix, generated: every rule, every fixture, every field.
/// Outcome: exactly one evaluation, or a clear error having reported nothing; never a panic.
#[test]
fn every_rule_survives_every_field_of_the_wrong_type() {
    assert_no_problems_in_any_rule(WrongTypes);
}

/// Runs a check on every rule of the catalog; fails listing every problem found.
fn assert_no_problems_in_any_rule<V: pipesec_engine::RuleVisitor<Output = Vec<String>> + Copy>(check: V) {
    let problems: Vec<String> =
        crate::catalog().iter().flat_map(|rule| crate::with_rule(rule.id, check).unwrap()).collect();
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

/// The sweep reads an item in one pass, or leaves it to the two steps of a change event
/// (`from_json`, `from_item`): the subject must be the same either way, and every fixture as it
/// is must be read in one pass.
#[derive(Clone, Copy)]
struct OnePassRead;

impl pipesec_engine::RuleVisitor for OnePassRead {
    type Output = Vec<String>;

    fn visit<R: Rule>(self) -> Vec<String> {
        let mut problems = Vec::new();
        for (label, item) in wrong_type_items(R::ID) {
            let json = item.to_string();
            let two_steps = ConfigurationItem::from_json(&json).and_then(Subject::<R::Resource>::from_item);
            match (Subject::<R::Resource>::read_in_one_pass(&json), two_steps) {
                (Some(one), Ok(two)) if format!("{one:?}") != format!("{two:?}") => {
                    problems.push(format!("{}: {label}: one pass read {one:?}, two steps {two:?}", R::ID));
                }
                (Some(_), Err(err)) => {
                    problems.push(format!("{}: {label}: one pass read what two steps reject: {err}", R::ID));
                }
                (None, Ok(_)) if !label.contains(" = ") => {
                    problems.push(format!("{}: {label}: not read in one pass", R::ID));
                }
                _ => {}
            }
        }
        problems
    }
}

#[test]
fn one_pass_and_two_step_reads_agree() {
    assert_no_problems_in_any_rule(OnePassRead);
}
