//! The hook contract on requests written from the Hooks user guide's shape (hook/fixtures/),
//! with clients that never reach AWS: a rule that needs a live read is SKIPPED with the reason.

use std::collections::HashMap;
use std::path::Path;

use pipesec_engine::{Aws, Severity};
use serde_json::{Value, json};

use super::*;
use crate::response::{ErrorCode, HookStatus};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// A made-up token in the fixtures' pipeline: never in a response.
const CANARY: &str = "ghp_CanaryHookToken0123456789abcdefABCD";

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(ROOT).join("fixtures").join(format!("{name}.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn function(env: &[(&str, &str)]) -> Function {
    let env: HashMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Function::with_settings(Aws::offline(), Settings::from_env(|name| env.get(name).cloned()))
}

fn answer(function: &Function, request: Value) -> HookResponse {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(function.answer(request))
}

fn status_of<'a>(response: &'a HookResponse, rule: &str) -> &'a Annotation {
    response
        .annotations
        .iter()
        .find(|annotation| annotation.annotation_name == rule)
        .unwrap_or_else(|| panic!("no annotation for {rule}: {response:#?}"))
}

fn properties(request: &mut Value) -> &mut Value {
    &mut request["requestData"]["targetModel"]["resourceProperties"]
}

/// Every boolean and number as the string CloudFormation passes hooks.
fn stringified(value: &Value) -> Value {
    match value {
        Value::Bool(flag) => Value::from(flag.to_string()),
        Value::Number(number) => Value::from(number.to_string()),
        Value::Array(items) => items.iter().map(stringified).collect(),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), stringified(v))).collect()),
        Value::String(_) | Value::Null => value.clone(),
    }
}

/// Every string that spells a boolean or an integer as that typed value.
fn typed(value: &Value) -> Value {
    match value {
        Value::String(text) if text == "true" || text == "false" => Value::Bool(text == "true"),
        Value::String(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
            Value::from(text.parse::<u64>().unwrap())
        }
        Value::Array(items) => items.iter().map(typed).collect(),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), typed(v))).collect()),
        _ => value.clone(),
    }
}

#[test]
fn a_privileged_project_is_stopped_with_one_annotation_per_rule() {
    let response = answer(&function(&[]), fixture("create-project"));
    assert_eq!((response.hook_status, response.error_code), (HookStatus::Failed, Some(ErrorCode::NonCompliant)));
    assert_eq!(response.client_request_token, "3f6c3bd5-5d3e-4a7c-9d6e-2b1f0c9e8a71");
    assert!(
        response.message.starts_with("pipesec stopped AWS::CodeBuild::Project ImageBuilder: "),
        "{}",
        response.message
    );
    assert!(response.message.contains("codebuild-project-privileged-mode-disabled (HIGH)"), "{}", response.message);

    let rules: Vec<_> =
        pipesec_rules::catalog().into_iter().filter(|rule| rule.resource_type == "AWS::CodeBuild::Project").collect();
    assert_eq!(response.annotations.len(), rules.len());
    for rule in &rules {
        let annotation = status_of(&response, rule.id);
        assert_eq!(annotation.severity_level, rule.severity.as_str());
        assert_eq!(annotation.remediation_message.as_deref(), Some(rule.remediation));
        assert_eq!(annotation.remediation_link, Some(format!("{}#{}", gate::README_URL, rule.id)));
        assert!(!annotation.status_message.is_empty(), "{}: no reason", rule.id);
    }
    let privileged = status_of(&response, "codebuild-project-privileged-mode-disabled");
    assert_eq!(privileged.status, AnnotationStatus::Failed);
    // `Webhook: "true"` as CloudFormation passes it: the webhook is judged.
    let webhook = status_of(&response, "codebuild-project-webhook-filters-anchored");
    assert_eq!(webhook.status, AnnotationStatus::Failed, "{webhook:?}");
    assert!(webhook.status_message.contains("HEAD_REF"), "{webhook:?}");
    for passing in [
        "codebuild-project-not-public",
        "codebuild-project-vpc-attached",
        "codebuild-project-logging-enabled",
        "codebuild-project-no-plaintext-secrets",
    ] {
        assert_eq!(status_of(&response, passing).status, AnnotationStatus::Passed, "{passing}");
    }
    // The service role can only be judged by reading IAM: these clients cannot, so it is
    // SKIPPED with the read named, never PASSED.
    let role = status_of(&response, "codebuild-project-service-role-least-privilege");
    assert_eq!(role.status, AnnotationStatus::Skipped, "{role:?}");
    assert!(role.status_message.contains("iam:"), "{role:?}");
}

#[test]
fn string_and_typed_primitives_give_the_same_answer() {
    for name in ["create-project", "update-pipeline-cloud-control"] {
        let request = fixture(name);
        let mut as_typed = request.clone();
        *properties(&mut as_typed) = typed(properties(&mut request.clone()));
        let mut as_strings = request.clone();
        *properties(&mut as_strings) = stringified(&typed(properties(&mut request.clone())));
        assert_ne!(as_typed, as_strings, "{name}: the fixture has typed primitives to compare");
        let function = function(&[]);
        let (typed_answer, string_answer) = (answer(&function, as_typed), answer(&function, as_strings));
        assert_eq!(typed_answer, string_answer, "{name}");
        assert_eq!(typed_answer.hook_status, HookStatus::Failed, "{name}");
    }
}

#[test]
fn fail_on_severity_sets_what_stops_the_operation() {
    // ImageBuilder fails HIGH rules only: CRITICAL lets it through, with the failures reported.
    let response = answer(&function(&[(FAIL_ON_SEVERITY, "critical")]), fixture("create-project"));
    assert_eq!((response.hook_status, response.error_code), (HookStatus::Success, None));
    assert!(response.message.contains("no rule at or above CRITICAL failed"), "{}", response.message);
    assert_eq!(status_of(&response, "codebuild-project-privileged-mode-disabled").status, AnnotationStatus::Failed);

    // Without a privileged build and a webhook, nothing at or above HIGH fails; the LOW
    // cmk-encrypted rule fails only with a threshold of LOW.
    let mut request = fixture("create-project");
    properties(&mut request)["Environment"]["PrivilegedMode"] = json!("false");
    properties(&mut request).as_object_mut().unwrap().remove("Triggers");
    properties(&mut request).as_object_mut().unwrap().remove("EncryptionKey");
    let high = answer(&function(&[]), request.clone());
    assert_eq!(high.hook_status, HookStatus::Success, "{}", high.message);
    assert_eq!(status_of(&high, "codebuild-project-cmk-encrypted").status, AnnotationStatus::Failed);
    let low = answer(&function(&[(FAIL_ON_SEVERITY, "LOW")]), request);
    assert_eq!((low.hook_status, low.error_code), (HookStatus::Failed, Some(ErrorCode::NonCompliant)));
    assert!(low.message.contains("codebuild-project-cmk-encrypted (LOW)"), "{}", low.message);
}

#[test]
fn an_opt_out_tag_lets_the_resource_through_and_says_so() {
    let mut request = fixture("create-project");
    properties(&mut request)["Tags"]
        .as_array_mut()
        .unwrap()
        .push(json!({"Key": OPT_OUT_TAG, "Value": "base images need Docker-in-Docker, SEC-1234"}));
    let response = answer(&function(&[]), request.clone());
    assert_eq!((response.hook_status, response.error_code), (HookStatus::Success, None));
    assert!(response.message.starts_with("WARN pipesec: AWS::CodeBuild::Project ImageBuilder is opted out"));
    assert!(
        response.message.contains("SEC-1234")
            && response.message.contains("codebuild-project-privileged-mode-disabled")
    );
    let opt_out = status_of(&response, "pipesec-hook-opt-out");
    assert_eq!(opt_out.status, AnnotationStatus::Skipped);
    assert!(opt_out.status_message.starts_with("WARN"));
    // The findings are still there.
    assert_eq!(status_of(&response, "codebuild-project-privileged-mode-disabled").status, AnnotationStatus::Failed);

    // With nothing to stop, the opt-out is still reported.
    let mut clean = request.clone();
    properties(&mut clean)["Environment"]["PrivilegedMode"] = json!("false");
    properties(&mut clean).as_object_mut().unwrap().remove("Triggers");
    let response = answer(&function(&[]), clean);
    assert_eq!(response.hook_status, HookStatus::Success);
    assert!(response.message.starts_with("WARN pipesec:") && response.message.contains("no rule at or above HIGH"));
    assert_eq!(status_of(&response, "pipesec-hook-opt-out").status, AnnotationStatus::Skipped);

    // Without a reason the tag does not count.
    let tags = properties(&mut request)["Tags"].as_array_mut().unwrap();
    tags.last_mut().unwrap()["Value"] = json!(" ");
    let response = answer(&function(&[]), request);
    assert_eq!(response.hook_status, HookStatus::Failed);
    let opt_out = status_of(&response, "pipesec-hook-opt-out");
    assert_eq!(opt_out.status, AnnotationStatus::Failed);
    assert!(opt_out.status_message.contains("has no reason"));
}

#[test]
fn deleting_is_never_gated() {
    let response = answer(&function(&[]), fixture("delete-project"));
    assert_eq!((response.hook_status, response.error_code), (HookStatus::Success, None));
    assert_eq!(response.client_request_token, "9a8b7c6d-0000-4e1f-9a2b-3c4d5e6f7a8b");
    assert!(response.annotations.is_empty());
}

#[test]
fn a_cloud_control_update_of_a_pipeline_is_judged_without_a_stack_and_never_quotes_a_secret() {
    let response = answer(&function(&[]), fixture("update-pipeline-cloud-control"));
    assert_eq!((response.hook_status, response.error_code), (HookStatus::Failed, Some(ErrorCode::NonCompliant)));
    assert!(response.message.starts_with("pipesec stopped AWS::CodePipeline::Pipeline web-app: "));
    assert_eq!(status_of(&response, "codepipeline-source-authenticated").status, AnnotationStatus::Failed);
    assert_eq!(status_of(&response, "codepipeline-approval-before-deploy").status, AnnotationStatus::Failed);
    assert_eq!(status_of(&response, "codepipeline-artifacts-cmk-encrypted").status, AnnotationStatus::Passed);
    for after_deployment in ["codepipeline-failure-alerting", "codepipeline-execution-anomalies"] {
        let annotation = status_of(&response, after_deployment);
        assert_eq!(annotation.status, AnnotationStatus::Skipped, "{after_deployment}");
        assert!(annotation.status_message.contains("AWS Config evaluates it after deployment"));
    }
    let text = serde_json::to_string(&response).unwrap();
    assert!(!text.contains(CANARY) && !text.contains("CanaryHookToken"), "a secret in the response");
}

#[test]
fn an_unreadable_request_is_an_internal_failure_that_quotes_no_value() {
    let mut wrong_type = fixture("create-project");
    wrong_type["requestData"]["targetLogicalId"] = json!({"token": CANARY});
    let mut unknown_point = fixture("create-project");
    unknown_point["actionInvocationPoint"] = json!(CANARY);
    let mut properties_not_object = fixture("create-project");
    *properties(&mut properties_not_object) = json!([CANARY]);
    let mut no_data = fixture("create-project");
    no_data.as_object_mut().unwrap().remove("requestData");
    let cases = [
        (json!(null), "not a CloudFormation hook resource request"),
        (json!(CANARY), "not a CloudFormation hook resource request"),
        (no_data, "missing field `requestData`"),
        (wrong_type, "field `requestData.targetLogicalId`: expected a string, found a map"),
        (unknown_point, "field `actionInvocationPoint`: unknown variant, expected one of `CREATE_PRE_PROVISION`"),
        (properties_not_object, "resourceProperties: not a JSON object"),
    ];
    for (request, expected) in cases {
        let response = answer(&function(&[]), request.clone());
        assert_eq!(
            (response.hook_status, response.error_code),
            (HookStatus::Failed, Some(ErrorCode::InternalFailure)),
            "{request}"
        );
        assert!(response.message.contains(expected), "{expected}: {}", response.message);
        assert!(!serde_json::to_string(&response).unwrap().contains(CANARY), "{}", response.message);
    }
    // The token is echoed whenever there is one.
    let mut bad = fixture("create-project");
    bad["requestData"] = json!(7);
    assert_eq!(answer(&function(&[]), bad).client_request_token, "3f6c3bd5-5d3e-4a7c-9d6e-2b1f0c9e8a71");
}

#[test]
fn settings_are_checked_and_rule_parameters_exempt_as_in_aws_config() {
    for (env, expected) in [
        ((FAIL_ON_SEVERITY, "SEVERE"), "FAIL_ON_SEVERITY must be LOW, MEDIUM, HIGH or CRITICAL, not `SEVERE`"),
        ((RULE_PARAMETERS, "[1]"), "RULE_PARAMETERS must be a JSON object"),
        ((RULE_PARAMETERS, r#"{"no-such-rule": {"a": "b"}}"#), "unknown rule id `no-such-rule`"),
        (
            (RULE_PARAMETERS, r#"{"codebuild-project-privileged-mode-disabled": {"nope": "x"}}"#),
            "invalid rule parameter `nope`",
        ),
    ] {
        let response = answer(&function(&[env]), fixture("create-project"));
        assert_eq!(response.error_code, Some(ErrorCode::InternalFailure), "{env:?}");
        assert!(response.message.contains(expected), "{expected}: {}", response.message);
    }
    let exempting = r#"{"codebuild-project-privileged-mode-disabled": {"exemptedProjects": "docker-image-builder"}}"#;
    let response = answer(&function(&[(RULE_PARAMETERS, exempting)]), fixture("create-project"));
    let privileged = status_of(&response, "codebuild-project-privileged-mode-disabled");
    assert_ne!(privileged.status, AnnotationStatus::Failed, "{privileged:?}");
    assert!(privileged.status_message.contains("exempt"), "{privileged:?}");
}

#[test]
fn the_message_names_the_resource_and_the_failing_rules_within_the_limit() {
    let target = Target {
        resource_type: "AWS::CodePipeline::Pipeline",
        logical_id: "ReleasePipeline",
        properties: serde_json::Map::new(),
        account_id: "123456789012",
        region: None,
    };
    let results: Vec<RuleResult> = pipesec_rules::catalog()
        .into_iter()
        .map(|rule| RuleResult { rule, status: AnnotationStatus::Failed, reason: "x".repeat(256) })
        .collect();
    let response = decide("t".into(), &target, &results, Severity::Low, None);
    assert_eq!(response.message.chars().count(), response::MAX_MESSAGE_CHARS);
    assert!(response.message.starts_with("pipesec stopped AWS::CodePipeline::Pipeline ReleasePipeline: "));
    // Every failing rule id comes before the reasons, so the cut keeps them all.
    for result in &results {
        assert!(response.message.contains(&format!("{} ({})", result.rule.id, result.rule.severity.as_str())));
    }
}

#[test]
fn every_rule_has_the_readme_anchor_its_remediation_link_points_at() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("../README.md")).unwrap();
    for rule in pipesec_rules::catalog() {
        let row = readme.lines().find(|line| line.starts_with(&format!("| [{}]", rule.id))).unwrap();
        assert!(row.contains(&format!("<a id=\"{}\"></a>", rule.id)), "{}: no anchor in its README row", rule.id);
    }
    assert!(readme.contains("## Pre-deployment gate"), "the link of the opt-out annotation");
}
