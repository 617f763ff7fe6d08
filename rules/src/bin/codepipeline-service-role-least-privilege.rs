//! Lambda entry point of `codepipeline-service-role-least-privilege`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_service_role_least_privilege::ServiceRoleLeastPrivilege>()
}
