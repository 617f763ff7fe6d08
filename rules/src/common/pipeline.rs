//! Pipeline structure as CodePipeline runs it, shared by the pipeline rules: stages in order,
//! and within a stage, actions by ascending `runOrder` (equal run orders run in parallel).

use pipesec_engine::resources::codepipeline::{Action, Pipeline};
use serde::Deserialize;

/// Where an action runs in a pipeline's execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub stage: usize,
    pub run_order: u32,
}

impl Position {
    /// Whether an action at `self` has finished before one at `later` starts.
    pub fn precedes(self, later: Position) -> bool {
        self.stage < later.stage || (self.stage == later.stage && self.run_order < later.run_order)
    }
}

/// One action with its stage and position.
#[derive(Debug, Clone, Copy)]
pub struct StagedAction<'a> {
    pub stage_name: &'a str,
    pub action: &'a Action,
    pub position: Position,
}

impl StagedAction<'_> {
    /// `stage `Deploy` action `Prod``, for annotations.
    pub fn describe(&self) -> String {
        format!("stage `{}` action `{}`", self.stage_name, self.action.name)
    }
}

/// Every action in execution order.
pub fn actions(pipeline: &Pipeline) -> Vec<StagedAction<'_>> {
    let mut actions: Vec<StagedAction<'_>> = pipeline
        .stages
        .iter()
        .enumerate()
        .flat_map(|(stage, declaration)| {
            declaration.actions.iter().map(move |action| StagedAction {
                stage_name: &declaration.name,
                action,
                position: Position { stage, run_order: action.run_order() },
            })
        })
        .collect();
    actions.sort_by_key(|staged| staged.position);
    actions
}

pub fn is_deploy(action: &Action) -> bool {
    action.action_type_id.category().eq_ignore_ascii_case("Deploy")
}

pub fn is_manual_approval(action: &Action) -> bool {
    let kind = &action.action_type_id;
    kind.category().eq_ignore_ascii_case("Approval") && kind.owner() == "AWS" && kind.provider() == "Manual"
}

pub fn is_codebuild(action: &Action) -> bool {
    let kind = &action.action_type_id;
    kind.owner() == "AWS" && kind.provider() == "CodeBuild"
}

/// A CodeBuild action's `EnvironmentVariables` entry (the setting is a JSON list of them).
#[derive(Debug, Deserialize)]
pub struct ActionVariable {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
    /// `PLAINTEXT` (when absent), `PARAMETER_STORE` or `SECRETS_MANAGER`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// The variables of the setting `key` of `action` when it is a CodeBuild action's
/// `EnvironmentVariables`; `None` for another setting, or one that is not a list of variables.
pub fn build_variables(action: &Action, key: &str, raw: &str) -> Option<Vec<ActionVariable>> {
    (key == "EnvironmentVariables" && is_codebuild(action)).then(|| serde_json::from_str(raw).ok()).flatten()
}

/// The region an action runs in: its own `region`, else the pipeline's.
pub fn action_region<'a>(action: &'a Action, pipeline_region: &'a str) -> &'a str {
    action.region.as_deref().filter(|region| !region.is_empty()).unwrap_or(pipeline_region)
}

/// Deploy actions grouped by stage, in stage order (stages without one left out).
pub fn deployment_stages(pipeline: &Pipeline) -> Vec<(&str, Vec<&Action>)> {
    pipeline
        .stages
        .iter()
        .map(|stage| (stage.name.as_str(), stage.actions.iter().filter(|action| is_deploy(action)).collect::<Vec<_>>()))
        .filter(|(_, deploys)| !deploys.is_empty())
        .collect()
}
