//! The one Lambda entry point of every pipesec function, the rules and the Security Hub
//! function alike: logging, a current-thread runtime, the SDK configuration loaded once, the
//! handler built from it, and each failed invocation logged once before Lambda sees it.

use std::future::Future;
use std::process::ExitCode;

use aws_config::SdkConfig;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;

use crate::aws::load_sdk_config;
use crate::logging;

/// A Lambda function's handler: built once per process, called once per event.
pub trait Handler: Sized + Sync {
    /// The name in log lines: the rule id, or the function's name.
    const NAME: &'static str;
    type Output: Serialize + Send;
    type Error: Into<Diagnostic> + Send;

    fn new(sdk_config: &SdkConfig) -> Self;

    fn handle(&self, payload: Value) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
}

/// Runs handler `H` until the Lambda runtime stops it.
pub fn run<H: Handler>() -> ExitCode {
    logging::init();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(function = H::NAME, error = %err, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let handler = H::new(&load_sdk_config().await);
        let handler = &handler;
        // Boxed: the handler's future nests every SDK call a rule makes, and laid out inline in
        // the runtime's future it goes past rustc's layout depth limit.
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
            Box::pin(async move {
                handler.handle(event.payload).await.map_err(|err| {
                    let diagnostic: Diagnostic = err.into();
                    tracing::error!(
                        function = H::NAME,
                        error_type = %diagnostic.error_type,
                        error = %diagnostic.error_message,
                        "invocation failed"
                    );
                    diagnostic
                })
            })
        }))
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(function = H::NAME, error = %err, "the Lambda runtime stopped");
            ExitCode::FAILURE
        }
    }
}
