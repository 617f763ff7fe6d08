//! `pipesec rules`: the catalog, as a table or JSON.

use crate::args::{RulesArgs, RulesFormat};
use serde_json::json;

/// The listing `pipesec rules` prints.
pub fn listing(args: &RulesArgs) -> String {
    let catalog = pipesec_rules::catalog();
    match args.format {
        RulesFormat::Json => {
            let rules: Vec<_> = catalog
                .iter()
                .map(|rule| {
                    json!({
                        "id": rule.id, "resourceType": rule.resource_type, "severity": rule.severity,
                        "area": rule.area, "weight": rule.weight, "triggers": rule.triggers,
                        "parameters": rule.parameters, "liveReads": rule.reads, "remediation": rule.remediation,
                        "inputs": rule.inputs, "parameterInputs": rule.parameter_inputs,
                    })
                })
                .collect();
            serde_json::to_string_pretty(&rules).unwrap_or_default() + "\n"
        }
        RulesFormat::Table => {
            let mut table = comfy_table::Table::new();
            table
                .load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
                .set_header([
                    "id",
                    "resource type",
                    "area",
                    "weight",
                    "severity",
                    "triggers",
                    "parameters",
                    "live reads",
                ]);
            for rule in &catalog {
                table.add_row([
                    rule.id.to_owned(),
                    rule.resource_type.to_owned(),
                    rule.area.title().to_owned(),
                    rule.weight.to_string(),
                    rule.severity.as_str().to_owned(),
                    rule.triggers.to_owned(),
                    if rule.parameters.is_empty() { "—".into() } else { rule.parameters.join(", ") },
                    if rule.reads.is_empty() { "—".into() } else { rule.reads.join(", ") },
                ]);
            }
            format!("{table}\n")
        }
    }
}
