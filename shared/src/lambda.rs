//! The one Lambda entry point of every pipesec function, the rules and the Security Hub
//! function alike: logging, a current-thread runtime, the SDK configuration loaded once, the
//! handler built from it, and each failed invocation logged once before Lambda sees it.

use std::future::Future;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;

use crate::aws::lambda_sdk_config;
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

/// When Lambda stops the invocation being handled, in milliseconds since the Unix epoch (0: no
/// invocation). One value per process: Lambda runs one invocation at a time in a process.
static INVOCATION_DEADLINE_MS: AtomicU64 = AtomicU64::new(0);

/// When Lambda will stop the invocation being handled (its function's timeout); `None` outside
/// an invocation of a Lambda function (the command line, tests).
pub fn invocation_deadline() -> Option<SystemTime> {
    match INVOCATION_DEADLINE_MS.load(Ordering::Relaxed) {
        0 => None,
        millis => Some(SystemTime::UNIX_EPOCH + Duration::from_millis(millis)),
    }
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
        let handler = H::new(&lambda_sdk_config());
        let handler = &handler;
        // Boxed: the handler's future nests every SDK call a rule makes, and laid out inline in
        // the runtime's future it goes past rustc's layout depth limit.
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
            INVOCATION_DEADLINE_MS.store(event.context.deadline, Ordering::Relaxed);
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
