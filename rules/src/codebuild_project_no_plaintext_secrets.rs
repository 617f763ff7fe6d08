//! # codebuild-project-no-plaintext-secrets
//!
//! A CodeBuild project must not hold secrets in PLAINTEXT environment variables: anyone who can
//! read the project (`codebuild:BatchGetProjects`, the console, Config's history) can read
//! them. Secrets belong in Secrets Manager or Parameter Store, referenced with those variable
//! types. A variable is a secret by its name or its value (see [`crate::common::secrets`]); the
//! annotation names the variable and the kind of secret, never the value.
//! Parity: AWS Config's `codebuild-project-envvar-awscred-check` flags PLAINTEXT
//! `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`; this rule flags those and every other secret.
//!
//! AWS Config may record PLAINTEXT values masked (`******`). The rule then reads the live
//! project with `BatchGetProjects` (100 projects a call) to judge the real values.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `allowedVariableNames` (optional): comma-separated variable names never
//!   reported (e.g. a public key that looks random).
//!
//! | scenario | verdict |
//! |---|---|
//! | no PLAINTEXT variable holds a secret (references, settings, switches) | COMPLIANT |
//! | a PLAINTEXT variable has a secret-like name and a secret-like value | NON_COMPLIANT |
//! | a PLAINTEXT value is an AWS key, a private key, a known token format or random-looking | NON_COMPLIANT |
//! | the offending variable is in `allowedVariableNames` | COMPLIANT |
//! | values masked in the item: judged on the live project's values | as above |
//! | values masked and the project no longer exists | NOT_APPLICABLE |

use aws_sdk_codebuild::types::{EnvironmentVariableType as SdkVariableType, Project};
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::resources::codebuild::{EnvironmentVariable, EnvironmentVariableType};
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict};

use crate::common::codebuild_live::live_projects;
use crate::common::params::AllowedVariableNames;
use crate::common::secrets;

pub const ID: &str = "codebuild-project-no-plaintext-secrets";

#[derive(Debug)]
pub struct NoPlaintextSecrets;

/// The live variables of a project whose item masks its values.
#[derive(Debug, Default, Clone, PartialEq)]
pub enum LiveVariables {
    /// The item shows every value: nothing was read.
    #[default]
    NotNeeded,
    Read(Vec<EnvironmentVariable>),
    /// The project is gone from CodeBuild.
    ProjectNotFound,
}

impl Rule for NoPlaintextSecrets {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Critical;
    const AREA: Area = Area::AccessControl;
    const WEIGHT: u32 = 5;
    const REMEDIATION: &'static str = "Move the value to AWS Secrets Manager or SSM Parameter Store, reference it with a SECRETS_MANAGER or PARAMETER_STORE variable, and rotate the exposed secret.";
    const READS: &'static [&'static str] = &["codebuild:BatchGetProjects"];
    const INPUTS: &'static [&'static str] = &["environment.environmentVariables"];
    // A value unknown before deployment (`!Ref` to a NoEcho parameter, `!ImportValue`…) is not
    // written in the template: a reference resolved at deployment, not a plaintext secret in it.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &["environment.environmentVariables.value"];
    type Resource = CodeBuildProject;
    type Params = AllowedVariableNames;
    type Facts = LiveVariables;

    async fn gather(
        aws: &Aws,
        _: &AllowedVariableNames,
        subjects: &[Subject<CodeBuildProject>],
    ) -> Result<Vec<LiveVariables>> {
        let live = live_projects(aws, subjects, |subject| has_masked_values(&subject.resource)).await?;
        Ok(subjects
            .iter()
            .zip(live)
            .map(|(subject, project)| match project {
                _ if !has_masked_values(&subject.resource) => LiveVariables::NotNeeded,
                Some(project) => LiveVariables::Read(live_variables(&project)),
                None => LiveVariables::ProjectNotFound,
            })
            .collect())
    }

    fn evaluate(subject: &Subject<CodeBuildProject>, live: &LiveVariables, params: &AllowedVariableNames) -> Verdict {
        let variables = match live {
            LiveVariables::NotNeeded => &subject.resource.environment.environment_variables,
            LiveVariables::Read(variables) => variables,
            LiveVariables::ProjectNotFound => {
                return Verdict::not_applicable(
                    "the recorded values are masked and the project no longer exists in CodeBuild",
                );
            }
        };
        let findings: Vec<String> = variables
            .iter()
            .filter(|variable| variable.kind == EnvironmentVariableType::Plaintext)
            .filter(|variable| !params.allowed_variable_names.contains(&variable.name))
            .filter_map(|variable| {
                let value = variable.value.as_deref().filter(|_| !variable.is_masked());
                secrets::detect(&variable.name, value).map(|kind| format!("`{}` ({kind})", variable.name))
            })
            .collect();
        if findings.is_empty() {
            Verdict::compliant("no PLAINTEXT environment variable holds a secret")
        } else {
            Verdict::non_compliant(format!(
                "PLAINTEXT environment variables hold secrets: {}; use PARAMETER_STORE or SECRETS_MANAGER variables",
                findings.join(", ")
            ))
        }
    }
}

fn has_masked_values(project: &CodeBuildProject) -> bool {
    project
        .environment
        .environment_variables
        .iter()
        .any(|variable| variable.kind == EnvironmentVariableType::Plaintext && variable.is_masked())
}

fn live_variables(project: &Project) -> Vec<EnvironmentVariable> {
    let variables = project
        .environment()
        .map(aws_sdk_codebuild::types::ProjectEnvironment::environment_variables)
        .unwrap_or_default();
    variables
        .iter()
        .map(|variable| EnvironmentVariable {
            name: variable.name().to_owned(),
            value: Some(variable.value().to_owned()),
            kind: match variable.r#type() {
                None | Some(SdkVariableType::Plaintext) => EnvironmentVariableType::Plaintext,
                Some(SdkVariableType::ParameterStore) => EnvironmentVariableType::ParameterStore,
                Some(SdkVariableType::SecretsManager) => EnvironmentVariableType::SecretsManager,
                Some(_) => EnvironmentVariableType::Unknown,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use aws_sdk_codebuild::Client as CodeBuild;
    use aws_sdk_codebuild::operation::batch_get_projects::BatchGetProjectsOutput;
    use aws_sdk_codebuild::types::{EnvironmentType, ProjectEnvironment};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    fn params(allowed: &[&str]) -> AllowedVariableNames {
        AllowedVariableNames { allowed_variable_names: allowed.iter().map(|name| (*name).to_owned()).collect() }
    }

    #[rstest]
    #[case::references_and_settings("compliant-references-and-settings", &[], Compliance::Compliant)]
    #[case::secret_name_with_value("non-compliant-secret-name", &[], Compliance::NonCompliant)]
    #[case::aws_keys("non-compliant-aws-keys", &[], Compliance::NonCompliant)]
    #[case::token_by_value("non-compliant-token-value", &[], Compliance::NonCompliant)]
    #[case::allowed_variable("non-compliant-secret-name", &["DB_PASSWORD"], Compliance::Compliant)]
    fn scenario(#[case] fixture: &str, #[case] allowed: &[&str], #[case] expected: Compliance) {
        let verdict = NoPlaintextSecrets::evaluate(&subject(ID, fixture), &LiveVariables::NotNeeded, &params(allowed));
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn annotation_names_the_variables_and_never_the_values() {
        let subject = subject(ID, "non-compliant-aws-keys");
        let verdict = NoPlaintextSecrets::evaluate(&subject, &LiveVariables::NotNeeded, &params(&[]));
        assert!(verdict.reason.contains("`AWS_ACCESS_KEY_ID` (AWS access key id)"), "{}", verdict.reason);
        assert!(verdict.reason.contains("`AWS_SECRET_ACCESS_KEY`"), "{}", verdict.reason);
        for variable in &subject.resource.environment.environment_variables {
            assert!(!verdict.reason.contains(variable.value.as_deref().unwrap()), "value leaked: {}", verdict.reason);
        }
    }

    #[test]
    fn masked_values_are_judged_on_the_live_project() {
        let subject = subject(ID, "masked-settings");
        let live = LiveVariables::Read(vec![EnvironmentVariable {
            name: "LOG_LEVEL".to_owned(),
            value: Some("AKIAZ7Q3EXAMPLE4KEYS".to_owned()),
            kind: EnvironmentVariableType::Plaintext,
        }]);
        let verdict = NoPlaintextSecrets::evaluate(&subject, &live, &params(&[]));
        assert_eq!(verdict.compliance, Compliance::NonCompliant, "{}", verdict.reason);
        assert!(verdict.reason.contains("`LOG_LEVEL` (AWS access key id)"), "{}", verdict.reason);
    }

    #[test]
    fn masked_values_of_a_deleted_project_are_not_applicable() {
        let verdict = NoPlaintextSecrets::evaluate(
            &subject(ID, "masked-secret-name"),
            &LiveVariables::ProjectNotFound,
            &params(&[]),
        );
        assert_eq!(verdict.compliance, Compliance::NotApplicable);
    }

    fn aws_with(codebuild: CodeBuild) -> Aws {
        Aws::for_tests().with_codebuild(codebuild)
    }

    fn live_project(name: &str, variables: &[(&str, &str)]) -> Project {
        let variables = variables
            .iter()
            .map(|(name, value)| {
                aws_sdk_codebuild::types::EnvironmentVariable::builder().name(*name).value(*value).build().unwrap()
            })
            .collect();
        let environment = ProjectEnvironment::builder()
            .r#type(EnvironmentType::LinuxContainer)
            .image("aws/codebuild/standard:7.0")
            .compute_type(aws_sdk_codebuild::types::ComputeType::BuildGeneral1Small)
            .set_environment_variables(Some(variables))
            .build()
            .unwrap();
        Project::builder()
            .name(name)
            .arn(format!("arn:aws:codebuild:us-east-1:123456789012:project/{name}"))
            .environment(environment)
            .build()
    }

    #[tokio::test]
    async fn gather_reads_only_masked_projects_in_batches_of_100() {
        let masked = subject::<CodeBuildProject>(ID, "masked-secret-name");
        let clear = subject::<CodeBuildProject>(ID, "compliant-references-and-settings");
        let mut subjects = Vec::new();
        for i in 0..150 {
            let mut s = masked.clone();
            s.resource.name = Some(format!("masked-{i}"));
            subjects.push(s);
        }
        subjects.push(clear);
        let batch = mock!(CodeBuild::batch_get_projects).then_compute_output(|request| {
            let projects = request.names().iter().map(|name| live_project(name, &[("DB_PASSWORD", "x9")])).collect();
            BatchGetProjectsOutput::builder().set_projects(Some(projects)).build()
        });
        let client = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&batch]);
        let facts = NoPlaintextSecrets::gather(&aws_with(client), &params(&[]), &subjects).await.unwrap();
        assert_eq!(batch.num_calls(), 2, "150 masked projects take two BatchGetProjects calls");
        assert_eq!(facts.len(), 151);
        assert!(matches!(&facts[0], LiveVariables::Read(v) if v[0].name == "DB_PASSWORD"));
        assert_eq!(facts[150], LiveVariables::NotNeeded);
    }

    #[tokio::test]
    async fn gather_reports_projects_codebuild_does_not_know() {
        let batch = mock!(CodeBuild::batch_get_projects)
            .then_output(|| BatchGetProjectsOutput::builder().projects_not_found("payments").build());
        let client = mock_client!(aws_sdk_codebuild, [&batch]);
        let subjects = [subject::<CodeBuildProject>(ID, "masked-secret-name")];
        let facts = NoPlaintextSecrets::gather(&aws_with(client), &params(&[]), &subjects).await.unwrap();
        assert_eq!(facts, [LiveVariables::ProjectNotFound]);
    }

    #[tokio::test]
    async fn access_denied_names_the_action() {
        let batch = mock!(CodeBuild::batch_get_projects).then_error(|| {
            aws_sdk_codebuild::operation::batch_get_projects::BatchGetProjectsError::generic(
                aws_sdk_codebuild::error::ErrorMetadata::builder().code("AccessDeniedException").message("no").build(),
            )
        });
        let client = mock_client!(aws_sdk_codebuild, [&batch]);
        let subjects = [subject::<CodeBuildProject>(ID, "masked-secret-name")];
        let err = NoPlaintextSecrets::gather(&aws_with(client), &params(&[]), &subjects).await.unwrap_err();
        assert_eq!(err.error_type(), "AccessDeniedException");
        assert!(err.to_string().contains("codebuild:BatchGetProjects"), "{err}");
    }
}
