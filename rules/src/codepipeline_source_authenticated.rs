//! # codepipeline-source-authenticated
//!
//! Source actions must authenticate through a managed connection or an AWS-native source, not a
//! token kept in the action: GitHub version 1 source actions hold a personal OAuth token in the
//! pipeline (it acts as the person who created it, does not expire, and is visible to anyone who
//! can update the pipeline). Use an AWS CodeConnections connection (`CodeStarSourceConnection`),
//! CodeCommit, S3 or ECR.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep
//! - **Parameters**: none
//!
//! | scenario | verdict |
//! |---|---|
//! | connection, CodeCommit, S3 or ECR sources | COMPLIANT |
//! | a GitHub version 1 (ThirdParty) source action | NON_COMPLIANT, naming the action |
//! | any source action with a token or password in its configuration | NON_COMPLIANT |

use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, NoParameters, Rule, Severity, Verdict};

use crate::common::pipeline;

pub const ID: &str = "codepipeline-source-authenticated";

/// Configuration keys that hold a credential in a source action.
const CREDENTIAL_KEYS: &[&str] = &["OAuthToken", "Token", "Password", "PersonalAccessToken", "AccessToken"];

#[derive(Debug)]
pub struct SourceAuthenticated;

impl Rule for SourceAuthenticated {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::AccessControl;
    const WEIGHT: u32 = 4;
    const REMEDIATION: &'static str = "Replace the source action with a CodeStarSourceConnection action using an AWS \
         CodeConnections connection (or CodeCommit, S3, ECR), then revoke the old token.";
    const INPUTS: &'static [&'static str] = &[
        "pipeline.stages.actions.actionTypeId",
        "pipeline.stages.actions.configuration.OAuthToken",
        "pipeline.stages.actions.configuration.Token",
        "pipeline.stages.actions.configuration.Password",
        "pipeline.stages.actions.configuration.PersonalAccessToken",
        "pipeline.stages.actions.configuration.AccessToken",
    ];
    // Only whether a credential setting is there counts, never its value.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &[
        "pipeline.stages.actions.configuration.OAuthToken",
        "pipeline.stages.actions.configuration.Token",
        "pipeline.stages.actions.configuration.Password",
        "pipeline.stages.actions.configuration.PersonalAccessToken",
        "pipeline.stages.actions.configuration.AccessToken",
    ];
    type Resource = PipelineConfiguration;
    type Params = NoParameters;
    type Facts = ();

    fn evaluate(subject: &Subject<PipelineConfiguration>, (): &(), _: &NoParameters) -> Verdict {
        let findings: Vec<String> = pipeline::actions(&subject.resource.pipeline)
            .into_iter()
            .filter(|staged| staged.action.action_type_id.category().eq_ignore_ascii_case("Source"))
            .filter_map(|staged| {
                let kind = &staged.action.action_type_id;
                if kind.owner() == "ThirdParty" && kind.provider() == "GitHub" {
                    return Some(format!("{} uses GitHub version 1 with an OAuth token", staged.describe()));
                }
                CREDENTIAL_KEYS
                    .iter()
                    .find(|key| staged.action.configuration.contains_key(key))
                    .map(|key| format!("{} keeps a credential in its `{key}` setting", staged.describe()))
            })
            .collect();
        Verdict::from_findings(&findings, "every source action authenticates through a connection or an AWS source")
    }
}

#[cfg(test)]
mod tests {
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    #[rstest]
    #[case::connection_source("compliant-connection", Compliance::Compliant)]
    #[case::codecommit_and_s3_sources("compliant-codecommit-s3", Compliance::Compliant)]
    #[case::github_version_1("non-compliant-github-v1", Compliance::NonCompliant)]
    #[case::token_in_configuration("non-compliant-token-setting", Compliance::NonCompliant)]
    fn scenario(#[case] fixture: &str, #[case] expected: Compliance) {
        let verdict = SourceAuthenticated::evaluate(&subject(ID, fixture), &(), &NoParameters {});
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn reason_names_the_action() {
        let verdict = SourceAuthenticated::evaluate(&subject(ID, "non-compliant-github-v1"), &(), &NoParameters {});
        assert!(verdict.reason.contains("stage `Source` action `GitHub`"), "{}", verdict.reason);
    }
}
