//! The CLI's one error type: every variant ends the run with exit code 2 and a one-line message.

pub type Result<T, E = CliError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Arguments that parse but make no sense together, unknown rule ids, bad parameters.
    #[error("{0}")]
    Usage(String),

    /// An input file that cannot be read or understood.
    #[error("{file}: {reason}")]
    Input { file: String, reason: String },

    /// The rule engine refused something (a rule parameter) or an AWS call failed.
    #[error(transparent)]
    Engine(#[from] pipesec_engine::Error),

    /// Items that a rule's view could not read: they have no result. Raised after the report
    /// of every other resource is written.
    #[error("{} configuration item(s) could not be read and have no result: {}", .0.len(), .0.join("; "))]
    Unreadable(Vec<String>),

    /// Resource types the run was asked to evaluate but could not see (not recorded by Config,
    /// a read refused): it cannot pass, whatever it found. Raised after the report is written.
    #[error("could not see everything it was asked to evaluate, so the run cannot pass: {}", .0.join("; "))]
    Unseen(Vec<String>),

    /// The report could not be written, the demo could not start, …
    #[error("{0}")]
    Runtime(String),
}

impl CliError {
    pub fn input(file: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        CliError::Input { file: file.into(), reason: reason.to_string() }
    }
}
