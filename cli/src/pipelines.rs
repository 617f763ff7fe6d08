//! Which resources make up each pipeline: the pipeline, the CodeBuild projects its CodeBuild
//! actions run (`ProjectName`), and the roles of the pipeline, its actions and those projects.

use std::collections::BTreeSet;

use pipesec_shared::resources::{CodeBuildProject, PipelineConfiguration};
use pipesec_shared::{ConfigurationItem, Resource};
use serde_json::Value;

use crate::evaluate::{Entry, Finding, Origin, configured_name};
use crate::score::Score;

const ROLE: &str = "AWS::IAM::Role";

/// A resource, as results name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    pub region: Option<String>,
    pub resource_type: String,
    pub resource_id: String,
}

impl Member {
    fn of(item: &ConfigurationItem) -> Self {
        Member {
            region: item.aws_region.clone(),
            resource_type: item.resource_type.clone(),
            resource_id: item.resource_id.clone(),
        }
    }

    pub fn holds(&self, finding: &Finding) -> bool {
        self.region == finding.region
            && self.resource_type == finding.resource_type
            && self.resource_id == finding.resource_id
    }
}

/// A pipeline and what it uses, with the score of their results.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineGroup {
    pub name: String,
    pub pipeline: Member,
    /// The pipeline first, then its projects and roles.
    pub members: Vec<Member>,
    pub score: Score,
}

impl PipelineGroup {
    pub fn contains(&self, finding: &Finding) -> bool {
        self.members.iter().any(|member| member.holds(finding))
    }
}

/// Every pipeline among `entries`, with its members and score, by name.
pub fn groups(entries: &[Entry], findings: &[Finding]) -> Vec<PipelineGroup> {
    let of_type = |resource_type: &'static str| {
        entries.iter().filter(move |entry| entry.item.resource_type == resource_type && !entry.item.status.is_gone())
    };
    let mut groups = Vec::new();
    for entry in of_type(PipelineConfiguration::RESOURCE_TYPE) {
        let Ok(view) = entry.item.view::<PipelineConfiguration>() else { continue };
        let pipeline = &view.pipeline;
        let mut project_refs: BTreeSet<String> = BTreeSet::new();
        let mut role_refs: BTreeSet<String> = pipeline.role_arn.iter().cloned().collect();
        for action in pipeline.stages.iter().flat_map(|stage| &stage.actions) {
            if action.action_type_id.provider == "CodeBuild"
                && let Some(project) = action.configuration.get("ProjectName")
            {
                project_refs.insert(project.clone());
            }
            role_refs.extend(action.role_arn.iter().cloned());
        }
        for reference in template_references(entry) {
            if reference.0.ends_with("configuration.ProjectName") {
                project_refs.insert(reference.1);
            } else if reference.0.ends_with("roleArn") {
                role_refs.insert(reference.1);
            }
        }
        let same_region = |other: &&Entry| other.item.aws_region == entry.item.aws_region;
        let mut members = vec![Member::of(&entry.item)];
        for project in of_type(CodeBuildProject::RESOURCE_TYPE).filter(same_region) {
            if !known_as(&project.item, &project_refs) {
                continue;
            }
            members.push(Member::of(&project.item));
            if let Some(Value::String(role)) = project.item.configuration.to_value().get("serviceRole") {
                role_refs.insert(role.clone());
            }
            role_refs.extend(
                template_references(project)
                    .filter(|(path, _)| path == "serviceRole")
                    .map(|(_, logical_id)| logical_id),
            );
        }
        for role in of_type(ROLE).filter(same_region) {
            if known_as(&role.item, &role_refs) {
                members.push(Member::of(&role.item));
            }
        }
        let score = Score::of(findings.iter().filter(|finding| members.iter().any(|member| member.holds(finding))));
        let name = pipeline.name.clone().unwrap_or_else(|| entry.item.lookup_name().to_owned());
        groups.push(PipelineGroup { name, pipeline: members[0].clone(), members, score });
    }
    groups.sort_by(|a, b| (&a.name, &a.pipeline).cmp(&(&b.name, &b.pipeline)));
    groups
}

/// `(configuration path, logical id)` of the resources a template resource refers to.
fn template_references(entry: &Entry) -> impl Iterator<Item = (String, String)> + '_ {
    let references = match &entry.origin {
        Origin::Template { mapped, .. } => mapped.references.as_slice(),
        _ => &[],
    };
    references.iter().map(|reference| (reference.path.clone(), reference.logical_id.clone()))
}

/// Whether one of `refs` (names, ARNs, template logical ids) designates the item.
fn known_as(item: &ConfigurationItem, refs: &BTreeSet<String>) -> bool {
    let arn_name = item.arn.as_deref().and_then(|arn| arn.rsplit('/').next());
    let configured = configured_name(item);
    [
        Some(item.resource_id.as_str()),
        item.resource_name.as_deref(),
        item.arn.as_deref(),
        arn_name,
        configured.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|name| refs.contains(name))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use pipesec_shared::{Compliance, Severity};

    use super::*;

    fn finding(member: &Member, rule: &'static str, compliance: Compliance) -> Finding {
        Finding {
            rule,
            severity: Severity::High,
            resource_type: member.resource_type.clone(),
            resource_id: member.resource_id.clone(),
            resource_name: None,
            arn: None,
            account_id: None,
            region: member.region.clone(),
            compliance,
            annotation: None,
            location: None,
        }
    }

    #[test]
    fn a_pipeline_holds_the_projects_of_its_codebuild_actions() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/snapshots/snapshot.json");
        let entries = crate::snapshot::load(&path).unwrap();
        let members: Vec<Member> = entries.iter().map(|entry| Member::of(&entry.item)).collect();
        let findings = [
            finding(&members[0], "codebuild-project-privileged-mode-disabled", Compliance::NonCompliant),
            finding(&members[1], "codebuild-project-vpc-attached", Compliance::Compliant),
        ];
        let [group] = groups(&entries, &findings).try_into().unwrap();
        assert_eq!(group.name, "release");
        let ids: Vec<&str> = group.members.iter().map(|member| member.resource_id.as_str()).collect();
        assert_eq!(ids, ["release", "3f1e6f0a-8c1d-4b7e-9a52-0c5d2e7b9a11", "9b2d7c4e-1a3f-4e5b-8c6d-2f7a9e1b3c55"]);
        assert_eq!((group.score.failed, group.score.passed), (1, 1));
        assert!(group.contains(&findings[0]));
    }
}
