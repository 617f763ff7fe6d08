//! What to tell Security Hub about one compliance change: the decision is pure ([`plan`]); the
//! conversion to the SDK's ASFF type happens once, at the edge ([`Finding::to_asff`]).
//!
//! A finding carries ids, the rule's severity and remediation from the catalog, and the rule's
//! annotation — which the rules write to name what is wrong and where, never a secret value.

use aws_sdk_securityhub::types::{
    AwsSecurityFinding, Compliance, ComplianceStatus, FindingProviderFields, FindingProviderSeverity, Recommendation,
    RecordState, Remediation, Resource, Severity, SeverityLabel, Workflow, WorkflowStatus,
};
use pipesec_engine::RuleInfo;

use crate::event::ComplianceChange;

/// Names of the pack's Config rules start with this (see the templates).
pub const RULE_NAME_PREFIX: &str = "pipesec-";
/// Config names a conformance pack's rules `<name>-conformance-pack-<random>`.
pub const CONFORMANCE_PACK_SUFFIX: &str = "-conformance-pack-";
pub const SEC11_BP07_URL: &str = "https://docs.aws.amazon.com/wellarchitected/latest/security-pillar/sec_appsec_regularly_assess_security_properties_of_pipelines.html";
pub const SEC11_BP07: &str = "AWS Well-Architected SEC11-BP07: regularly assess security properties of the pipelines";
const FINDING_TYPE: &str = "Software and Configuration Checks/AWS Security Best Practices";
const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 1024;
const MAX_RECOMMENDATION: usize = 512;

/// Whether the resource's finding is open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// NON_COMPLIANT: an active, new finding.
    Failed,
    /// COMPLIANT again: resolved and archived.
    Passed,
    /// NOT_APPLICABLE or no result any more (the resource or the rule was deleted): resolved and
    /// archived.
    Gone,
}

/// One finding to import (create, update or close).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub product_arn: String,
    pub generator_id: String,
    pub account_id: String,
    pub region: String,
    pub partition: String,
    pub rule: RuleInfo,
    pub config_rule_name: String,
    pub resource_type: String,
    pub resource_id: String,
    pub state: State,
    pub annotation: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// The decision for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Import(Box<Finding>),
    Ignore(String),
}

/// The catalog rule behind a Config rule name: `pipesec-<id>`, a conformance-pack copy
/// `pipesec-<id>-conformance-pack-<random>`, or the bare id.
pub fn rule_of<'a>(config_rule_name: &str, catalog: &'a [RuleInfo]) -> Option<&'a RuleInfo> {
    let name = config_rule_name.strip_prefix(RULE_NAME_PREFIX).unwrap_or(config_rule_name);
    catalog.iter().find(|rule| {
        name.strip_prefix(rule.id).is_some_and(|rest| rest.is_empty() || rest.starts_with(CONFORMANCE_PACK_SUFFIX))
    })
}

/// What to import for `change`, or why nothing.
pub fn plan(change: &ComplianceChange, catalog: &[RuleInfo]) -> Plan {
    let detail = &change.detail;
    let Some(rule) = rule_of(&detail.config_rule_name, catalog) else {
        return Plan::Ignore(format!("`{}` is not a pipesec rule", detail.config_rule_name));
    };
    let was_failed = change.old_compliance() == Some("NON_COMPLIANT");
    let state = match change.new_compliance() {
        Some("NON_COMPLIANT") => State::Failed,
        Some("COMPLIANT") if was_failed => State::Passed,
        Some("NOT_APPLICABLE") | None if was_failed => State::Gone,
        Some(other) => return Plan::Ignore(format!("{other} with no open finding to close")),
        None => return Plan::Ignore("result removed with no open finding to close".to_owned()),
    };
    let Some(resource_type) = change.resource_type() else {
        return Plan::Ignore("the event names no resource type".to_owned());
    };
    let (account_id, region, partition) = (change.account_id(), change.region(), change.partition());
    let result = if state == State::Failed { &detail.new_evaluation_result } else { &detail.old_evaluation_result };
    let created_at =
        result.as_ref().and_then(|result| result.result_recorded_time.clone()).unwrap_or_else(|| change.time.clone());
    Plan::Import(Box::new(Finding {
        // One finding per rule and resource, whatever the Config rule's name: a change updates it.
        id: format!("pipesec/{account_id}/{region}/{}/{resource_type}/{}", rule.id, detail.resource_id),
        product_arn: format!("arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"),
        generator_id: format!("{RULE_NAME_PREFIX}{}", rule.id),
        account_id: account_id.to_owned(),
        region: region.to_owned(),
        partition: partition.to_owned(),
        rule: rule.clone(),
        config_rule_name: detail.config_rule_name.clone(),
        resource_type,
        resource_id: detail.resource_id.clone(),
        state,
        annotation: detail
            .new_evaluation_result
            .as_ref()
            .filter(|_| state == State::Failed)
            .and_then(|result| result.annotation.clone()),
        created_at,
        updated_at: change.time.clone(),
    }))
}

/// `text` cut to `max` characters, visibly.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

/// The ASFF resource type of a Config resource type ("Other" where ASFF has none).
fn asff_resource_type(config_type: &str) -> &'static str {
    match config_type {
        "AWS::CodeBuild::Project" => "AwsCodeBuildProject",
        _ => "Other",
    }
}

impl Finding {
    /// The severity the annotation states, if the rule states one per result, else the rule's.
    pub fn severity(&self) -> pipesec_engine::Severity {
        pipesec_engine::verdict::finding_severity(self.rule.severity, self.annotation.as_deref())
    }

    fn description(&self) -> String {
        let text = match (&self.state, &self.annotation) {
            (State::Failed, Some(annotation)) => format!("{}: {annotation}", self.config_rule_name),
            (State::Failed, None) => format!("{} found the resource NON_COMPLIANT", self.config_rule_name),
            (State::Passed, _) => format!("{} found the resource COMPLIANT again", self.config_rule_name),
            (State::Gone, _) => {
                format!("{} no longer applies to the resource (deleted or out of scope)", self.config_rule_name)
            }
        };
        truncate(&text, MAX_DESCRIPTION)
    }

    /// The ASFF finding for BatchImportFindings.
    pub fn to_asff(&self) -> AwsSecurityFinding {
        let (compliance, record_state, workflow) = match self.state {
            State::Failed => (ComplianceStatus::Failed, RecordState::Active, WorkflowStatus::New),
            State::Passed => (ComplianceStatus::Passed, RecordState::Archived, WorkflowStatus::Resolved),
            State::Gone => (ComplianceStatus::NotAvailable, RecordState::Archived, WorkflowStatus::Resolved),
        };
        let original = self.severity().as_str();
        let severity = SeverityLabel::from(original);
        let resource = Resource::builder()
            .r#type(asff_resource_type(&self.resource_type))
            .id(&self.resource_id)
            .partition(self.partition.as_str().into())
            .region(&self.region)
            .build();
        AwsSecurityFinding::builder()
            .schema_version("2018-10-08")
            .id(&self.id)
            .product_arn(&self.product_arn)
            .product_name("pipesec")
            .company_name("pipesec")
            .generator_id(&self.generator_id)
            .aws_account_id(&self.account_id)
            .region(&self.region)
            .types(FINDING_TYPE)
            .created_at(&self.created_at)
            .updated_at(&self.updated_at)
            .severity(Severity::builder().label(severity.clone()).original(original).build())
            .finding_provider_fields(
                FindingProviderFields::builder()
                    .severity(FindingProviderSeverity::builder().label(severity).original(original).build())
                    .types(FINDING_TYPE)
                    .build(),
            )
            .title(truncate(&format!("{}: {} {}", self.rule.id, self.resource_type, self.resource_id), MAX_TITLE))
            .description(self.description())
            .remediation(
                Remediation::builder()
                    .recommendation(
                        Recommendation::builder()
                            .text(truncate(self.rule.remediation, MAX_RECOMMENDATION))
                            .url(SEC11_BP07_URL)
                            .build(),
                    )
                    .build(),
            )
            .compliance(Compliance::builder().status(compliance).related_requirements(SEC11_BP07).build())
            .record_state(record_state)
            .workflow(Workflow::builder().status(workflow).build())
            .product_fields("pipesec/RuleId", self.rule.id)
            .product_fields("pipesec/ConfigRuleName", &self.config_rule_name)
            .product_fields("pipesec/ResourceType", &self.resource_type)
            .resources(resource)
            .build()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use rstest::rstest;

    use super::*;

    fn change(fixture: &str) -> ComplianceChange {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(format!("{fixture}.json"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        ComplianceChange::from_value(serde_json::from_str(&text).unwrap()).unwrap()
    }

    fn planned(fixture: &str) -> Plan {
        plan(&change(fixture), &pipesec_rules::catalog())
    }

    fn imported(fixture: &str) -> Finding {
        match planned(fixture) {
            Plan::Import(finding) => *finding,
            Plan::Ignore(reason) => panic!("{fixture} ignored: {reason}"),
        }
    }

    #[rstest]
    #[case::non_compliant_opens_a_finding("non-compliant", State::Failed)]
    #[case::compliant_again_resolves_it("compliant-again", State::Passed)]
    #[case::deleted_resource_resolves_it("deleted", State::Gone)]
    #[case::removed_result_resolves_it("result-removed", State::Gone)]
    #[case::conformance_pack_copy_of_the_rule("conformance-pack-govcloud", State::Failed)]
    fn scenario(#[case] fixture: &str, #[case] expected: State) {
        assert_eq!(imported(fixture).state, expected);
    }

    #[rstest]
    #[case::compliant_with_nothing_to_close("compliant-first", "COMPLIANT with no open finding")]
    #[case::another_rule("other-rule", "is not a pipesec rule")]
    fn ignored(#[case] fixture: &str, #[case] reason: &str) {
        match planned(fixture) {
            Plan::Ignore(text) => assert!(text.contains(reason), "{text}"),
            Plan::Import(finding) => panic!("{fixture} imported {finding:?}"),
        }
    }

    #[test]
    fn a_severity_stated_in_the_annotation_is_the_findings() {
        let mut finding = imported("non-compliant");
        finding.annotation = Some("severity MEDIUM: privileged mode is enabled".to_owned());
        let asff = finding.to_asff();
        assert_eq!(asff.severity().unwrap().label(), Some(&SeverityLabel::Medium));
        assert_eq!(asff.finding_provider_fields().unwrap().severity().unwrap().original(), Some("MEDIUM"));
    }

    #[test]
    fn failed_finding_carries_the_catalog_severity_remediation_and_sec11_bp07() {
        let asff = imported("non-compliant").to_asff();
        assert_eq!(asff.severity().unwrap().label(), Some(&SeverityLabel::High));
        assert_eq!(asff.record_state(), Some(&RecordState::Active));
        assert_eq!(asff.workflow().unwrap().status(), Some(&WorkflowStatus::New));
        assert_eq!(asff.compliance().unwrap().status(), Some(&ComplianceStatus::Failed));
        assert_eq!(asff.compliance().unwrap().related_requirements(), [SEC11_BP07]);
        let recommendation = asff.remediation().unwrap().recommendation().unwrap();
        assert!(recommendation.text().unwrap().starts_with("Set environment.privilegedMode to false"));
        assert_eq!(recommendation.url(), Some(SEC11_BP07_URL));
        assert_eq!(asff.product_arn(), Some("arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default"));
        assert_eq!(asff.resources()[0].r#type(), Some("AwsCodeBuildProject"));
        assert!(asff.description().unwrap().contains("privileged mode is enabled"));
        assert_eq!(asff.created_at(), Some("2026-11-01T12:00:01.402Z"));
    }

    #[test]
    fn resolution_archives_the_same_finding() {
        let opened = imported("non-compliant");
        let closed = imported("compliant-again").to_asff();
        assert_eq!(closed.id(), Some(opened.id.as_str()), "the same finding is updated");
        assert_eq!(closed.record_state(), Some(&RecordState::Archived));
        assert_eq!(closed.workflow().unwrap().status(), Some(&WorkflowStatus::Resolved));
        assert_eq!(closed.compliance().unwrap().status(), Some(&ComplianceStatus::Passed));
        let gone = imported("deleted").to_asff();
        assert_eq!(gone.compliance().unwrap().status(), Some(&ComplianceStatus::NotAvailable));
    }

    #[test]
    fn conformance_pack_finding_is_the_rules_own_and_keeps_the_partition() {
        let finding = imported("conformance-pack-govcloud");
        assert_eq!(finding.rule.id, "codebuild-project-privileged-mode-disabled");
        assert_eq!(finding.generator_id, "pipesec-codebuild-project-privileged-mode-disabled");
        assert!(finding.product_arn.starts_with("arn:aws-us-gov:securityhub:us-gov-west-1:"));
    }

    #[test]
    fn rule_names_map_to_catalog_ids_exactly() {
        let catalog = pipesec_rules::catalog();
        let id = |name: &str| rule_of(name, &catalog).map(|rule| rule.id);
        assert_eq!(id("pipesec-codebuild-project-not-public"), Some("codebuild-project-not-public"));
        assert_eq!(id("codebuild-project-not-public"), Some("codebuild-project-not-public"));
        assert_eq!(id("pipesec-codebuild-project-not-public-x"), None);
        assert_eq!(
            id("pipesec-codebuild-project-not-public-conformance-pack-abc"),
            Some("codebuild-project-not-public")
        );
    }

    #[test]
    fn long_annotations_are_cut_visibly() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }

    #[test]
    fn an_event_of_another_kind_is_refused() {
        let err =
            ComplianceChange::from_value(serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events",
            "account": "1", "region": "r", "time": "t", "detail": {"resourceId": "x", "configRuleName": "y"}}))
            .unwrap_err();
        assert_eq!(err.error_type(), "InvalidEventException");
    }
}
