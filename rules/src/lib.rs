//! The pipesec checks. Each rule is one module named after its catalog id, opening with its
//! spec (what it checks, trigger, parameters, scenarios), and one binary in `src/bin/`.

pub mod codebuild_live;
pub mod secrets;

pub mod codebuild_project_artifacts_encrypted;
pub mod codebuild_project_buildspec_protected;
pub mod codebuild_project_cmk_encrypted;
pub mod codebuild_project_logging_enabled;
pub mod codebuild_project_no_plaintext_secrets;
pub mod codebuild_project_not_public;
pub mod codebuild_project_privileged_mode_disabled;
pub mod codebuild_project_s3_logs_encrypted;
pub mod codebuild_project_source_no_credentials;
pub mod codebuild_project_vpc_attached;
pub mod codebuild_project_webhook_filters_anchored;
pub mod codebuild_report_group_export_encrypted;

#[cfg(test)]
mod testing;

/// Every rule's catalog id, for deployment artifacts and the CLI to check themselves against.
pub const RULE_IDS: &[&str] = &[
    codebuild_project_privileged_mode_disabled::ID,
    codebuild_project_no_plaintext_secrets::ID,
    codebuild_project_logging_enabled::ID,
    codebuild_project_s3_logs_encrypted::ID,
    codebuild_project_artifacts_encrypted::ID,
    codebuild_project_cmk_encrypted::ID,
    codebuild_project_vpc_attached::ID,
    codebuild_project_source_no_credentials::ID,
    codebuild_project_buildspec_protected::ID,
    codebuild_project_not_public::ID,
    codebuild_project_webhook_filters_anchored::ID,
    codebuild_report_group_export_encrypted::ID,
];
