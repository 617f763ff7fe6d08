//! Whether the secrets a resource references rotate, shared by `codebuild-project-secrets-rotated`
//! and `codepipeline-secrets-rotated`: each rule finds its references (a Secrets Manager secret
//! by name or ARN, a Parameter Store parameter by name, and where it is referenced); this module
//! reads their descriptions once per invocation and judges them against `maxAgeDays`.
//!
//! - A secret must have rotation enabled and have been rotated within `maxAgeDays` (its creation
//!   counts when it was never rotated yet); a `SecureString` parameter must have changed within
//!   `maxAgeDays` (Parameter Store cannot rotate); plain `String` parameters are not judged.
//! - A reference to a secret or parameter that does not exist is a finding: the build fails, or
//!   reads whatever someone creates under that name.
//! - A refused read (AccessDenied, e.g. another account's secret) or a name unknown before
//!   deployment is named, and makes the verdict NOT_APPLICABLE unless something known is wrong.
//!
//! Reads, never a value: DescribeSecret once per distinct secret (in the region of a secret given
//! by ARN), DescribeParameters with a `Name` `Equals` filter, 50 names a call.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use pipesec_engine::{Aws, Result, Verdict, unknown};
use serde::{Deserialize, Deserializer};

mod readers;

/// The AWS actions the reads call, for the rules' `READS`.
pub const READS: &[&str] = &["secretsmanager:DescribeSecret", "ssm:DescribeParameters"];

const DEFAULT_MAX_AGE_DAYS: u32 = 90;
const MAX_MAX_AGE_DAYS: u32 = 3650;

/// The parameter of both rules.
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

/// What a reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Secrets Manager secret id: its name or ARN (see [`secret_id`]).
    Secret(String),
    /// A Parameter Store parameter name.
    Parameter(String),
    /// A setting that may hold references but is known only at deployment (a template value
    /// CloudFormation computes): nothing to read, and the verdict cannot be COMPLIANT.
    Unknown,
}

/// One reference and where it is, e.g. "variable `DB_PASSWORD`", for reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub place: String,
    pub target: Target,
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

/// What was read for one resource, as of `as_of` (when it was read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    pub as_of: Option<Timestamp>,
    /// By secret id as the reference gives it (name or ARN).
    pub secrets: BTreeMap<String, Readable<Secret>>,
    /// By parameter name.
    pub parameters: BTreeMap<String, Readable<Parameter>>,
}

/// The secret id of a reference to a secret (`secret-id[:json-key[:version-stage[:version-id]]]`
/// for a CodeBuild variable, `secret-id[:SecretString:json-key…]` for a dynamic reference; a
/// secret ARN has seven `:` fields, a name none).
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

/// Whether a reference can be read: an unknown setting, or a name with a part unknown before
/// deployment, cannot.
fn readable(target: &Target) -> Option<&Target> {
    match target {
        Target::Secret(name) | Target::Parameter(name) if !unknown::is_unknown(name) => Some(target),
        _ => None,
    }
}

/// Reads what the references of every resource name, each distinct secret and parameter once,
/// and gives each resource the answers for its own references (in the order of `references`).
/// Makes no call when no resource references anything.
pub async fn gather(aws: &Aws, references: &[Vec<Reference>]) -> Result<Vec<References>> {
    let (mut secret_ids, mut parameter_names) = (BTreeSet::new(), BTreeSet::new());
    for reference in references.iter().flatten() {
        match readable(&reference.target) {
            Some(Target::Secret(id)) => secret_ids.insert(id.as_str()),
            Some(Target::Parameter(name)) => parameter_names.insert(name.as_str()),
            Some(Target::Unknown) | None => false,
        };
    }
    if secret_ids.is_empty() && parameter_names.is_empty() {
        return Ok(references.iter().map(|_| References::default()).collect());
    }
    let as_of = Timestamp::now();
    let mut secrets = BTreeMap::new();
    for id in secret_ids {
        secrets.insert(id, readers::secret(aws, id, secret_region(id)).await?);
    }
    let parameters = readers::parameters(aws, parameter_names.into_iter().collect()).await?;
    Ok(references
        .iter()
        .map(|own| {
            let mut facts = References { as_of: Some(as_of), ..References::default() };
            for reference in own {
                match &reference.target {
                    Target::Secret(id) => {
                        if let Some(read) = secrets.get(id.as_str()) {
                            facts.secrets.insert(id.clone(), read.clone());
                        }
                    }
                    Target::Parameter(name) => {
                        if let Some(read) = parameters.get(name) {
                            facts.parameters.insert(name.clone(), read.clone());
                        }
                    }
                    Target::Unknown => {}
                }
            }
            facts
        })
        .collect())
}

fn days(age: SignedDuration) -> i64 {
    age.as_hours() / 24
}

/// The verdict on a resource's references; `holder` names the resource kind ("project",
/// "pipeline").
pub fn verdict(references: &[Reference], facts: &References, params: &Params, holder: &str) -> Verdict {
    if references.is_empty() {
        return Verdict::not_applicable(format!(
            "the {holder} references no Secrets Manager secret or Parameter Store parameter"
        ));
    }
    let max_days = params.max_age_days.unwrap_or(DEFAULT_MAX_AGE_DAYS);
    let max_age = SignedDuration::from_hours(i64::from(max_days) * 24);
    let older = |time: Option<Timestamp>| match (facts.as_of, time) {
        (Some(now), Some(time)) => Some(now.duration_since(time)).filter(|age| *age > max_age),
        _ => None,
    };
    let (mut findings, mut unread) = (Vec::new(), Vec::new());
    for Reference { place, target } in references {
        let name = match target {
            Target::Secret(id) => format!("secret `{id}` ({place})"),
            Target::Parameter(parameter) => format!("parameter `{parameter}` ({place})"),
            Target::Unknown => place.clone(),
        };
        if readable(target).is_none() {
            unread.push(format!("{name} is known only at deployment"));
            continue;
        }
        match target {
            Target::Secret(id) => match facts.secrets.get(id) {
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
            },
            Target::Parameter(parameter) => match facts.parameters.get(parameter) {
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
            },
            Target::Unknown => {}
        }
    }
    if !findings.is_empty() {
        findings.extend(unread.into_iter().map(|what| format!("not read: {what}")));
        return Verdict::non_compliant(findings.join("; "));
    }
    if !unread.is_empty() {
        return Verdict::not_applicable(format!("cannot judge the {holder}'s secrets: {}", unread.join("; ")));
    }
    Verdict::compliant(format!(
        "every secret the {holder} references rotates and is younger than {max_days} days, and every SecureString \
         changed within them"
    ))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[rstest]
    #[case("prod/db", "prod/db")]
    #[case("prod/db:password", "prod/db")]
    #[case("prod/db:password:AWSCURRENT:", "prod/db")]
    #[case("prod/db:SecretString:password", "prod/db")]
    #[case(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
    )]
    #[case(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf:password::",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
    )]
    fn secret_ids(#[case] value: &str, #[case] id: &str) {
        assert_eq!(secret_id(value), id);
    }

    #[test]
    fn max_age_days_is_bounded() {
        let parse =
            |raw: &str| pipesec_engine::params::parse::<Params>(Some(raw)).map(|parsed| parsed.rule.max_age_days);
        assert_eq!(parse(r#"{"maxAgeDays": "30"}"#).unwrap(), Some(30));
        assert!(parse(r#"{"maxAgeDays": "0"}"#).unwrap_err().to_string().contains("maxAgeDays"));
        assert!(parse(r#"{"maxAgeDays": "4000"}"#).is_err());
    }

    #[tokio::test]
    async fn a_name_unknown_before_deployment_is_not_read_and_is_named() {
        let reference = Reference {
            place: "variable `TOKEN`".to_owned(),
            target: Target::Secret(unknown::placeholder("!Ref TokenSecret")),
        };
        let facts = gather(&Aws::offline(), std::slice::from_ref(&vec![reference.clone()])).await.unwrap();
        assert_eq!(facts, vec![References::default()]);
        let verdict = verdict(&[reference], &facts[0], &Params::default(), "pipeline");
        assert_eq!(verdict.compliance, pipesec_engine::Compliance::NotApplicable, "{}", verdict.reason);
        assert!(verdict.reason.contains("known only at deployment"), "{}", verdict.reason);
    }
}
