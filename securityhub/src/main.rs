//! Lambda entry point of the Security Hub findings function.
use std::process::ExitCode;

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

fn main() -> ExitCode {
    pipesec_shared::logging::init();
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        tracing::error!("cannot start the async runtime");
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async {
        let client = aws_sdk_securityhub::Client::new(&pipesec_shared::aws::load_sdk_config().await);
        let catalog = pipesec_rules::catalog();
        let (client, catalog) = (&client, catalog.as_slice());
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
            let result = pipesec_securityhub::handle(client, catalog, event.payload).await;
            if let Err(err) = &result {
                tracing::error!(error_type = err.error_type(), error = %err, "invocation failed");
            }
            result
        }))
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
