//! The errors of the Security Hub function, mapped once to the Lambda `Diagnostic`.

use lambda_runtime::Diagnostic;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event is not a Config compliance-change event, or an AWS call failed (shared mapping).
    #[error(transparent)]
    Engine(#[from] pipesec_engine::Error),
    /// Security Hub refused findings (after the SDK's retries).
    #[error("BatchImportFindings rejected {} finding(s): {}", .0.len(), .0.join("; "))]
    FailedFindings(Vec<String>),
}

impl Error {
    /// The stable `errorType` reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::Engine(err) => err.error_type(),
            Error::FailedFindings(_) => "FailedFindingsException",
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(err: Error) -> Self {
        Diagnostic { error_type: err.error_type().to_owned(), error_message: err.to_string() }
    }
}
