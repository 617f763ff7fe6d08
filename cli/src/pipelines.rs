//! Which resources make up each pipeline: the pipeline, the CodeBuild projects its CodeBuild
//! actions run (`ProjectName`), and the roles of the pipeline, its actions and those projects.

use std::collections::{BTreeSet, HashMap};

use pipesec_engine::resources::{CodeBuildProject, PipelineConfiguration};
use pipesec_engine::{ConfigurationItem, Resource};
use serde::Deserialize;

use crate::input::{Entry, Origin};
use crate::runner::{Finding, configured_name};
use crate::score::Score;

const ROLE: &str = "AWS::IAM::Role";

/// A resource, as results name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    /// Pipelines of several accounts (an aggregator) may share names and ids.
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub resource_type: String,
    pub resource_id: String,
}

impl Member {
    fn of(item: &ConfigurationItem) -> Self {
        Member {
            account_id: item.account_id.clone(),
            region: item.aws_region.clone(),
            resource_type: item.resource_type.clone(),
            resource_id: item.resource_id.clone(),
        }
    }

    pub fn holds(&self, finding: &Finding) -> bool {
        self.account_id == finding.account_id
            && self.region == finding.region
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

/// Every pipeline among `entries`, with its members and score, by name. Projects, roles and
/// findings are indexed once, so the cost grows with the number of resources, not its square.
pub fn groups(entries: &[Entry], findings: &[Finding]) -> Vec<PipelineGroup> {
    let live = |resource_type: &'static str| {
        entries.iter().filter(move |entry| entry.item.resource_type == resource_type && !entry.item.status.is_gone())
    };
    let projects = Index::of(live(CodeBuildProject::RESOURCE_TYPE));
    let roles = Index::of(live(ROLE));
    let mut findings_of: HashMap<ResourceKey, Vec<&Finding>> = HashMap::new();
    for finding in findings {
        let key = (
            (finding.account_id.as_deref(), finding.region.as_deref()),
            finding.resource_type.as_str(),
            finding.resource_id.as_str(),
        );
        findings_of.entry(key).or_default().push(finding);
    }
    let mut groups = Vec::new();
    for entry in live(PipelineConfiguration::RESOURCE_TYPE) {
        let Ok(view) = entry.item.view::<PipelineConfiguration>() else { continue };
        let pipeline = &view.pipeline;
        let mut project_refs: BTreeSet<String> = BTreeSet::new();
        let mut role_refs: BTreeSet<String> = pipeline.role_arn.iter().cloned().collect();
        for action in pipeline.stages.iter().flat_map(|stage| &stage.actions) {
            if action.action_type_id.provider() == "CodeBuild"
                && let Some(project) = action.configuration.get("ProjectName")
            {
                project_refs.insert(project.to_owned());
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
        let place = (entry.item.account_id.as_deref(), entry.item.aws_region.as_deref());
        let mut members = vec![Member::of(&entry.item)];
        for project in projects.known_as(place, &project_refs) {
            members.push(Member::of(&project.item));
            if let Ok(ServiceRole { service_role: Some(role) }) = project.item.view::<ServiceRole>() {
                role_refs.insert(role);
            }
            role_refs.extend(
                template_references(project)
                    .filter(|(path, _)| path == "serviceRole")
                    .map(|(_, logical_id)| logical_id),
            );
        }
        members.extend(roles.known_as(place, &role_refs).map(|role| Member::of(&role.item)));
        let score = Score::of(members.iter().flat_map(|member| {
            let key = (
                (member.account_id.as_deref(), member.region.as_deref()),
                member.resource_type.as_str(),
                member.resource_id.as_str(),
            );
            findings_of.get(&key).into_iter().flatten().copied()
        }));
        let name = match (&entry.origin, &pipeline.name) {
            // A name Terraform marks sensitive is never printed: the address stands for it.
            (Origin::Terraform { sensitive, .. }, Some(name)) if sensitive.contains(name) => {
                entry.item.resource_id.clone()
            }
            _ => pipeline.name.clone().unwrap_or_else(|| entry.item.lookup_name().to_owned()),
        };
        groups.push(PipelineGroup { name, pipeline: members[0].clone(), members, score });
    }
    groups.sort_by(|a, b| (&a.name, &a.pipeline).cmp(&(&b.name, &b.pipeline)));
    groups
}

/// Only the project's role: a project whose other fields are unreadable still has one.
#[derive(Deserialize)]
struct ServiceRole {
    #[serde(rename = "serviceRole")]
    service_role: Option<String>,
}

/// Resources of one type by every name a reference may use (id, name, ARN, the ARN's last part,
/// the configured name, a template logical id), per account and region.
struct Index<'a> {
    entries: Vec<&'a Entry>,
    by_name: HashMap<(Place<'a>, String), Vec<usize>>,
}

/// An account and region, as items carry them (none for templates and some snapshots).
type Place<'a> = (Option<&'a str>, Option<&'a str>);

/// A resource as results name it: where it is, its type and id.
type ResourceKey<'a> = (Place<'a>, &'a str, &'a str);

impl<'a> Index<'a> {
    fn of(entries: impl Iterator<Item = &'a Entry>) -> Self {
        let entries: Vec<&Entry> = entries.collect();
        let mut by_name: HashMap<(Place, String), Vec<usize>> = HashMap::new();
        for (position, entry) in entries.iter().enumerate() {
            let item = &entry.item;
            let arn_name = item.arn.as_deref().and_then(|arn| arn.rsplit('/').next());
            let names: BTreeSet<String> = [
                Some(item.resource_id.clone()),
                item.resource_name.clone(),
                item.arn.clone(),
                arn_name.map(str::to_owned),
                configured_name(item),
            ]
            .into_iter()
            .flatten()
            .collect();
            for name in names {
                let place = (item.account_id.as_deref(), item.aws_region.as_deref());
                by_name.entry((place, name)).or_default().push(position);
            }
        }
        Index { entries, by_name }
    }

    /// The resources at `place` that one of `refs` designates, each once, in entry order.
    fn known_as(&self, place: Place<'a>, refs: &BTreeSet<String>) -> impl Iterator<Item = &'a Entry> + '_ {
        let positions: BTreeSet<usize> =
            refs.iter().filter_map(|name| self.by_name.get(&(place, name.clone()))).flatten().copied().collect();
        positions.into_iter().map(|position| self.entries[position])
    }
}

/// `(configuration path, logical id)` of the resources a template resource refers to.
fn template_references(entry: &Entry) -> impl Iterator<Item = (String, String)> + '_ {
    let references = match &entry.origin {
        Origin::Template { mapped, .. } | Origin::Terraform { mapped, .. } => mapped.references.as_slice(),
        _ => &[],
    };
    references.iter().map(|reference| (reference.path.clone(), reference.logical_id.clone()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use pipesec_engine::{Area, Compliance, Severity};

    use super::*;

    fn finding(member: &Member, rule: &'static str, compliance: Compliance) -> Finding {
        Finding {
            rule,
            severity: Severity::High,
            area: Area::Infrastructure,
            weight: 1,
            resource_type: member.resource_type.clone(),
            resource_id: member.resource_id.clone(),
            resource_name: None,
            arn: None,
            account_id: member.account_id.clone(),
            region: member.region.clone(),
            compliance,
            annotation: None,
            location: None,
        }
    }

    #[test]
    fn a_pipeline_holds_the_projects_of_its_codebuild_actions() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/snapshots/snapshot.json");
        let entries = crate::input::snapshot::load(&path).unwrap();
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
