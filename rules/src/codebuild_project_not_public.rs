//! # codebuild-project-not-public
//!
//! A CodeBuild project must not be public: `PUBLIC_READ` lets anyone on the internet read its
//! build results, logs and artifacts, which routinely contain internal hostnames, dependency
//! versions and secrets a build step printed.
//!
//! AWS Config does not record `projectVisibility`: the rule reads the live projects with
//! `BatchGetProjects`, 100 projects a call.
//!
//! - **Resource**: `AWS::CodeBuild::Project`
//! - **Trigger**: configuration change (including oversized), and periodic sweep (a visibility
//!   change is not a recorded configuration change, so the sweep is what catches it)
//! - **Parameters**: none
//!
//! | scenario | verdict |
//! |---|---|
//! | `PRIVATE` (or no visibility: CodeBuild's default) | COMPLIANT |
//! | `PUBLIC_READ` | NON_COMPLIANT |
//! | the project no longer exists in CodeBuild | NOT_APPLICABLE |

use std::num::NonZeroUsize;

use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, NoParameters, Result, Rule, Severity, Verdict};

use crate::common::codebuild_live::live_projects;

pub const ID: &str = "codebuild-project-not-public";

#[derive(Debug)]
pub struct NotPublic;

/// The live project's visibility.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// CodeBuild does not know the project any more.
    #[default]
    ProjectNotFound,
    Private,
    PublicRead,
}

impl Rule for NotPublic {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::AccessControl;
    const WEIGHT: u32 = 4;
    const REMEDIATION: &'static str = "Set the project's visibility to PRIVATE (UpdateProjectVisibility).";
    const READS: &'static [&'static str] = &["codebuild:BatchGetProjects"];
    const PERIODIC: bool = true;
    /// Every project's live answer held at once took 165 MiB at 10,000 projects, over the
    /// function's 128 MB: a sweep reads and judges 1,000 at a time (bench/README.md, "Sweeps at
    /// scale under emulated rate limits").
    const SWEEP_CHUNK: Option<NonZeroUsize> = NonZeroUsize::new(1000);
    const INPUTS: &'static [&'static str] = &["projectVisibility", "name"];
    // The name only finds the live project; a template, which has no name before deployment
    // when CloudFormation generates it, carries what the rule reads itself.
    const UNKNOWN_TOLERANT: &'static [&'static str] = &["name"];
    type Resource = CodeBuildProject;
    type Params = NoParameters;
    type Facts = Visibility;

    async fn gather(aws: &Aws, _: &NoParameters, subjects: &[Subject<CodeBuildProject>]) -> Result<Vec<Visibility>> {
        // Config does not record the visibility: read it live unless the item has it (a template).
        let live = live_projects(aws, subjects, |subject| subject.resource.project_visibility.is_none()).await?;
        let visibility =
            |value: &str| if value == "PUBLIC_READ" { Visibility::PublicRead } else { Visibility::Private };
        Ok(subjects
            .iter()
            .zip(live)
            .map(|(subject, project)| match (subject.resource.project_visibility.as_deref(), project) {
                (Some(recorded), _) => visibility(recorded),
                (None, None) => Visibility::ProjectNotFound,
                (None, Some(project)) => visibility(project.project_visibility().map_or("", |v| v.as_str())),
            })
            .collect())
    }

    fn evaluate(_: &Subject<CodeBuildProject>, visibility: &Visibility, _: &NoParameters) -> Verdict {
        match visibility {
            Visibility::Private => Verdict::compliant("the project is private"),
            Visibility::PublicRead => Verdict::non_compliant(
                "the project is public (projectVisibility PUBLIC_READ): anyone can read its build logs and artifacts",
            ),
            Visibility::ProjectNotFound => Verdict::not_applicable("the project no longer exists in CodeBuild"),
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_codebuild::Client as CodeBuild;
    use aws_sdk_codebuild::operation::batch_get_projects::BatchGetProjectsOutput;
    use aws_sdk_codebuild::types::{Project, ProjectVisibilityType};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    #[rstest]
    #[case::private(Visibility::Private, Compliance::Compliant)]
    #[case::public_read(Visibility::PublicRead, Compliance::NonCompliant)]
    #[case::project_gone(Visibility::ProjectNotFound, Compliance::NotApplicable)]
    fn scenario(#[case] visibility: Visibility, #[case] expected: Compliance) {
        let verdict = NotPublic::evaluate(&subject(ID, "project"), &visibility, &NoParameters {});
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[tokio::test]
    async fn gather_reads_every_project_in_batches_of_100() {
        let project = subject::<CodeBuildProject>(ID, "project");
        let subjects: Vec<_> = (0..201)
            .map(|i| {
                let mut s = project.clone();
                s.resource.name = Some(format!("p{i}"));
                s
            })
            .collect();
        let batch = mock!(CodeBuild::batch_get_projects).then_compute_output(|request| {
            let projects = request
                .names()
                .iter()
                .filter(|name| *name != "p7")
                .map(|name| {
                    let visibility =
                        if name == "p3" { ProjectVisibilityType::PublicRead } else { ProjectVisibilityType::Private };
                    Project::builder().name(name).project_visibility(visibility).build()
                })
                .collect();
            BatchGetProjectsOutput::builder().set_projects(Some(projects)).build()
        });
        let aws = Aws::for_tests().with_codebuild(mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&batch]));
        let facts = NotPublic::gather(&aws, &NoParameters {}, &subjects).await.unwrap();
        assert_eq!(batch.num_calls(), 3);
        assert_eq!(
            (&facts[0], &facts[3], &facts[7]),
            (&Visibility::Private, &Visibility::PublicRead, &Visibility::ProjectNotFound)
        );
    }
}
