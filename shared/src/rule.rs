//! What a rule is: a pure decision over a typed view of one resource, plus the facts it looked
//! up for that decision.

use std::fmt::Debug;
use std::future::Future;

use serde::de::DeserializeOwned;

use crate::aws::Aws;
use crate::error::Result;
use crate::item::ConfigurationItem;
use crate::verdict::Verdict;

/// A resource type a rule evaluates, read from a configuration item's `configuration`.
pub trait Resource: DeserializeOwned + Debug + Send + Sync + 'static {
    /// The AWS Config resource type, e.g. `AWS::CodeBuild::Project`.
    const RESOURCE_TYPE: &'static str;
}

/// A resource to evaluate: its configuration item and the typed view read from it.
#[derive(Debug, Clone)]
pub struct Subject<R> {
    pub item: ConfigurationItem,
    pub resource: R,
}

impl<R: Resource> Subject<R> {
    pub fn from_item(item: ConfigurationItem) -> Result<Self> {
        let resource = item.view()?;
        Ok(Subject { item, resource })
    }
}

/// One pipesec check.
pub trait Rule: Send + Sync + 'static {
    /// The stable catalog id: module, binary, Lambda function and Config rule are named by it.
    const ID: &'static str;
    type Resource: Resource;
    /// The rule's own parameters (see [`crate::params`]).
    type Params: DeserializeOwned + Debug + Send + Sync;
    /// What `gather` looked up for one resource; `()` for rules that decide from the item alone.
    type Facts: Default + Debug + Send + Sync;

    /// Looks up what the item lacks, for every subject at once so that reads can be batched.
    /// Returns one `Facts` per subject, in order.
    fn gather(
        aws: &Aws,
        params: &Self::Params,
        subjects: &[Subject<Self::Resource>],
    ) -> impl Future<Output = Result<Vec<Self::Facts>>> + Send {
        let _ = (aws, params);
        let facts = subjects.iter().map(|_| Self::Facts::default()).collect();
        async { Ok(facts) }
    }

    /// The decision: pure, no I/O.
    fn evaluate(subject: &Subject<Self::Resource>, facts: &Self::Facts, params: &Self::Params) -> Verdict;
}
