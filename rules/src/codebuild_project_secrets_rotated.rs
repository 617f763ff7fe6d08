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
//! references inside a buildspec are not read (the buildspec is the build's own file).
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

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::resources::codebuild::EnvironmentVariableType;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, Result, Rule, Severity, Verdict};
use serde::{Deserialize, Deserializer};

mod readers;

pub const ID: &str = "codebuild-project-secrets-rotated";

const DEFAULT_MAX_AGE_DAYS: u32 = 90;
const MAX_MAX_AGE_DAYS: u32 = 3650;

#[derive(Debug)]
pub struct SecretsRotated;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "maxAgeDays", deserialize_with = "max_age_days")]
    pub max_age_days: Option<u32>,
}

fn max_age_days<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    match pipesec_engine::params::whole_number(deserializer)? {
        Some(days) if !(1..=MAX_MAX_AGE_DAYS).contains(&days) => {
            Err(serde::de::Error::custom(format!("expected 1 to {MAX_MAX_AGE_DAYS} days, not {days}")))
        }
        days => Ok(days),
    }
}

/// One read as answered: its value, or refused (the IAM action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readable<T> {
    Known(T),
    Denied(&'static str),
}

/// A Secrets Manager secret (DescribeSecret), or none of that id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Secret {
    NotFound,
    Found { rotation_enabled: bool, last_rotated: Option<Timestamp>, created: Option<Timestamp> },
}

/// A Parameter Store parameter (DescribeParameters), or none of that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parameter {
    NotFound,
    /// `kind`: `String`, `StringList` or `SecureString`.
    Found {
        kind: String,
        last_modified: Option<Timestamp>,
    },
}

/// What was read for one project, as of `as_of` (when it was read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    pub as_of: Option<Timestamp>,
    /// By secret id as the variable gives it (name or ARN).
    pub secrets: BTreeMap<String, Readable<Secret>>,
    /// By parameter name.
    pub parameters: BTreeMap<String, Readable<Parameter>>,
}

/// The secret id of a SECRETS_MANAGER variable's value
/// (`secret-id[:json-key[:version-stage[:version-id]]]`; a secret ARN has seven `:` fields).
pub fn secret_id(value: &str) -> &str {
    let fields = if value.starts_with("arn:") { 7 } else { 1 };
    match value.match_indices(':').nth(fields - 1) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

/// The region of a secret given by ARN.
fn secret_region(id: &str) -> Option<&str> {
    id.strip_prefix("arn:").and_then(|rest| rest.split(':').nth(2)).filter(|region| !region.is_empty())
}

/// `(variable name, what it references)`.
type Reference<'a> = (&'a str, &'a str);

/// The `(variable, secret id)` and `(variable, parameter name)` references of a project.
fn references(subject: &Subject<CodeBuildProject>) -> (Vec<Reference<'_>>, Vec<Reference<'_>>) {
    let (mut secrets, mut parameters) = (Vec::new(), Vec::new());
    for variable in &subject.resource.environment.environment_variables {
        let Some(value) = variable.value.as_deref().filter(|value| !value.is_empty()) else { continue };
        match variable.kind {
            EnvironmentVariableType::SecretsManager => secrets.push((variable.name.as_str(), secret_id(value))),
            EnvironmentVariableType::ParameterStore if !value.starts_with("arn:") => {
                parameters.push((variable.name.as_str(), value));
            }
            _ => {}
        }
    }
    (secrets, parameters)
}

fn days(age: SignedDuration) -> i64 {
    age.as_hours() / 24
}

impl Rule for SecretsRotated {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::AccessControl;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "Turn on rotation for every Secrets Manager secret the project reads and rotate \
         it; change SecureString parameters older than maxAgeDays; fix references to secrets that do not exist.";
    const READS: &'static [&'static str] = &["secretsmanager:DescribeSecret", "ssm:DescribeParameters"];
    const PERIODIC: bool = true;
    const INPUTS: &'static [&'static str] = &["environment.environmentVariables"];
    type Resource = CodeBuildProject;
    type Params = Params;
    type Facts = References;

    async fn gather(aws: &Aws, _: &Params, subjects: &[Subject<CodeBuildProject>]) -> Result<Vec<References>> {
        let (mut secret_ids, mut parameter_names) = (BTreeSet::new(), BTreeSet::new());
        for subject in subjects {
            let (secrets, parameters) = references(subject);
            secret_ids.extend(secrets.into_iter().map(|(_, id)| id));
            parameter_names.extend(parameters.into_iter().map(|(_, name)| name));
        }
        if secret_ids.is_empty() && parameter_names.is_empty() {
            return Ok(subjects.iter().map(|_| References::default()).collect());
        }
        let as_of = Timestamp::now();
        let mut secrets = BTreeMap::new();
        for id in secret_ids {
            secrets.insert(id, readers::secret(aws, id, secret_region(id)).await?);
        }
        let parameters = readers::parameters(aws, parameter_names.into_iter().collect()).await?;
        Ok(subjects
            .iter()
            .map(|subject| {
                let (own_secrets, own_parameters) = references(subject);
                References {
                    as_of: Some(as_of),
                    secrets: own_secrets
                        .into_iter()
                        .filter_map(|(_, id)| secrets.get(id).map(|read| (id.to_owned(), read.clone())))
                        .collect(),
                    parameters: own_parameters
                        .into_iter()
                        .filter_map(|(_, name)| parameters.get(name).map(|read| (name.to_owned(), read.clone())))
                        .collect(),
                }
            })
            .collect())
    }

    fn evaluate(subject: &Subject<CodeBuildProject>, facts: &References, params: &Params) -> Verdict {
        let (secrets, parameters) = references(subject);
        if secrets.is_empty() && parameters.is_empty() {
            return Verdict::not_applicable(
                "the project references no Secrets Manager secret or Parameter Store parameter",
            );
        }
        let max_days = params.max_age_days.unwrap_or(DEFAULT_MAX_AGE_DAYS);
        let max_age = SignedDuration::from_hours(i64::from(max_days) * 24);
        let older = |time: Option<Timestamp>| match (facts.as_of, time) {
            (Some(now), Some(time)) => Some(now.duration_since(time)).filter(|age| *age > max_age),
            _ => None,
        };
        let (mut findings, mut unread) = (Vec::new(), Vec::new());
        for (variable, id) in secrets {
            let name = format!("secret `{id}` (variable `{variable}`)");
            match facts.secrets.get(id) {
                None => unread.push(format!("{name} was not read")),
                Some(Readable::Denied(action)) => unread.push(format!("{name}: {action} denied")),
                Some(Readable::Known(Secret::NotFound)) => findings.push(format!("{name} does not exist")),
                Some(Readable::Known(Secret::Found { rotation_enabled, last_rotated, created })) => {
                    if !rotation_enabled {
                        findings.push(format!("{name} has rotation off"));
                    }
                    match (last_rotated, older(last_rotated.or(*created))) {
                        (Some(_), Some(age)) => findings.push(format!("{name} last rotated {} days ago", days(age))),
                        (None, Some(age)) => {
                            findings.push(format!("{name} never rotated, created {} days ago", days(age)));
                        }
                        (_, None) => {}
                    }
                }
            }
        }
        for (variable, parameter) in parameters {
            let name = format!("parameter `{parameter}` (variable `{variable}`)");
            match facts.parameters.get(parameter) {
                None => unread.push(format!("{name} was not read")),
                Some(Readable::Denied(action)) => unread.push(format!("{name}: {action} denied")),
                Some(Readable::Known(Parameter::NotFound)) => findings.push(format!("{name} does not exist")),
                Some(Readable::Known(Parameter::Found { kind, last_modified })) => {
                    if kind == "SecureString"
                        && let Some(age) = older(*last_modified)
                    {
                        findings.push(format!("SecureString {name} last changed {} days ago", days(age)));
                    }
                }
            }
        }
        if !findings.is_empty() {
            findings.extend(unread.into_iter().map(|what| format!("not read: {what}")));
            return Verdict::non_compliant(findings.join("; "));
        }
        if !unread.is_empty() {
            return Verdict::not_applicable(format!("cannot judge the project's secrets: {}", unread.join("; ")));
        }
        Verdict::compliant(format!(
            "every secret the project references rotates and is younger than {max_days} days, and every SecureString \
             changed within them"
        ))
    }
}

#[cfg(test)]
mod tests;
