//! # codebuild-project-source-no-credentials
//!
//! No source location of a CodeBuild project, primary or secondary, may embed credentials
//! (`https://user:password@…`, a token as the user name): anyone who can read the project can
//! read them, and they outlive the person who pasted them. Use an AWS CodeConnections connection
//! or CodeBuild source credentials instead.
//! Parity: AWS Config's `codebuild-project-source-repo-url-check` and Security Hub CodeBuild.1
//! (Bitbucket URLs with sign-in credentials); this rule checks every provider (GitHub, GitHub
//! Enterprise, Bitbucket, GitLab, CodeCommit, …) and secondary sources too.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: none
//!
//! | scenario | verdict |
//! |---|---|
//! | plain repository URLs | COMPLIANT |
//! | a location with `user:password@` | NON_COMPLIANT |
//! | a location with a token as the user name (`https://ghp_…@github.com/…`) | NON_COMPLIANT |
//! | a location with any other user information (`https://access-token@…`, `jdoe@`, `jdoe:@`) | NON_COMPLIANT |
//! | a secondary source with credentials | NON_COMPLIANT, named by its identifier |
//!
//! A user name alone is a finding too: whether it is a token, a placeholder for one or a
//! person's name cannot be told from the URL, and a build's source needs none. The annotation
//! says what kind of user information it found, never the text.

use std::sync::LazyLock;

use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::resources::codebuild::ProjectSource;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, NoParameters, Rule, Severity, Verdict, unknown};
use regex::Regex;

use crate::common::secrets;

pub const ID: &str = "codebuild-project-source-no-credentials";

/// The user-info part of a location: `scheme://<user-info>@host…`, or the scp-like
/// `<user-info>@host:path` that git also takes.
static USER_INFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z][A-Za-z0-9+.-]*://([^/@?#\s]+)@|([^/@:?#\s]+)@[^/@:\s]+:)").expect("valid pattern")
});

#[derive(Debug)]
pub struct SourceNoCredentials;

/// What kind of user information a location holds, if any; never the text itself.
fn embedded_credentials(location: &str) -> Option<&'static str> {
    let captures = USER_INFO.captures(location.trim())?;
    let user_info = captures.get(1).or_else(|| captures.get(2))?.as_str();
    Some(match user_info.split_once(':') {
        Some((_, password)) if !password.is_empty() => "a user name and password",
        // A token used as the user name (`https://<token>@github.com/…`).
        _ if secrets::detect("SOURCE_USER", Some(user_info))
            .is_some_and(|kind| kind != secrets::SecretKind::SecretName) =>
        {
            "an access token"
        }
        _ => "a user name",
    })
}

/// Whether the part of a location where user information would be is unknown before
/// deployment: no known scheme, or a placeholder before the host ends.
fn user_info_unknown(location: &str) -> bool {
    if !unknown::is_unknown(location) {
        return false;
    }
    match location.split_once("://") {
        Some((scheme, rest)) => {
            unknown::is_unknown(scheme) || unknown::is_unknown(rest.split('/').next().unwrap_or(rest))
        }
        None => true,
    }
}

fn describe(source: &ProjectSource, primary: bool) -> String {
    let kind = source.source_type.as_deref().unwrap_or("unknown type");
    if primary {
        format!("the primary source ({kind})")
    } else {
        format!("secondary source `{}` ({kind})", source.source_identifier.as_deref().unwrap_or("(unnamed)"))
    }
}

impl Rule for SourceNoCredentials {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Critical;
    const AREA: Area = Area::AccessControl;
    const WEIGHT: u32 = 5;
    const REMEDIATION: &'static str = "Remove the credentials from the source location, connect the repository with AWS CodeConnections or CodeBuild source credentials, and revoke the exposed credentials.";
    const INPUTS: &'static [&'static str] = &["source", "secondarySources"];
    // A location partly unknown before deployment is judged on its known part when that part
    // shows where user information would be; otherwise `evaluate` says NOT_APPLICABLE.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &["source.location", "secondarySources.location"];
    type Resource = CodeBuildProject;
    type Params = NoParameters;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildProject>, (): &(), _: &NoParameters) -> Verdict {
        let project = &subject.resource;
        let sources =
            project.source.iter().map(|s| (s, true)).chain(project.secondary_sources.iter().map(|s| (s, false)));
        let (mut findings, mut unknown) = (Vec::new(), Vec::new());
        for (source, primary) in sources {
            let Some(location) = source.location.as_deref() else { continue };
            if let Some(credentials) = embedded_credentials(location) {
                findings.push(format!("{} embeds {credentials} in its location", describe(source, primary)));
            } else if user_info_unknown(location) {
                unknown.push(describe(source, primary));
            }
        }
        if findings.is_empty() && !unknown.is_empty() {
            Verdict::not_applicable(format!(
                "the user information of {} is unknown before deployment",
                unknown.join(", ")
            ))
        } else if findings.is_empty() {
            Verdict::compliant("no source location embeds credentials")
        } else {
            Verdict::non_compliant(format!(
                "{}; use a CodeConnections connection or source credentials",
                findings.join("; ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    #[rstest]
    #[case::plain_urls("compliant-plain-urls", Compliance::Compliant)]
    #[case::bitbucket_user_password("non-compliant-bitbucket-password", Compliance::NonCompliant)]
    #[case::token_as_user("non-compliant-github-token", Compliance::NonCompliant)]
    #[case::user_name_only("non-compliant-user-name", Compliance::NonCompliant)]
    #[case::secondary_source("non-compliant-secondary", Compliance::NonCompliant)]
    fn scenario(#[case] fixture: &str, #[case] expected: Compliance) {
        let verdict = SourceNoCredentials::evaluate(&subject(ID, fixture), &(), &NoParameters {});
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[rstest]
    #[case::user_and_password(
        "https://deploy:Sup3rS3cret@bitbucket.org/team/repo.git",
        Some("a user name and password")
    )]
    #[case::github_token(
        "https://ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8@github.com/o/r.git",
        Some("an access token")
    )]
    #[case::gitlab_oauth(
        "https://oauth2:glpat-aB3dE5gH7jK9mN1pQ3sT@gitlab.com/o/r.git",
        Some("a user name and password")
    )]
    #[case::user_only("https://jdoe@bitbucket.org/team/repo.git", Some("a user name"))]
    #[case::placeholder_user("https://access-token@github.com/username/repo.git", Some("a user name"))]
    #[case::empty_password("https://jdoe:@bitbucket.org/team/repo.git", Some("a user name"))]
    #[case::scp_like("git@github.com:o/r.git", Some("a user name"))]
    #[case::email_in_path("https://github.com/o/r.git?ref=jdoe@example.com", None)]
    #[case::no_user_info("https://github.com/o/r.git", None)]
    #[case::codecommit("https://git-codecommit.us-east-1.amazonaws.com/v1/repos/app", None)]
    #[case::s3("my-bucket/source.zip", None)]
    #[case::s3_key_with_at("my-bucket/builds/v1@2/source.zip", None)]
    fn finds_credentials(#[case] location: &str, #[case] expected: Option<&str>) {
        assert_eq!(embedded_credentials(location), expected);
    }

    #[rstest]
    #[case::unknown_path("https://github.com/example/app-<unknown before deployment: ${AWS::Region}>.git", false)]
    #[case::unknown_host("https://<unknown before deployment: ${GitHost}>/example/app.git", true)]
    #[case::wholly_unknown("<unknown before deployment: !Ref RepositoryUrl>", true)]
    #[case::known("https://github.com/example/app.git", false)]
    fn user_info_is_unknown_only_where_it_would_be(#[case] location: &str, #[case] expected: bool) {
        assert_eq!(user_info_unknown(location), expected);
    }

    #[test]
    fn reason_never_contains_the_credential() {
        let verdict =
            SourceNoCredentials::evaluate(&subject(ID, "non-compliant-bitbucket-password"), &(), &NoParameters {});
        assert!(!verdict.reason.contains("Sup3rS3cret"), "{}", verdict.reason);
        assert!(verdict.reason.contains("the primary source (BITBUCKET)"), "{}", verdict.reason);
        let verdict = SourceNoCredentials::evaluate(&subject(ID, "non-compliant-user-name"), &(), &NoParameters {});
        assert!(!verdict.reason.contains("access-token"), "{}", verdict.reason);
        assert!(verdict.reason.contains("embeds a user name"), "{}", verdict.reason);
    }
}
