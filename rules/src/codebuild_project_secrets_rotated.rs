//! # codebuild-project-secrets-rotated
//!
//! A secret a build reads lives as long as nobody rotates it: every build log, every compromised
//! dependency and every person who could run a build with an overridden buildspec may have seen
//! it. Every Secrets Manager secret a project's environment references (`SECRETS_MANAGER`
//! variables) must have rotation enabled and have been rotated within `maxAgeDays` (its creation
//! counts when it was never rotated yet); every Parameter Store `SecureString` it references
//! (`PARAMETER_STORE` variables) must have changed within `maxAgeDays` (Parameter Store cannot
//! rotate). A referenced secret or parameter that does not exist is NON_COMPLIANT: the build
//! fails, or reads whatever someone creates under that name.
//!
//! Reads, never a value: DescribeSecret once per distinct secret per invocation (in the region
//! of a secret given by ARN), DescribeParameters with a `Name` `Equals` filter, 50 names a
//! call. A refused read (AccessDenied, e.g. another account's secret) is NOT_APPLICABLE naming
//! it, unless what is known already makes the project NON_COMPLIANT. Plain `String` parameters
//! are not secrets and are not judged; parameters referenced by ARN and `secrets-manager`
//! references inside a buildspec are not read (the buildspec is the build's own file). The
//! reads and the judgment are shared with `codepipeline-secrets-rotated`
//! ([`crate::common::secret_rotation`]); this module finds the project's references.
//!
//! Parity (each covers a part, for any secret rather than those a build uses): AWS Config
//! `secretsmanager-rotation-enabled-check`, `secretsmanager-scheduled-rotation-success-check`,
//! `secretsmanager-secret-periodic-rotation`; Security Hub SecretsManager.1 (rotation enabled),
//! SecretsManager.4 (rotated within a number of days); Prowler
//! `secretsmanager_automatic_rotation_enabled`.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep (time passes and
//!   secrets change without notifying the project's rules)
//! - **Parameters**: `maxAgeDays` (optional, 1 to 3650, default 90)
//!
//! | scenario | verdict |
//! |---|---|
//! | a secret with rotation, rotated within `maxAgeDays` | COMPLIANT |
//! | a SecureString changed within `maxAgeDays` | COMPLIANT |
//! | a secret without rotation | NON_COMPLIANT |
//! | a secret last rotated (or, never rotated, created) more than `maxAgeDays` ago | NON_COMPLIANT |
//! | a SecureString older than `maxAgeDays` | NON_COMPLIANT |
//! | a referenced secret or parameter that does not exist | NON_COMPLIANT |
//! | a plain `String` parameter | not judged |
//! | a read refused, nothing else wrong | NOT_APPLICABLE, naming the read |
//! | no secret or parameter referenced | NOT_APPLICABLE |

use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::resources::codebuild::EnvironmentVariableType;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict};

use crate::common::secret_rotation::{self, Params, Reference, References, Target, secret_id};

pub const ID: &str = "codebuild-project-secrets-rotated";

#[derive(Debug)]
pub struct SecretsRotated;

/// The project's references: its `SECRETS_MANAGER` variables (by secret id) and its
/// `PARAMETER_STORE` variables given by name.
fn references(subject: &Subject<CodeBuildProject>) -> Vec<Reference> {
    let mut references = Vec::new();
    for variable in &subject.resource.environment.environment_variables {
        let Some(value) = variable.value.as_deref().filter(|value| !value.is_empty()) else { continue };
        let target = match variable.kind {
            EnvironmentVariableType::SecretsManager => Target::Secret(secret_id(value).to_owned()),
            EnvironmentVariableType::ParameterStore if !value.starts_with("arn:") => {
                Target::Parameter(value.to_owned())
            }
            _ => continue,
        };
        references.push(Reference { place: format!("variable `{}`", variable.name), target });
    }
    references
}

impl Rule for SecretsRotated {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::AccessControl;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "Turn on rotation for every Secrets Manager secret the project reads and rotate \
         it; change SecureString parameters older than maxAgeDays; fix references to secrets that do not exist.";
    const READS: &'static [&'static str] = secret_rotation::READS;
    const PERIODIC: bool = true;
    const INPUTS: &'static [&'static str] = &["environment.environmentVariables"];
    type Resource = CodeBuildProject;
    type Params = Params;
    type Facts = References;

    async fn gather(aws: &Aws, _: &Params, subjects: &[Subject<CodeBuildProject>]) -> Result<Vec<References>> {
        let references: Vec<Vec<Reference>> = subjects.iter().map(references).collect();
        secret_rotation::gather(aws, &references).await
    }

    fn evaluate(subject: &Subject<CodeBuildProject>, facts: &References, params: &Params) -> Verdict {
        secret_rotation::verdict(&references(subject), facts, params, "project")
    }
}

#[cfg(test)]
mod tests;
