//! CloudFormation templates onto the typed views the rules use, so that a template is checked
//! by the same `evaluate` as a deployed resource.
//!
//! A template file (gzip-compressed or not) is read in four steps, one module each:
//!
//! 1. [`yaml`]: YAML (short-form intrinsics such as `!Ref`, `!Sub`, `!GetAtt`, `!If` turned into
//!    their long form) or JSON (falling back to YAML when it does not parse), into one JSON
//!    document.
//! 2. [`resolve`]: intrinsic functions whose value is known offline are computed: `Ref` to a
//!    parameter with a `Default` (or a value given in the [`Context`]), `Fn::Sub` / `Fn::Join` /
//!    `Fn::Select` / `Fn::Split` / `Fn::FindInMap` over known values, `Fn::If` on conditions
//!    that can be decided, `AWS::NoValue`. Everything else (`Fn::GetAtt`, `Fn::ImportValue`, a
//!    `Ref` to a resource, a parameter without default, pseudo parameters not given) is
//!    *unresolved*: it is left out of the configuration and recorded with its property path
//!    and the reason, never guessed.
//! 3. [`mapping`]: the PascalCase properties become the camelCase `configuration` AWS Config
//!    records (`Environment.PrivilegedMode` → `environment.privilegedMode`, `Visibility` →
//!    `projectVisibility`, a pipeline's `ArtifactStores` list → the `artifactStores` map,
//!    action `Configuration` keys kept as they are), read by the same views.
//! 4. [`lines`]: where each resource's properties are in the text, for report locations.
//!
//! A rule is then NOT_APPLICABLE for a resource when one of its `Rule::INPUTS` holds an
//! unresolved value ([`MappedResource::unresolved_input`]).

pub mod lines;
pub mod mapping;
pub mod resolve;
pub mod terraform;
pub mod yaml;

use std::path::Path;

pub use lines::Block;
pub use mapping::{CfnError, MappedResource, map_template, property_path};
pub use resolve::Context;
pub use yaml::parse;

use super::{Entry, Origin};
use crate::error::{CliError, Result};

/// The largest template read: CloudFormation itself takes a template of at most 1 MB (from S3;
/// 51,200 bytes inline), so a larger file is not one it could deploy. 1 MiB, the larger reading
/// of "1 MB", refuses no template CloudFormation accepts; past it the file is refused before
/// it is parsed (the YAML parser's time and memory grow with the text).
pub const MAX_TEMPLATE_BYTES: u64 = 1 << 20;

/// The resources of one template file, as entries to evaluate.
pub fn load(path: &Path, context: &Context) -> Result<Vec<Entry>> {
    let file = path.display().to_string();
    let text = String::from_utf8(super::read(path, MAX_TEMPLATE_BYTES, "a CloudFormation template")?)
        .map_err(|err| CliError::input(&file, format!("not UTF-8 text: {}", err.utf8_error())))?;
    let document = parse(&text).map_err(|reason| CliError::input(&file, reason))?;
    let mapped = map_template(&document, context).map_err(|err| CliError::input(&file, err))?;
    let mut blocks = lines::blocks(&text);
    let account = context.parameters.get("AWS::AccountId").map(String::as_str);
    let region = context.parameters.get("AWS::Region").map(String::as_str);
    Ok(mapped
        .into_iter()
        .map(|mapped| Entry {
            item: mapped.item(account, region),
            origin: Origin::Template {
                file: file.clone(),
                block: blocks.remove(&mapped.logical_id),
                mapped: Box::new(mapped),
            },
        })
        .collect())
}

#[cfg(test)]
mod self_assessment;
#[cfg(test)]
mod tests;
