//! # codepipeline-build-isolation
//!
//! A pipeline must not build in a CodeBuild project that runs privileged outside a VPC: such a
//! build has root on the build host's Docker daemon and unrestricted network, so one malicious
//! dependency can take over the host and exfiltrate the pipeline's artifacts and credentials.
//! The rule reads the projects the pipeline's CodeBuild actions name (`ProjectName`) with
//! `BatchGetProjects`, once per distinct project across the whole sweep, 100 per call, and judges
//! them through the same typed view as the CodeBuild rules.
//!
//! - **Resource**: `AWS::CodePipeline::Pipeline`
//! - **Trigger**: configuration change (including oversized), and periodic sweep (a change to a
//!   project does not notify the pipeline's rules)
//! - **Parameters**: none
//!
//! | scenario | verdict |
//! |---|---|
//! | every build project unprivileged, or privileged inside a VPC | COMPLIANT |
//! | a build project privileged outside a VPC | NON_COMPLIANT, naming project and action |
//! | a build project that does not exist | COMPLIANT for isolation, the missing project named |
//! | no CodeBuild action | COMPLIANT |

use std::collections::HashMap;

use aws_sdk_codebuild::types::Project;
use pipesec_engine::resources::PipelineConfiguration;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Area, Aws, NoParameters, Result, Rule, Severity, Verdict};

use crate::common::codebuild_live::projects_by_name;
use crate::common::pipeline::{self, is_codebuild};

pub const ID: &str = "codepipeline-build-isolation";

#[derive(Debug)]
pub struct BuildIsolation;

/// How one build project the pipeline uses is isolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildProject {
    Found { privileged: bool, in_vpc: bool },
    NotFound,
}

/// The pipeline's build projects by name.
pub type BuildProjects = HashMap<String, BuildProject>;

fn build_project_names(pipeline: &PipelineConfiguration) -> impl Iterator<Item = &str> {
    pipeline
        .pipeline
        .stages
        .iter()
        .flat_map(|stage| &stage.actions)
        .filter(|action| is_codebuild(action))
        .filter_map(|action| action.configuration.get("ProjectName").filter(|name| !name.is_empty()))
}

fn isolation(project: &Project) -> BuildProject {
    let privileged =
        project.environment().and_then(aws_sdk_codebuild::types::ProjectEnvironment::privileged_mode).unwrap_or(false);
    let in_vpc = project.vpc_config().is_some_and(|vpc| {
        vpc.vpc_id().is_some_and(|id| !id.is_empty())
            && !vpc.subnets().is_empty()
            && !vpc.security_group_ids().is_empty()
    });
    BuildProject::Found { privileged, in_vpc }
}

impl Rule for BuildIsolation {
    const ID: &'static str = ID;
    const SEVERITY: Severity = Severity::High;
    const AREA: Area = Area::Infrastructure;
    const WEIGHT: u32 = 3;
    const REMEDIATION: &'static str = "Turn privileged mode off in the pipeline's CodeBuild projects, or run the ones \
         that must build images inside a VPC with restricted egress.";
    const INPUTS: &'static [&'static str] =
        &["pipeline.stages.actions.actionTypeId", "pipeline.stages.actions.configuration.ProjectName"];
    const READS: &'static [&'static str] = &["codebuild:BatchGetProjects"];
    const PERIODIC: bool = true;
    type Resource = PipelineConfiguration;
    type Params = NoParameters;
    type Facts = BuildProjects;

    async fn gather(
        aws: &Aws,
        _: &NoParameters,
        subjects: &[Subject<PipelineConfiguration>],
    ) -> Result<Vec<BuildProjects>> {
        let names = subjects.iter().flat_map(|s| build_project_names(&s.resource)).collect();
        let found = projects_by_name(aws, names).await?;
        Ok(subjects
            .iter()
            .map(|subject| {
                build_project_names(&subject.resource)
                    .map(|name| (name.to_owned(), found.get(name).map_or(BuildProject::NotFound, isolation)))
                    .collect()
            })
            .collect())
    }

    fn evaluate(subject: &Subject<PipelineConfiguration>, projects: &BuildProjects, _: &NoParameters) -> Verdict {
        let mut findings = Vec::new();
        let mut missing = Vec::new();
        for staged in pipeline::actions(&subject.resource.pipeline).iter().filter(|s| is_codebuild(s.action)) {
            let Some(name) = staged.action.configuration.get("ProjectName") else { continue };
            match projects.get(name) {
                Some(BuildProject::Found { privileged: true, in_vpc: false }) => findings
                    .push(format!("{} builds in `{name}`, which runs privileged outside a VPC", staged.describe())),
                Some(BuildProject::NotFound) => missing.push(format!("`{name}`")),
                _ => {}
            }
        }
        let mut clean = "every build project is unprivileged or runs in a VPC".to_owned();
        if !missing.is_empty() {
            clean = format!("{clean}; build projects not found: {}", missing.join(", "));
        }
        Verdict::from_findings(&findings, clean)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_codebuild::Client as CodeBuild;
    use aws_sdk_codebuild::operation::batch_get_projects::BatchGetProjectsOutput;
    use aws_sdk_codebuild::types::{ComputeType, EnvironmentType, ProjectEnvironment};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use pipesec_engine::Compliance;
    use rstest::rstest;

    use super::*;
    use crate::testing::subject;

    fn facts(entries: &[(&str, BuildProject)]) -> BuildProjects {
        entries.iter().map(|(name, project)| ((*name).to_owned(), project.clone())).collect()
    }

    const PRIVILEGED_OUTSIDE: BuildProject = BuildProject::Found { privileged: true, in_vpc: false };
    const PRIVILEGED_IN_VPC: BuildProject = BuildProject::Found { privileged: true, in_vpc: true };
    const UNPRIVILEGED: BuildProject = BuildProject::Found { privileged: false, in_vpc: false };

    #[rstest]
    #[case::unprivileged(facts(&[("app-build", UNPRIVILEGED)]), Compliance::Compliant)]
    #[case::privileged_in_vpc(facts(&[("app-build", PRIVILEGED_IN_VPC)]), Compliance::Compliant)]
    #[case::privileged_outside_vpc(facts(&[("app-build", PRIVILEGED_OUTSIDE)]), Compliance::NonCompliant)]
    #[case::project_missing(facts(&[("app-build", BuildProject::NotFound)]), Compliance::Compliant)]
    fn scenario(#[case] projects: BuildProjects, #[case] expected: Compliance) {
        let verdict = BuildIsolation::evaluate(&subject(ID, "pipeline"), &projects, &NoParameters {});
        assert_eq!(verdict.compliance, expected, "{}", verdict.reason);
    }

    #[test]
    fn reason_names_project_and_action() {
        let verdict = BuildIsolation::evaluate(
            &subject(ID, "pipeline"),
            &facts(&[("app-build", PRIVILEGED_OUTSIDE)]),
            &NoParameters {},
        );
        assert!(verdict.reason.contains("stage `Build` action `Build` builds in `app-build`"), "{}", verdict.reason);
    }

    #[tokio::test]
    async fn gather_reads_each_distinct_project_once() {
        let pipelines: Vec<Subject<PipelineConfiguration>> = (0..3).map(|_| subject(ID, "pipeline")).collect();
        let batch = mock!(CodeBuild::batch_get_projects).then_compute_output(|request| {
            assert_eq!(request.names(), ["app-build", "app-security-scan"], "each distinct project once");
            let environment = ProjectEnvironment::builder()
                .r#type(EnvironmentType::LinuxContainer)
                .image("aws/codebuild/standard:7.0")
                .compute_type(ComputeType::BuildGeneral1Small)
                .privileged_mode(true)
                .build()
                .unwrap();
            BatchGetProjectsOutput::builder()
                .projects(Project::builder().name("app-build").environment(environment).build())
                .build()
        });
        let aws = Aws::for_tests().with_codebuild(mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&batch]));
        let facts = BuildIsolation::gather(&aws, &NoParameters {}, &pipelines).await.unwrap();
        assert_eq!(batch.num_calls(), 1);
        assert_eq!(facts[2]["app-build"], PRIVILEGED_OUTSIDE);
        assert_eq!(facts[2]["app-security-scan"], BuildProject::NotFound);
    }
}
