//! What the rules run over: configuration items from the account (Config's inventory, or the
//! services' own answers mapped onto Config's shape), from snapshot files or from CloudFormation
//! templates, each with where it came from.

pub mod service_shape;
pub mod snapshot;
pub mod template;

use pipesec_engine::ConfigurationItem;

use self::template::{Block, MappedResource};

/// A configuration item to evaluate and where it came from.
#[derive(Debug, Clone)]
pub struct Entry {
    pub item: ConfigurationItem,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub enum Origin {
    /// Read from the account's Config inventory.
    Account,
    /// Read from a file of configuration items.
    Snapshot { file: String },
    /// A resource of a CloudFormation template.
    Template { file: String, block: Option<Block>, mapped: MappedResource },
}
