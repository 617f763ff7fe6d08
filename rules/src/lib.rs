//! The pipesec checks. Each rule is one module named after its catalog id, opening with its
//! spec (what it checks, trigger, parameters, scenarios), and one binary in `src/bin/`. What
//! several rules share is in [`common`]; a rule never imports another rule.

pub mod common;

pub mod codebuild_project_artifacts_encrypted;
pub mod codebuild_project_build_anomalies;
pub mod codebuild_project_build_log_indicators;
pub mod codebuild_project_buildspec_protected;
pub mod codebuild_project_cmk_encrypted;
pub mod codebuild_project_logging_enabled;
pub mod codebuild_project_no_plaintext_secrets;
pub mod codebuild_project_not_public;
pub mod codebuild_project_privileged_mode_disabled;
pub mod codebuild_project_s3_logs_encrypted;
pub mod codebuild_project_secrets_rotated;
pub mod codebuild_project_service_role_least_privilege;
pub mod codebuild_project_source_no_credentials;
pub mod codebuild_project_trusted_image;
pub mod codebuild_project_vpc_attached;
pub mod codebuild_project_webhook_filters_anchored;
pub mod codebuild_report_group_export_encrypted;
pub mod codepipeline_approval_before_deploy;
pub mod codepipeline_approval_notifications;
pub mod codepipeline_artifact_store_secured;
pub mod codepipeline_artifacts_cmk_encrypted;
pub mod codepipeline_build_isolation;
pub mod codepipeline_deployment_count_check;
pub mod codepipeline_execution_anomalies;
pub mod codepipeline_failure_alerting;
pub mod codepipeline_no_plaintext_secrets;
pub mod codepipeline_region_fanout_check;
pub mod codepipeline_secrets_rotated;
pub mod codepipeline_security_scan_stage;
pub mod codepipeline_service_role_least_privilege;
pub mod codepipeline_source_authenticated;

#[cfg(test)]
mod bad_input_tests;
#[cfg(test)]
mod testing;

use pipesec_engine::{RuleInfo, RuleVisitor};

/// Declares the catalog: every rule, by module and type, in catalog order.
macro_rules! rules {
    ($($module:ident::$rule:ident),* $(,)?) => {
        /// Every rule, in catalog order.
        pub fn catalog() -> Vec<RuleInfo> {
            vec![$(RuleInfo::of::<$module::$rule>()),*]
        }

        /// Runs `visitor` on the rule with this catalog id; `None` for an unknown id.
        pub fn with_rule<V: RuleVisitor>(id: &str, visitor: V) -> Option<V::Output> {
            match id {
                $($module::ID => Some(visitor.visit::<$module::$rule>()),)*
                _ => None,
            }
        }
    };
}

rules![
    codebuild_project_privileged_mode_disabled::PrivilegedModeDisabled,
    codebuild_project_no_plaintext_secrets::NoPlaintextSecrets,
    codebuild_project_logging_enabled::LoggingEnabled,
    codebuild_project_s3_logs_encrypted::S3LogsEncrypted,
    codebuild_project_artifacts_encrypted::ArtifactsEncrypted,
    codebuild_project_cmk_encrypted::CmkEncrypted,
    codebuild_project_vpc_attached::VpcAttached,
    codebuild_project_source_no_credentials::SourceNoCredentials,
    codebuild_project_buildspec_protected::BuildspecProtected,
    codebuild_project_not_public::NotPublic,
    codebuild_project_webhook_filters_anchored::WebhookFiltersAnchored,
    codebuild_report_group_export_encrypted::ReportGroupExportEncrypted,
    codebuild_project_service_role_least_privilege::ServiceRoleLeastPrivilege,
    codepipeline_artifacts_cmk_encrypted::ArtifactsCmkEncrypted,
    codepipeline_source_authenticated::SourceAuthenticated,
    codepipeline_approval_before_deploy::ApprovalBeforeDeploy,
    codepipeline_approval_notifications::ApprovalNotifications,
    codepipeline_security_scan_stage::SecurityScanStage,
    codepipeline_build_isolation::BuildIsolation,
    codepipeline_deployment_count_check::DeploymentCountCheck,
    codepipeline_region_fanout_check::RegionFanoutCheck,
    codepipeline_no_plaintext_secrets::NoPlaintextSecrets,
    codepipeline_service_role_least_privilege::ServiceRoleLeastPrivilege,
    codepipeline_failure_alerting::FailureAlerting,
    codepipeline_execution_anomalies::ExecutionAnomalies,
    codepipeline_artifact_store_secured::ArtifactStoreSecured,
    codebuild_project_trusted_image::TrustedImage,
    codebuild_project_secrets_rotated::SecretsRotated,
    codepipeline_secrets_rotated::SecretsRotated,
    codebuild_project_build_anomalies::BuildAnomalies,
    codebuild_project_build_log_indicators::BuildLogIndicators,
];

#[cfg(test)]
mod catalog_tests {
    use std::collections::HashSet;
    use std::path::Path;

    use super::*;

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    #[test]
    fn ids_are_unique_and_reachable() {
        struct Id;
        impl RuleVisitor for Id {
            type Output = &'static str;
            fn visit<R: pipesec_engine::Rule>(self) -> &'static str {
                R::ID
            }
        }
        let catalog = catalog();
        let ids: HashSet<_> = catalog.iter().map(|rule| rule.id).collect();
        assert_eq!(ids.len(), catalog.len(), "duplicate ids");
        for rule in &catalog {
            assert_eq!(with_rule(rule.id, Id), Some(rule.id));
        }
        assert_eq!(with_rule("no-such-rule", Id), None);
    }

    #[test]
    fn every_rule_has_a_module_a_binary_and_fixtures() {
        let manifest = std::fs::read_to_string(Path::new(ROOT).join("Cargo.toml")).unwrap();
        for rule in catalog() {
            let module = Path::new(ROOT).join("src").join(format!("{}.rs", rule.id.replace('-', "_")));
            assert!(module.exists(), "{}", module.display());
            let binary = Path::new(ROOT).join("src/bin").join(format!("{}.rs", rule.id));
            assert!(binary.exists(), "{}", binary.display());
            assert!(manifest.contains(&format!("name = \"{}\"", rule.id)), "no [[bin]] for {}", rule.id);
            assert!(Path::new(ROOT).join("fixtures").join(rule.id).is_dir(), "no fixtures for {}", rule.id);
        }
    }

    #[test]
    fn unknown_tolerant_paths_are_inputs() {
        let under = |path: &str, prefix: &str| {
            let (path, prefix): (Vec<&str>, Vec<&str>) = (path.split('.').collect(), prefix.split('.').collect());
            prefix.is_empty() || prefix == [""] || (path.len() >= prefix.len() && path[..prefix.len()] == prefix[..])
        };
        for rule in catalog() {
            for path in rule.unknown_tolerant {
                assert!(rule.inputs.iter().any(|input| under(path, input)), "{}: `{path}` is not an input", rule.id);
            }
        }
    }

    #[test]
    fn no_rule_imports_another_rule() {
        let modules: Vec<String> = catalog().iter().map(|rule| rule.id.replace('-', "_")).collect();
        for module in &modules {
            let mut text = std::fs::read_to_string(Path::new(ROOT).join("src").join(format!("{module}.rs"))).unwrap();
            let directory = Path::new(ROOT).join("src").join(module);
            if directory.is_dir() {
                for entry in std::fs::read_dir(directory).unwrap() {
                    text.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
                }
            }
            for other in modules.iter().filter(|other| *other != module) {
                let path = format!("crate::{other}");
                assert!(
                    !text.lines().any(|line| line.contains(&path) && !line.contains(&format!("{path}_"))),
                    "{module} imports {other}: move what they share to rules/src/common/"
                );
            }
        }
    }

    #[test]
    fn every_rule_is_in_the_readme_table() {
        let readme = std::fs::read_to_string(Path::new(ROOT).join("../README.md")).unwrap();
        for rule in catalog() {
            let row = readme.lines().find(|line| line.starts_with(&format!("| [{}]", rule.id)));
            let row = row.unwrap_or_else(|| panic!("{} has no README row", rule.id));
            assert!(row.contains(rule.resource_type), "{}: resource type", rule.id);
            assert!(row.contains(rule.severity.as_str()), "{}: severity", rule.id);
            assert!(row.contains(&format!("| {} |", rule.triggers)), "{}: triggers `{}`", rule.id, rule.triggers);
            for parameter in rule.parameters {
                assert!(row.contains(&format!("`{parameter}`")), "{}: parameter {parameter}", rule.id);
            }
        }
    }
}
