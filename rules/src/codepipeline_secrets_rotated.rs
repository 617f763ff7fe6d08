//! # codepipeline-secrets-rotated
//!
//! The pipeline twin of `codebuild-project-secrets-rotated`: every Secrets Manager secret the
//! pipeline references must have rotation enabled and have been rotated within `maxAgeDays` (its
//! creation counts when it was never rotated yet); every Parameter Store `SecureString` it
//! references must have changed within `maxAgeDays`; a referenced secret or parameter that does
//! not exist is NON_COMPLIANT (the build fails, or reads whatever someone creates under that
//! name). The reads and the judgment are the CodeBuild rule's ([`crate::common::secret_rotation`]):
//! descriptions only, never a value, each secret once per invocation.
//!
//! What it reads, and why: CodePipeline itself resolves no dynamic reference. A
//! `{{resolve:secretsmanager:…}}` or `{{resolve:ssm-secure:…}}` in an action's configuration is
//! resolved by CloudFormation when it deploys the pipeline, so the deployed pipeline (and Config's
//! item) holds the value, not the reference. The references a deployed pipeline keeps are a
//! CodeBuild action's `EnvironmentVariables` (a JSON list whose `SECRETS_MANAGER` and
//! `PARAMETER_STORE` entries CodeBuild resolves at every build, overriding the project's
//! variables of the same name), and those the rule reads in every pipeline. Dynamic references in
//! any action setting are read too: they are still written in the templates the CLI scans and the
//! CloudFormation hook judges, and a secret CloudFormation copies into a pipeline must rotate all
//! the more. The projects the pipeline builds with are judged by the CodeBuild rule, not here.
//! Not read: parameters given by ARN (as in the CodeBuild rule), and the action-level
//! `environmentVariables` of V2 `Commands` actions (the engine's pipeline model does not carry
//! them yet).
//!
//! Parity (each covers a part, for any secret rather than those a pipeline uses): AWS Config
//! `secretsmanager-rotation-enabled-check`, `secretsmanager-secret-periodic-rotation`; Security Hub
//! SecretsManager.1, SecretsManager.4.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep (time passes and
//!   secrets change without notifying the pipeline's rules)
//! - **Parameters**: `maxAgeDays` (optional, 1 to 3650, default 90)
//!
//! | scenario | verdict |
//! |---|---|
//! | a CodeBuild action's `SECRETS_MANAGER` variable: a secret with rotation, rotated within `maxAgeDays` | COMPLIANT |
//! | a dynamic reference to such a secret, or to a SecureString changed within `maxAgeDays` | COMPLIANT |
//! | a referenced secret without rotation | NON_COMPLIANT |
//! | a referenced secret last rotated (or, never rotated, created) more than `maxAgeDays` ago | NON_COMPLIANT |
//! | a `PARAMETER_STORE` variable or `ssm-secure` reference to a SecureString older than `maxAgeDays` | NON_COMPLIANT |
//! | a referenced secret or parameter that does not exist | NON_COMPLIANT |
//! | a read refused, or a setting or name known only at deployment (a template's), nothing else wrong | NOT_APPLICABLE, naming it |
//! | no secret or parameter referenced | NOT_APPLICABLE |

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict, unknown};

use crate::common::pipeline::{self, ActionVariable, StagedAction};
use crate::common::secret_rotation::{self, Params, Reference, References, Target, secret_id};

pub const ID: &str = "codepipeline-secrets-rotated";

#[derive(Debug)]
pub struct SecretsRotated;

/// The targets of the dynamic references in `text`: `{{resolve:secretsmanager:<id>[:…]}}` and
/// `{{resolve:ssm-secure:<name>[:version]}}` (other kinds are not secrets).
fn dynamic_references(text: &str) -> Vec<Target> {
    const OPENING: &str = "{{resolve:";
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPENING) {
        let after = &rest[start + OPENING.len()..];
        let Some(end) = after.find("}}") else { break };
        let body = &after[..end];
        if let Some(id) = body.strip_prefix("secretsmanager:").filter(|id| !id.is_empty()) {
            targets.push(Target::Secret(secret_id(id).to_owned()));
        } else if let Some(name) = body.strip_prefix("ssm-secure:").filter(|name| !name.starts_with("arn:")) {
            let name = name.split(':').next().unwrap_or(name);
            if !name.is_empty() {
                targets.push(Target::Parameter(name.to_owned()));
            }
        }
        rest = &after[end + 2..];
    }
    targets
}

/// The dynamic references written in a setting's or a variable's value at `place`; for a value
/// with a part known only at deployment and none written, that it is unknown (CloudFormation may
/// resolve it to a reference).
fn value_references(place: &str, value: &str) -> Vec<Reference> {
    let targets = dynamic_references(value);
    if targets.is_empty() && unknown::is_unknown(value) {
        return vec![Reference { place: place.to_owned(), target: Target::Unknown }];
    }
    targets.into_iter().map(|target| Reference { place: place.to_owned(), target }).collect()
}

/// The references of a CodeBuild action's `EnvironmentVariables`.
fn variable_references(staged: &StagedAction<'_>, variables: Vec<ActionVariable>) -> Vec<Reference> {
    let mut references = Vec::new();
    for variable in variables {
        let Some(value) = variable.value.as_deref().filter(|value| !value.is_empty()) else { continue };
        let place = format!("{} variable `{}`", staged.describe(), variable.name);
        let written = value_references(&place, value);
        if !written.is_empty() {
            references.extend(written);
            continue;
        }
        let kind = variable.kind.as_deref().unwrap_or("PLAINTEXT");
        let target = if kind.eq_ignore_ascii_case("SECRETS_MANAGER") {
            Target::Secret(secret_id(value).to_owned())
        } else if kind.eq_ignore_ascii_case("PARAMETER_STORE") && !value.starts_with("arn:") {
            Target::Parameter(value.to_owned())
        } else {
            continue;
        };
        references.push(Reference { place, target });
    }
    references
}

/// Every reference of the pipeline, in execution order.
fn references(subject: &Subject<PipelineConfiguration>) -> Vec<Reference> {
    let mut references = Vec::new();
    for staged in pipeline::actions(&subject.resource.pipeline) {
        for (key, raw) in staged.action.configuration.iter() {
            if let Some(variables) = pipeline::build_variables(staged.action, key, raw) {
                references.extend(variable_references(&staged, variables));
            } else if raw.contains("{{resolve:") || unknown::is_unknown(raw) {
                references.extend(value_references(&format!("{} setting `{key}`", staged.describe()), raw));
            }
        }
    }
    references
}

impl Rule for SecretsRotated {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::AccessControl;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "Turn on rotation for every Secrets Manager secret the pipeline's actions \
         reference and rotate it; change SecureString parameters older than maxAgeDays; fix references to secrets \
         that do not exist.";
    const READS: &'static [&'static str] = secret_rotation::READS;
    const PERIODIC: bool = true;
    const INPUTS: &'static [&'static str] =
        &["pipeline.stages.actions.actionTypeId", "pipeline.stages.actions.configuration"];
    // A value computed at deployment is judged as such: it is named as known only then, and
    // makes the verdict NOT_APPLICABLE unless a known reference is already wrong.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &["pipeline.stages.actions.configuration"];
    type Resource = PipelineConfiguration;
    type Params = Params;
    type Facts = References;

    async fn gather(aws: &Aws, _: &Params, subjects: &[Subject<PipelineConfiguration>]) -> Result<Vec<References>> {
        let references: Vec<Vec<Reference>> = subjects.iter().map(references).collect();
        secret_rotation::gather(aws, &references).await
    }

    fn evaluate(subject: &Subject<PipelineConfiguration>, facts: &References, params: &Params) -> Verdict {
        secret_rotation::verdict(&references(subject), facts, params, "pipeline")
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::{FakeSecrets, subject};

    async fn verdict_with(fixture: &str, params: &Params) -> Verdict {
        let subjects = [subject(ID, fixture)];
        let facts = SecretsRotated::gather(&FakeSecrets::new().aws(), params, &subjects).await.unwrap();
        SecretsRotated::evaluate(&subjects[0], &facts[0], params)
    }

    #[rstest]
    #[case::rotated_secret_and_young_secure_string("compliant-rotated", Compliance::Compliant)]
    #[case::dynamic_references_to_rotated_secrets("compliant-dynamic-reference", Compliance::Compliant)]
    #[case::rotation_off("non-compliant-rotation-off", Compliance::NonCompliant)]
    #[case::stale_secret_in_a_dynamic_reference("non-compliant-dynamic-reference", Compliance::NonCompliant)]
    #[case::old_secure_string("non-compliant-old-parameter", Compliance::NonCompliant)]
    #[case::missing_secret("non-compliant-missing-secret", Compliance::NonCompliant)]
    #[case::no_references("no-references", Compliance::NotApplicable)]
    #[tokio::test]
    async fn scenario(#[case] fixture: &str, #[case] expected: Compliance) {
        let verdict = verdict_with(fixture, &Params::default()).await;
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[rstest]
    #[case::shorter_than_the_last_rotation("compliant-rotated", 5, Compliance::NonCompliant)]
    #[case::longer_than_the_last_rotation("non-compliant-dynamic-reference", 365, Compliance::Compliant)]
    #[tokio::test]
    async fn max_age_days(#[case] fixture: &str, #[case] days: u32, #[case] expected: Compliance) {
        let verdict = verdict_with(fixture, &Params { max_age_days: Some(days) }).await;
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[tokio::test]
    async fn reasons_name_the_secret_stage_action_and_variable_or_setting() {
        let reason = |fixture| async move { verdict_with(fixture, &Params::default()).await.reason };
        assert_eq!(
            reason("non-compliant-rotation-off").await,
            "secret `legacy/token` (stage `Build` action `Build` variable `LEGACY_TOKEN`) has rotation off"
        );
        assert_eq!(
            reason("non-compliant-dynamic-reference").await,
            "secret `old/token` (stage `Deploy` action `Deploy` setting `ParameterOverrides`) last rotated 200 days ago"
        );
        assert_eq!(
            reason("non-compliant-old-parameter").await,
            "SecureString parameter `/legacy/api-key` (stage `Test` action `Integration` variable `API_KEY`) last \
             changed 400 days ago"
        );
        assert_eq!(
            reason("non-compliant-missing-secret").await,
            "secret `deleted/db` (stage `Build` action `Build` variable `DB_PASSWORD`) does not exist"
        );
    }

    #[tokio::test]
    async fn each_secret_once_in_its_region_and_parameters_in_one_call() {
        let fake = FakeSecrets::new();
        let fixtures = ["compliant-rotated", "compliant-rotated", "compliant-dynamic-reference"];
        let subjects: Vec<Subject<PipelineConfiguration>> =
            fixtures.iter().map(|fixture| subject(ID, fixture)).collect();
        let facts = SecretsRotated::gather(&fake.aws(), &Params::default(), &subjects).await.unwrap();
        // prod/db (both pipelines) and deploy/token by ARN, in its own region.
        assert_eq!(fake.describe_secret.num_calls(), 2);
        assert_eq!(fake.describe_parameters.num_calls(), 1);
        let mut regions = fake.regions.0.lock().unwrap().clone();
        regions.sort();
        assert_eq!(regions, ["eu-west-1", "us-east-1"]);
        assert_eq!(facts[1], facts[0]);
    }

    #[tokio::test]
    async fn no_reference_no_read_and_offline_the_read_is_named() {
        let offline = Aws::offline();
        let facts =
            SecretsRotated::gather(&offline, &Params::default(), &[subject(ID, "no-references")]).await.unwrap();
        assert_eq!(facts, vec![References::default()]);
        let err = SecretsRotated::gather(&offline, &Params::default(), &[subject(ID, "non-compliant-rotation-off")])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("secretsmanager:DescribeSecret"), "{err}");
    }

    #[rstest]
    #[case("no reference here", &[])]
    #[case("{{resolve:secretsmanager:prod/db}}", &[Target::Secret("prod/db".into())])]
    #[case(
        r#"{"Db": "{{resolve:secretsmanager:prod/db:SecretString:password}}", "Key": "{{resolve:ssm-secure:/prod/api/key:3}}"}"#,
        &[Target::Secret("prod/db".into()), Target::Parameter("/prod/api/key".into())]
    )]
    #[case(
        "{{resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:deploy/token-AbCdEf:SecretString:token}}",
        &[Target::Secret("arn:aws:secretsmanager:eu-west-1:123456789012:secret:deploy/token-AbCdEf".into())]
    )]
    #[case("{{resolve:ssm:/prod/region}} {{resolve:ssm-secure:arn:aws:ssm:us-east-1:1:parameter/x}}", &[])]
    #[case("{{resolve:secretsmanager:prod/db", &[])]
    fn finds_dynamic_references(#[case] text: &str, #[case] expected: &[Target]) {
        assert_eq!(dynamic_references(text), expected);
    }

    #[test]
    fn a_variable_list_known_only_at_deployment_is_not_applicable() {
        let mut pipeline = subject::<PipelineConfiguration>(ID, "compliant-rotated");
        let json = serde_json::json!({"stages": [{"name": "Build", "actions": [{
            "name": "Build",
            "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
            "configuration": {"ProjectName": "app", "EnvironmentVariables": unknown::placeholder("!ImportValue build-vars")}
        }]}]});
        pipeline.resource.pipeline = serde_json::from_value(json).unwrap();
        let verdict = SecretsRotated::evaluate(&pipeline, &References::default(), &Params::default());
        assert_eq!(verdict.compliance, Compliance::NotApplicable, "{}", verdict.reason);
        assert_eq!(
            verdict.reason,
            "cannot judge the pipeline's secrets: stage `Build` action `Build` setting `EnvironmentVariables` is known \
             only at deployment"
        );
    }
}
