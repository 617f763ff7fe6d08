//! Lambda entry point of `codebuild-project-webhook-filters-anchored`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_webhook_filters_anchored::WebhookFiltersAnchored>()
}
