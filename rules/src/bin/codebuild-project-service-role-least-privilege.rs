//! Lambda entry point of `codebuild-project-service-role-least-privilege`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<
        pipesec_rules::codebuild_project_service_role_least_privilege::ServiceRoleLeastPrivilege,
    >()
}
