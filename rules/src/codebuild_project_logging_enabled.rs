//! # codebuild-project-logging-enabled
//!
//! A CodeBuild project must keep its build logs, in CloudWatch Logs or S3, and, when the
//! parameters name them, only in the allowed log groups and buckets: build logs are the record
//! of what ran with the project's role, needed to investigate a compromised build.
//! Parity: AWS Config's `codebuild-project-logging-enabled` (same parameters; a log
//! configuration that is absent counts as CodeBuild's default, CloudWatch Logs enabled).
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: `cloudWatchGroupNames` (optional): comma-separated log groups the project
//!   may log to; `s3BucketNames` (optional): comma-separated buckets the project may log to.
//!
//! | scenario | verdict |
//! |---|---|
//! | CloudWatch Logs enabled (explicitly, or by default) | COMPLIANT |
//! | only S3 logs enabled | COMPLIANT |
//! | CloudWatch Logs and S3 logs both disabled | NON_COMPLIANT |
//! | logs go to a group not in `cloudWatchGroupNames` (the default group is `/aws/codebuild/<name>`) | NON_COMPLIANT |
//! | S3 logs go to a bucket not in `s3BucketNames` | NON_COMPLIANT |
//! | every enabled destination is allowed | COMPLIANT |

use pipesec_engine::params::comma_list;
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Rule, Severity, Verdict};
use serde::Deserialize;

pub const ID: &str = "codebuild-project-logging-enabled";

#[derive(Debug)]
pub struct LoggingEnabled;

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Params {
    #[serde(rename = "cloudWatchGroupNames", deserialize_with = "comma_list")]
    pub cloud_watch_group_names: Vec<String>,
    #[serde(rename = "s3BucketNames", deserialize_with = "comma_list")]
    pub s3_bucket_names: Vec<String>,
}

fn is_enabled(status: Option<&str>) -> bool {
    status.is_some_and(|status| status.eq_ignore_ascii_case("ENABLED"))
}

impl Rule for LoggingEnabled {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::Medium;
    const AREA: Area = Area::Monitoring;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "Enable CloudWatch Logs (or S3 logs) in the project's logsConfig, to a log group or bucket on the allowed list.";
    const INPUTS: &'static [&'static str] = &["logsConfig"];
    const PARAMETER_INPUTS: &'static [(&'static str, &'static str)] = &[("cloudWatchGroupNames", "name")];
    type Resource = CodeBuildProject;
    type Params = Params;
    type Facts = ();

    fn evaluate(subject: &Subject<CodeBuildProject>, (): &(), params: &Params) -> Verdict {
        let logs = &subject.resource.logs_config;
        // CodeBuild logs to CloudWatch unless told not to.
        let cloud_watch = match &logs.cloud_watch_logs {
            None => Some(None),
            Some(config) if config.status.is_none() || is_enabled(config.status.as_deref()) => {
                Some(config.group_name.as_deref().filter(|group| !group.is_empty()))
            }
            Some(_) => None,
        };
        let s3 = logs.s3_logs.as_ref().filter(|config| is_enabled(config.status.as_deref()));
        if cloud_watch.is_none() && s3.is_none() {
            return Verdict::non_compliant(
                "neither CloudWatch Logs nor S3 logs are enabled: no record of what the builds ran is kept",
            );
        }
        let mut findings = Vec::new();
        let mut destinations = Vec::new();
        if let Some(group) = cloud_watch {
            let group = group.map_or_else(|| format!("/aws/codebuild/{}", subject.project_name()), str::to_owned);
            if !params.cloud_watch_group_names.is_empty() && !params.cloud_watch_group_names.contains(&group) {
                findings.push(format!("CloudWatch Logs go to group `{group}`, which is not in cloudWatchGroupNames"));
            }
            destinations.push(format!("CloudWatch Logs group `{group}`"));
        }
        if let Some(s3) = s3 {
            let bucket = s3.location.as_deref().unwrap_or_default().split('/').next().unwrap_or_default();
            if !params.s3_bucket_names.is_empty() && !params.s3_bucket_names.iter().any(|allowed| allowed == bucket) {
                findings.push(format!("S3 logs go to bucket `{bucket}`, which is not in s3BucketNames"));
            }
            destinations.push(format!("S3 bucket `{bucket}`"));
        }
        Verdict::from_findings(&findings, format!("build logs go to {}", destinations.join(" and ")))
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::{list, subject};

    #[rstest]
    #[case::cloud_watch_enabled("compliant-cloudwatch", &[], &[], Compliance::Compliant)]
    #[case::no_logs_config_means_default_cloud_watch("compliant-default-logs", &[], &[], Compliance::Compliant)]
    #[case::only_s3_enabled("compliant-s3-only", &[], &[], Compliance::Compliant)]
    #[case::all_logs_disabled("non-compliant-disabled", &[], &[], Compliance::NonCompliant)]
    #[case::group_not_allowed("compliant-cloudwatch", &["/org/builds"], &[], Compliance::NonCompliant)]
    #[case::group_allowed("compliant-cloudwatch", &["/org/builds", "/ci/api-service"], &[], Compliance::Compliant)]
    #[case::default_group_allowed("compliant-default-logs", &["/aws/codebuild/legacy-service"], &[], Compliance::Compliant)]
    #[case::bucket_not_allowed("compliant-s3-only", &[], &["other-bucket"], Compliance::NonCompliant)]
    #[case::bucket_allowed("compliant-s3-only", &[], &["central-build-logs"], Compliance::Compliant)]
    fn scenario(
        #[case] fixture: &str,
        #[case] groups: &[&str],
        #[case] buckets: &[&str],
        #[case] expected: Compliance,
    ) {
        let params = Params { cloud_watch_group_names: list(groups), s3_bucket_names: list(buckets) };
        let verdict = LoggingEnabled::evaluate(&subject(ID, fixture), &(), &params);
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn reason_names_the_destination_at_fault() {
        let params = Params { cloud_watch_group_names: list(&["/org/builds"]), s3_bucket_names: Vec::new() };
        let verdict = LoggingEnabled::evaluate(&subject(ID, "compliant-cloudwatch"), &(), &params);
        assert!(verdict.reason.contains("group `/ci/api-service`"), "{}", verdict.reason);
    }
}
