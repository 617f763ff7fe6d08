//! The pipesec checks. Each rule is one module named after its catalog id, opening with its
//! spec (what it checks, trigger, parameters, scenarios), and one binary in `src/bin/`.

pub mod secrets;

pub mod codebuild_project_no_plaintext_secrets;
pub mod codebuild_project_privileged_mode_disabled;
pub mod codebuild_project_service_role_least_privilege;

#[cfg(test)]
mod testing;

/// Every rule's catalog id, for deployment artifacts and the CLI to check themselves against.
pub const RULE_IDS: &[&str] = &[
    codebuild_project_privileged_mode_disabled::ID,
    codebuild_project_no_plaintext_secrets::ID,
    codebuild_project_service_role_least_privilege::ID,
];
