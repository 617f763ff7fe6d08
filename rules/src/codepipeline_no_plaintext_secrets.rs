//! # codepipeline-no-plaintext-secrets
//!
//! No pipeline may hold a secret in plain text: action settings (including JSON settings such as
//! CloudFormation `ParameterOverrides`), a CodeBuild action's PLAINTEXT `EnvironmentVariables` and
//! the default values of pipeline variables (V2 pipelines) are readable by anyone who can read the pipeline
//! (`codepipeline:GetPipeline`, the console, Config's history). The same detector as
//! `codebuild-project-no-plaintext-secrets` judges names and values ([`crate::common::secrets`]); the
//! annotation names the stage, action and variable or setting, never the value. Values the
//! service masks (`****`, e.g. a GitHub version 1 `OAuthToken`) are stored encrypted by
//! CodePipeline and are not reported here (`codepipeline-source-authenticated` covers them).
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `allowedVariableNames` (optional): comma-separated variable or setting names
//!   never reported.
//!
//! | scenario | verdict |
//! |---|---|
//! | settings and variables without secrets; PARAMETER_STORE / SECRETS_MANAGER variables | COMPLIANT |
//! | a CodeBuild action's PLAINTEXT variable holds a token | NON_COMPLIANT, naming action and variable |
//! | a secret inside a JSON setting (`ParameterOverrides`) | NON_COMPLIANT, naming the setting path |
//! | a pipeline variable's default value is a secret | NON_COMPLIANT, naming the variable |
//! | a masked setting (`OAuthToken: ****`) | COMPLIANT |
//! | the offending name is in `allowedVariableNames` | COMPLIANT |

use std::fmt::Write as _;

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::resources::codebuild::is_masked;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};
use serde_json::Value;

use crate::common::pipeline::{self, StagedAction};
use crate::common::secrets;

pub const ID: &str = "codepipeline-no-plaintext-secrets";

#[derive(Debug)]
pub struct NoPlaintextSecrets;

/// The same parameter as the CodeBuild rule: names never reported.
use crate::common::params::AllowedVariableNames;

/// The finding for a setting's text, if it is a secret.
fn check_text(path: &str, name: &str, text: &str, allowed: &[String], findings: &mut Vec<String>) {
    if !is_masked(text)
        && !allowed.iter().any(|a| a == name)
        && let Some(kind) = secrets::detect(name, Some(text))
    {
        findings.push(format!("setting `{path}` ({kind})"));
    }
}

/// Findings for every string inside a JSON setting; `path` names the member at hand and is
/// grown and cut back in place, as most members hold no secret.
fn check_json(path: &mut String, name: &str, value: &Value, allowed: &[String], findings: &mut Vec<String>) {
    let parent = path.len();
    match value {
        Value::String(text) => check_text(path, name, text, allowed, findings),
        Value::Object(members) => {
            for (key, member) in members {
                path.push('.');
                path.push_str(key);
                check_json(path, key, member, allowed, findings);
                path.truncate(parent);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let _ = write!(path, "[{index}]");
                check_json(path, name, item, allowed, findings);
                path.truncate(parent);
            }
        }
        _ => {}
    }
}

fn action_findings(staged: &StagedAction<'_>, allowed: &[String]) -> Vec<String> {
    let mut findings = Vec::new();
    for (key, raw) in staged.action.configuration.iter() {
        if let Some(variables) = pipeline::build_variables(staged.action, key, raw) {
            for variable in variables {
                let plaintext = variable.kind.as_deref().is_none_or(|kind| kind.eq_ignore_ascii_case("PLAINTEXT"));
                let value = variable.value.as_deref().filter(|value| !is_masked(value));
                if plaintext
                    && !allowed.contains(&variable.name)
                    && let Some(kind) = secrets::detect(&variable.name, value)
                {
                    findings.push(format!("environment variable `{}` ({kind})", variable.name));
                }
            }
            continue;
        }
        // JSON settings (ParameterOverrides, UserParameters…) are checked member by member.
        let json = raw.trim_start().starts_with(['{', '[']).then(|| serde_json::from_str::<Value>(raw).ok()).flatten();
        match json {
            Some(json @ (Value::Object(_) | Value::Array(_))) => {
                check_json(&mut key.to_owned(), key, &json, allowed, &mut findings);
            }
            _ => check_text(key, key, raw, allowed, &mut findings),
        }
    }
    findings.into_iter().map(|finding| format!("{} {finding}", staged.describe())).collect()
}

impl Rule for NoPlaintextSecrets {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Critical;
    const AREA: Area = Area::AccessControl;
    const WEIGHT: u32 = 5;
    const REMEDIATION: &'static str = "Move the value to AWS Secrets Manager or SSM Parameter Store and reference it \
         (a SECRETS_MANAGER or PARAMETER_STORE variable, or a dynamic reference), then rotate the exposed secret.";
    const INPUTS: &'static [&'static str] =
        &["pipeline.stages.actions.actionTypeId", "pipeline.stages.actions.configuration", "pipeline.variables"];
    // A value unknown before deployment is not written in the template: a reference resolved
    // at deployment, not a plaintext secret in it.
    const UNKNOWN_TOLERANT: &'static [&'static str] =
        &["pipeline.stages.actions.configuration", "pipeline.variables.defaultValue"];
    type Resource = PipelineConfiguration;
    type Params = AllowedVariableNames;
    type Facts = ();

    fn evaluate(subject: &Subject<PipelineConfiguration>, (): &(), params: &AllowedVariableNames) -> Verdict {
        let allowed = &params.allowed_variable_names;
        let mut findings: Vec<String> = pipeline::actions(&subject.resource.pipeline)
            .iter()
            .flat_map(|staged| action_findings(staged, allowed))
            .collect();
        for variable in &subject.resource.pipeline.variables {
            let value = variable.default_value.as_deref().filter(|value| !is_masked(value));
            if !allowed.contains(&variable.name)
                && let Some(kind) = value.and_then(|value| secrets::detect(&variable.name, Some(value)))
            {
                findings.push(format!("pipeline variable `{}` default value ({kind})", variable.name));
            }
        }
        if findings.is_empty() {
            Verdict::compliant("no action setting, PLAINTEXT variable or pipeline variable default holds a secret")
        } else {
            Verdict::non_compliant(format!("plaintext secrets in the pipeline: {}", findings.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::{list, subject};

    #[rstest]
    #[case::clean("compliant-clean", &[], Compliance::Compliant)]
    #[case::masked_oauth_token("compliant-masked-token", &[], Compliance::Compliant)]
    #[case::token_in_build_variables("non-compliant-build-variable", &[], Compliance::NonCompliant)]
    #[case::password_in_parameter_overrides("non-compliant-parameter-overrides", &[], Compliance::NonCompliant)]
    #[case::token_in_variable_default("non-compliant-variable-default", &[], Compliance::NonCompliant)]
    #[case::allowed_variable_default("non-compliant-variable-default", &["DEPLOY_TOKEN"], Compliance::Compliant)]
    #[case::allowed_name("non-compliant-build-variable", &["GITHUB_TOKEN"], Compliance::Compliant)]
    fn scenario(#[case] fixture: &str, #[case] allowed: &[&str], #[case] expected: Compliance) {
        let params = AllowedVariableNames { allowed_variable_names: list(allowed) };
        let verdict = NoPlaintextSecrets::evaluate(&subject(ID, fixture), &(), &params);
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn reason_names_where_and_never_the_value() {
        let subject = subject(ID, "non-compliant-parameter-overrides");
        let verdict = NoPlaintextSecrets::evaluate(&subject, &(), &AllowedVariableNames::default());
        assert!(
            verdict.reason.contains("stage `Deploy` action `Deploy` setting `ParameterOverrides.DbPassword`"),
            "{}",
            verdict.reason
        );
        assert!(!verdict.reason.contains("pipeline-canary-Pw-31"), "{}", verdict.reason);
        let verdict = NoPlaintextSecrets::evaluate(
            &subject_of("non-compliant-build-variable"),
            &(),
            &AllowedVariableNames::default(),
        );
        assert!(verdict.reason.contains("environment variable `GITHUB_TOKEN` (GitHub token)"), "{}", verdict.reason);
    }

    fn subject_of(fixture: &str) -> Subject<PipelineConfiguration> {
        subject(ID, fixture)
    }
}
