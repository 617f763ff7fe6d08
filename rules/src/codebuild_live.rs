//! Live reads of CodeBuild projects, for what configuration items lack: masked PLAINTEXT values,
//! `projectVisibility`, webhook filter groups. Reads are batched (100 projects a call) and
//! every subject gets its project, or `None` when CodeBuild no longer knows it.

use std::collections::HashMap;

use aws_sdk_codebuild::types::Project;
use pipesec_shared::resources::CodeBuildProject;
use pipesec_shared::rule::Subject;
use pipesec_shared::{Aws, Result};

/// BatchGetProjects' limit per call.
pub const PROJECTS_PER_CALL: usize = 100;

/// The live project of every subject selected by `needed` (in order; `None` for the others and
/// for projects CodeBuild does not know), read with one BatchGetProjects per 100 projects.
pub async fn live_projects(
    aws: &Aws,
    subjects: &[Subject<CodeBuildProject>],
    needed: impl Fn(&Subject<CodeBuildProject>) -> bool,
) -> Result<Vec<Option<Project>>> {
    let wanted: Vec<&str> = subjects.iter().filter(|subject| needed(subject)).map(Subject::project_name).collect();
    let mut found: HashMap<String, Project> = HashMap::new();
    for names in wanted.chunks(PROJECTS_PER_CALL) {
        let output = aws
            .codebuild
            .batch_get_projects()
            .set_names(Some(names.iter().map(|name| (*name).to_owned()).collect()))
            .send()
            .await
            .map_err(|err| aws.error("codebuild:BatchGetProjects", err))?;
        for project in output.projects.unwrap_or_default() {
            if let Some(arn) = project.arn() {
                found.insert(arn.to_owned(), project.clone());
            }
            if let Some(name) = project.name() {
                found.insert(name.to_owned(), project);
            }
        }
    }
    Ok(subjects
        .iter()
        .map(|subject| if needed(subject) { found.get(subject.project_name()).cloned() } else { None })
        .collect())
}
