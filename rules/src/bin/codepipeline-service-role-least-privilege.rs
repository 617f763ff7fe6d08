//! Lambda entry point of `codepipeline-service-role-least-privilege`.
fn main() -> std::process::ExitCode {
    pipesec_shared::lambda_main::<pipesec_rules::codepipeline_service_role_least_privilege::ServiceRoleLeastPrivilege>()
}
