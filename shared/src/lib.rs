//! The AWS Config custom-rule engine behind every pipesec rule.
//!
//! A rule implements [`Rule`]: a pure `evaluate` over a typed view of one resource (plus facts
//! it looked up in `gather`). Everything else about AWS Config lives here: the Lambda event and
//! its three triggers, configuration items in the event and API models, applicability, rule
//! parameters, `PutEvaluations` batching and retries, periodic sweeps with stale clean-up,
//! cross-account roles, errors and logging; and the IAM policy analysis rules about roles share.

pub mod aws;
pub mod decide;
pub mod engine;
pub mod error;
pub mod evaluation;
pub mod event;
pub mod iam;
pub mod item;
pub mod lambda;
mod lenient;
pub mod logging;
pub mod params;
pub mod resources;
pub mod rule;
pub mod sweep;
pub mod unknown;
pub mod verdict;

pub use aws::Aws;
pub use engine::{Engine, Outcome, lambda_main};
pub use error::{Error, Result};
pub use item::{ConfigurationItem, ItemStatus};
pub use lambda::Handler;
pub use params::NoParameters;
pub use rule::{Area, Resource, Rule, RuleInfo, RuleVisitor, Severity};
pub use verdict::{Compliance, Verdict};
