//! # codebuild-project-buildspec-protected
//!
//! A CodeBuild project should not take its buildspec from the source repository it builds:
//! whoever can push a branch (or open a pull request that triggers a build) then decides which
//! commands run with the project's service role and secrets. The buildspec should be inline in
//! the project, or an object in a trusted S3 location that only the pipeline owners can change.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `trustedBuildspecLocations` (optional): comma-separated S3 locations
//!   (`arn:aws:s3:::bucket/prefix` or `bucket/prefix`) a buildspec may come from. When set, a
//!   buildspec in S3 must be under one of them; when not set, any S3 buildspec is accepted.
//!
//! | scenario | verdict |
//! |---|---|
//! | inline buildspec | COMPLIANT |
//! | buildspec in S3 (no trusted list) | COMPLIANT |
//! | buildspec in S3 under a trusted location | COMPLIANT |
//! | buildspec in S3 outside the trusted locations | NON_COMPLIANT |
//! | no buildspec (the repository's `buildspec.yml`) | NON_COMPLIANT |
//! | a path in the repository (`ci/buildspec.yml`) | NON_COMPLIANT |

use pipesec_engine::params::comma_list;
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};
use serde::Deserialize;

pub const ID: &str = "codebuild-project-buildspec-protected";

#[derive(Debug)]
pub struct BuildspecProtected;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "trustedBuildspecLocations", deserialize_with = "comma_list")]
    pub trusted_buildspec_locations: Vec<String>,
}

/// Where a buildspec comes from.
#[derive(Debug, PartialEq, Eq)]
enum BuildspecSource<'a> {
    Inline,
    /// `bucket/key`, from an S3 object ARN.
    S3(&'a str),
    Repository(&'a str),
}

fn buildspec_source(buildspec: Option<&str>) -> BuildspecSource<'_> {
    let Some(buildspec) = buildspec.map(str::trim).filter(|b| !b.is_empty()) else {
        return BuildspecSource::Repository("buildspec.yml");
    };
    // An S3 object ARN in any partition: arn:aws:s3:::bucket/key.
    if let Some(object) =
        buildspec.strip_prefix("arn:").and_then(|rest| rest.split_once(":s3:::")).map(|(_, object)| object)
    {
        return BuildspecSource::S3(object);
    }
    // A file name is one line with no YAML structure; anything else is the buildspec itself,
    // which needs a `version` key (`{version: 0.2, ...}` and `--- ...` are one-line buildspecs).
    let structured = buildspec.starts_with("---")
        || ["\n", "{", "version:", "\"version\""].iter().any(|marker| buildspec.contains(marker));
    if structured { BuildspecSource::Inline } else { BuildspecSource::Repository(buildspec) }
}

/// A repository path as annotations may quote it: only path characters, so a value that was
/// meant as an inline buildspec (and may hold secrets) is never echoed.
fn quotable_path(path: &str) -> Option<&str> {
    let path_like = path.len() <= 200
        && path.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_' | '+' | '@'));
    path_like.then_some(path)
}

fn is_trusted(object: &str, trusted: &[String]) -> bool {
    trusted.iter().any(|location| {
        let location = location
            .strip_prefix("arn:")
            .and_then(|rest| rest.split_once(":s3:::"))
            .map_or(location.as_str(), |(_, l)| l);
        let location = location.trim_end_matches('/');
        object == location || object.starts_with(&format!("{location}/"))
    })
}

impl Rule for BuildspecProtected {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::PipelineIntegrity;
    const WEIGHT: u32 = 4;
    const REMEDIATION: &'static str = "Define the buildspec inline in the project, or point it at an S3 object that only the pipeline owners can write.";
    const INPUTS: &'static [&'static str] = &["source.buildSpec", "source.buildspec"];
    type Resource = CodeBuildProject;
    type Params = Params;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildProject>, (): &(), params: &Params) -> Verdict {
        let buildspec = subject.resource.source.first().and_then(|source| source.buildspec.as_deref());
        let trusted = &params.trusted_buildspec_locations;
        match buildspec_source(buildspec) {
            BuildspecSource::Inline => Verdict::compliant("the buildspec is inline in the project"),
            BuildspecSource::S3(object) if trusted.is_empty() || is_trusted(object, trusted) => {
                Verdict::compliant(format!("the buildspec comes from S3 (`{object}`)"))
            }
            BuildspecSource::S3(object) => Verdict::non_compliant(format!(
                "the buildspec comes from S3 object `{object}`, outside trustedBuildspecLocations"
            )),
            BuildspecSource::Repository(path) => Verdict::non_compliant(format!(
                "the buildspec is read from the source repository ({}): whoever can push to it chooses \
                 what runs with the project's role; use an inline buildspec or a trusted S3 location",
                quotable_path(path).map_or_else(|| "a file".to_owned(), |path| format!("`{path}`"))
            )),
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
    #[case::inline("compliant-inline", &[], Compliance::Compliant)]
    #[case::s3_without_trusted_list("compliant-s3", &[], Compliance::Compliant)]
    #[case::s3_trusted("compliant-s3", &["arn:aws:s3:::central-buildspecs/api"], Compliance::Compliant)]
    #[case::s3_trusted_bucket("compliant-s3", &["central-buildspecs"], Compliance::Compliant)]
    #[case::s3_not_trusted("compliant-s3", &["arn:aws:s3:::other-bucket"], Compliance::NonCompliant)]
    #[case::default_repository_file("non-compliant-default", &[], Compliance::NonCompliant)]
    #[case::repository_path("non-compliant-repository-path", &[], Compliance::NonCompliant)]
    fn scenario(#[case] fixture: &str, #[case] trusted: &[&str], #[case] expected: Compliance) {
        let params = Params { trusted_buildspec_locations: list(trusted) };
        let verdict = BuildspecProtected::evaluate(&subject(ID, fixture), &(), &params);
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[rstest]
    #[case::absent(None, BuildspecSource::Repository("buildspec.yml"))]
    #[case::file(Some("ci/buildspec.yml"), BuildspecSource::Repository("ci/buildspec.yml"))]
    #[case::versioned_file(Some("ci/version-2/spec.yml"), BuildspecSource::Repository("ci/version-2/spec.yml"))]
    #[case::inline_yaml(Some("version: 0.2\nphases:\n  build:\n    commands: [make]"), BuildspecSource::Inline)]
    #[case::one_line_yaml(Some("--- {version: 0.2, phases: {build: {commands: [make]}}}"), BuildspecSource::Inline)]
    #[case::one_line_flow(Some("{\"version\": \"0.2\"}"), BuildspecSource::Inline)]
    #[case::gov_cloud_s3(Some("arn:aws-us-gov:s3:::specs/app.yml"), BuildspecSource::S3("specs/app.yml"))]
    fn classifies(#[case] buildspec: Option<&str>, #[case] expected: BuildspecSource<'_>) {
        assert_eq!(buildspec_source(buildspec), expected);
    }

    #[test]
    fn only_path_like_values_are_quoted() {
        assert_eq!(quotable_path("ci/build-spec_2.yml"), Some("ci/build-spec_2.yml"));
        for value in ["phases: build: DEPLOY_KEY=s3cr3t", "a b.yml", "token=abc;x", &"a".repeat(201)] {
            assert_eq!(quotable_path(value), None, "{value}");
        }
    }

    #[test]
    fn a_bucket_prefix_does_not_trust_a_longer_bucket_name() {
        assert!(!is_trusted("central-buildspecs-evil/app.yml", &list(&["central-buildspecs"])));
    }
}
