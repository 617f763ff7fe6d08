//! Live reads of CodeBuild projects, for what configuration items lack: masked PLAINTEXT values,
//! `projectVisibility`, webhook filter groups, the projects a pipeline builds with. Reads are
//! de-duplicated and batched: one BatchGetProjects per 100 distinct projects.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_codebuild::types::Project;
use pipesec_engine::resources::CodeBuildProject;
use pipesec_engine::rule::Subject;
use pipesec_engine::{Aws, Result};

/// BatchGetProjects' limit per call.
pub const PROJECTS_PER_CALL: usize = 100;

/// The projects CodeBuild knows among `names` (names or ARNs), keyed by both name and ARN.
pub async fn projects_by_name(aws: &Aws, names: Vec<&str>) -> Result<HashMap<String, Project>> {
    // A plain Vec (not a generic iterator) keeps the future's type shallow for every caller.
    let distinct: Vec<&str> = names.into_iter().collect::<BTreeSet<_>>().into_iter().collect();
    let mut found = HashMap::new();
    for batch in distinct.chunks(PROJECTS_PER_CALL) {
        let output = aws
            .codebuild()
            .batch_get_projects()
            .set_names(Some(batch.iter().map(|name| (*name).to_owned()).collect()))
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
    Ok(found)
}

/// The live project of every subject selected by `needed` (in order; `None` for the others and
/// for projects CodeBuild does not know).
pub async fn live_projects(
    aws: &Aws,
    subjects: &[Subject<CodeBuildProject>],
    needed: impl Fn(&Subject<CodeBuildProject>) -> bool,
) -> Result<Vec<Option<Project>>> {
    let names = subjects.iter().filter(|s| needed(s)).map(Subject::project_name).collect();
    let found = projects_by_name(aws, names).await?;
    Ok(subjects
        .iter()
        .map(|subject| if needed(subject) { found.get(subject.project_name()).cloned() } else { None })
        .collect())
}
