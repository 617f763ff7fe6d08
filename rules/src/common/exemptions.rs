//! The `exemptedProjects` parameter, shared by the CodeBuild rules that allow named exceptions.

use pipesec_engine::params::comma_list;
use serde::Deserialize;

/// Parameters of a rule whose only parameter is `exemptedProjects`: comma-separated project
/// names the rule reports COMPLIANT (naming the exemption) instead of NON_COMPLIANT.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExemptedProjects {
    #[serde(rename = "exemptedProjects", deserialize_with = "comma_list")]
    pub exempted_projects: Vec<String>,
}

impl ExemptedProjects {
    pub fn exempts(&self, project_name: &str) -> bool {
        self.exempted_projects.iter().any(|exempted| exempted == project_name)
    }
}
