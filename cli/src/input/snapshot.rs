//! Configuration items from files: every shape AWS Config hands them out in, and the services'
//! own responses ([`service_shape`]), gzip-compressed or not, one JSON document or several one
//! after the other.

use std::path::Path;

use pipesec_engine::error::without_values;
use pipesec_engine::resources::{CodeBuildProject, CodeBuildReportGroup, PipelineConfiguration};
use pipesec_engine::{ConfigurationItem, Resource};
use serde_json::{Map, Value};

use super::{Entry, Origin, service_shape};
use crate::error::{CliError, Result};

/// The items of one file, as entries to evaluate.
pub fn load(path: &Path) -> Result<Vec<Entry>> {
    let file = path.display().to_string();
    let bytes = super::read(path, super::MAX_SNAPSHOT_BYTES, "a snapshot file")?;
    let items = documents(&bytes).map_err(|reason| CliError::input(&file, reason))?;
    Ok(items.into_iter().map(|item| Entry { item, origin: Origin::Snapshot { file: file.clone() } }).collect())
}

/// The configuration items of a file's text: one JSON document, or several one after the other
/// (as `aws … >> file` appends them), each in one of the shapes [`items`] reads.
pub fn documents(bytes: &[u8]) -> std::result::Result<Vec<ConfigurationItem>, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Value>();
    let mut found = Vec::new();
    loop {
        let offset = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(document)) => found.push((offset, document)),
            Some(Err(err)) => return Err(format!("invalid JSON: {err}")),
        }
    }
    if found.is_empty() {
        return Err("empty: no JSON document".into());
    }
    let several = found.len() > 1;
    let mut all = Vec::new();
    for (index, (offset, document)) in found.iter().enumerate() {
        let items = items(document).map_err(|reason| {
            if several {
                // The document starts at its first non-blank byte after the previous one.
                let start = bytes[*offset..]
                    .iter()
                    .position(|byte| !byte.is_ascii_whitespace())
                    .map_or(*offset, |skip| offset + skip);
                let line = bytes[..start].split(|byte| *byte == b'\n').count();
                format!("document {} (line {line}): {reason}", index + 1)
            } else {
                reason
            }
        })?;
        all.extend(items);
    }
    Ok(all)
}

/// The configuration items of a document:
/// - a snapshot or history file delivered to S3, or GetResourceConfigHistory output:
///   `{"configurationItems": [...]}`;
/// - SelectResourceConfig output: `{"Results": ["<item as a JSON string>", ...]}`, including
///   results whose query selected only `configuration` (see [`completed`]);
/// - BatchGetResourceConfig output: `{"baseConfigurationItems": [...]}`;
/// - a change notification (`{"configurationItem": ...}`), or the Lambda event carrying one;
/// - a list of items, or one item — in the event model or the API model;
/// - the services' own responses: BatchGetProjects, GetPipeline, BatchGetReportGroups
///   ([`service_shape::items`]);
/// - any of these as a boto3 response recorded by placebo (`{"status_code", "data"}`, as test
///   suites such as Cloud Custodian's keep them).
pub fn items(document: &Value) -> std::result::Result<Vec<ConfigurationItem>, String> {
    let list = |values: &[Value], what: &str| -> std::result::Result<Vec<ConfigurationItem>, String> {
        values
            .iter()
            .enumerate()
            .map(|(index, value)| {
                let value = match value {
                    Value::String(text) => serde_json::from_str(text).map_err(|err| {
                        format!("{what}[{index}] is a string but not JSON: {}", without_values(&err.to_string()))
                    })?,
                    other => other.clone(),
                };
                let value = match value {
                    Value::Object(row) if needs_completing(&row) => {
                        completed(row).map_err(|reason| format!("{what}[{index}]: {reason}"))?
                    }
                    other => other,
                };
                ConfigurationItem::from_value(&value).map_err(|err| format!("{what}[{index}]: {err}"))
            })
            .collect()
    };
    match document {
        Value::Array(values) => list(values, "item"),
        Value::Object(object) => {
            if let (Some(Value::Number(_)), Some(data @ Value::Object(_))) =
                (object.get("status_code"), object.get("data"))
            {
                return items(data);
            }
            for key in [
                "configurationItems",
                "ConfigurationItems",
                "baseConfigurationItems",
                "BaseConfigurationItems",
                "Results",
            ] {
                if let Some(value) = object.get(key) {
                    return match value {
                        Value::Array(values) => list(values, key),
                        _ => Err(format!("`{key}` is not a list")),
                    };
                }
            }
            if let Some(found) = service_shape::items(document) {
                return found;
            }
            if let Some(item) = object.get("configurationItem") {
                return list(std::slice::from_ref(item), "configurationItem");
            }
            if let Some(Value::String(invoking)) = object.get("invokingEvent") {
                let invoking: Value = serde_json::from_str(invoking)
                    .map_err(|err| format!("`invokingEvent` is not JSON: {}", without_values(&err.to_string())))?;
                return match invoking.get("configurationItem") {
                    Some(item) => list(std::slice::from_ref(item), "invokingEvent.configurationItem"),
                    None => Err("the event carries no configuration item (oversized or scheduled notification)".into()),
                };
            }
            if object.contains_key("resourceType") || object.contains_key("configuration") {
                return list(std::slice::from_ref(document), "item");
            }
            Err("no configuration items: expected `configurationItems`, `Results`, `baseConfigurationItems`, \
                 a list of items or one item, or the output of batch-get-projects, get-pipeline or \
                 batch-get-report-groups"
                .into())
        }
        _ => Err("no configuration items: the document is neither an object nor a list".into()),
    }
}

/// Whether a row holds a configuration but lacks what an item needs to be one.
fn needs_completing(row: &Map<String, Value>) -> bool {
    row.contains_key("configuration")
        && ["resourceType", "resourceId", "configurationItemCaptureTime"].iter().any(|key| !row.contains_key(*key))
}

/// A SelectResourceConfig result whose query did not select every field an item has (Cloud
/// Custodian selects only `configuration` and `supplementaryConfiguration`), made an item:
/// - `resourceType`, when missing, is told from the configuration ([`resource_type_of`]);
/// - `resourceId`, when missing, is the resource's name from its configuration (for a report
///   group its ARN, as Config records it); `resourceName`, `arn`, the account and region are
///   filled from the configuration too when missing;
/// - `configurationItemCaptureTime`, when missing, is the epoch (only the Lambda path reports it).
pub fn completed(mut row: Map<String, Value>) -> std::result::Result<Value, String> {
    let configuration = match row.get("configuration") {
        Some(Value::String(text)) => serde_json::from_str(text)
            .map_err(|err| format!("`configuration` is a string but not JSON: {}", without_values(&err.to_string())))?,
        Some(value) => value.clone(),
        None => Value::Null,
    };
    let resource_type = if let Some(Value::String(given)) = row.get("resourceType") {
        given.clone()
    } else {
        let Value::Object(fields) = &configuration else {
            return Err("no `resourceType`, and no configuration object to tell it from".into());
        };
        resource_type_of(fields)?.to_owned()
    };
    let text = |pointers: &[&str]| {
        pointers
            .iter()
            .find_map(|pointer| configuration.pointer(pointer).and_then(Value::as_str).filter(|t| !t.is_empty()))
    };
    let (name, arn) = match resource_type.as_str() {
        CodeBuildProject::RESOURCE_TYPE => (text(&["/name"]), text(&["/arn"])),
        PipelineConfiguration::RESOURCE_TYPE => (text(&["/pipeline/name"]), text(&["/metadata/pipelineArn"])),
        CodeBuildReportGroup::RESOURCE_TYPE => (text(&["/Name", "/name"]), text(&["/Arn", "/arn"])),
        _ => (None, None),
    };
    if !row.contains_key("resourceId") {
        let id = if resource_type == CodeBuildReportGroup::RESOURCE_TYPE { arn.or(name) } else { name };
        let id = id.ok_or("no `resourceId`, and the configuration has no name to use instead")?;
        row.insert("resourceId".into(), id.into());
    }
    let mut fill = |key: &str, value: Option<&str>| {
        if let Some(value) = value {
            row.entry(key).or_insert_with(|| value.into());
        }
    };
    fill("resourceName", name);
    fill("arn", arn);
    let (region, account) = arn.map(service_shape::arn_region_account).unwrap_or_default();
    fill("awsRegion", region.as_deref());
    fill("accountId", account.as_deref());
    row.insert("resourceType".into(), resource_type.into());
    row.entry("configurationItemCaptureTime").or_insert(0.into());
    Ok(Value::Object(row))
}

/// The resource type a configuration is of, by what only that type has: a pipeline's
/// `pipeline`; a project's `environment`, `source`, `serviceRole`…; a report group's
/// `exportConfig`, or `type` TEST or CODE_COVERAGE. A configuration with the marks of none, or
/// of several, is an error naming them.
pub fn resource_type_of(fields: &Map<String, Value>) -> std::result::Result<&'static str, String> {
    const PROJECT: &[&str] = &[
        "environment",
        "source",
        "serviceRole",
        "artifacts",
        "secondarySources",
        "secondaryArtifacts",
        "logsConfig",
        "vpcConfig",
        "queuedtimeoutInMinutes",
    ];
    let mut marks: Vec<(&'static str, &str)> = Vec::new();
    if fields.get("pipeline").is_some_and(Value::is_object) {
        marks.push((PipelineConfiguration::RESOURCE_TYPE, "pipeline"));
    }
    if let Some(mark) = PROJECT.iter().find(|key| fields.contains_key(**key)) {
        marks.push((CodeBuildProject::RESOURCE_TYPE, mark));
    }
    let report_type = ["type", "Type"].into_iter().find(|key| {
        fields.get(*key).and_then(Value::as_str).is_some_and(|kind| matches!(kind, "TEST" | "CODE_COVERAGE"))
    });
    if let Some(mark) =
        ["exportConfig", "ExportConfig"].into_iter().find(|key| fields.contains_key(*key)).or(report_type)
    {
        marks.push((CodeBuildReportGroup::RESOURCE_TYPE, mark));
    }
    match marks.as_slice() {
        [(resource_type, _)] => Ok(resource_type),
        [] => Err("no `resourceType`, and the configuration is none of a CodeBuild project (`environment`, \
                   `source`, `serviceRole`…), report group (`exportConfig`, `type` TEST or CODE_COVERAGE) or \
                   pipeline (`pipeline`): select `resourceType` in the query too"
            .into()),
        several => {
            let which: Vec<String> = several.iter().map(|(kind, mark)| format!("{kind} (`{mark}`)")).collect();
            Err(format!(
                "no `resourceType`, and the configuration could be {}: select `resourceType` in the query too",
                which.join(" or ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;
    use crate::input::tests::gzip;

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/snapshots").join(name)
    }

    fn ids(name: &str) -> Vec<(String, String)> {
        let entries = load(&fixture(name)).unwrap_or_else(|err| panic!("{name}: {err}"));
        entries.into_iter().map(|entry| (entry.item.resource_type, entry.item.resource_id)).collect()
    }

    /// A scratch directory of this test process, removed when dropped.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("pipesec-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }

        fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn every_shape_config_produces_reads_the_same_items() {
        let expected = ids("snapshot.json");
        assert_eq!(expected.len(), 3, "{expected:?}");
        for shape in ["select-resource-config.json", "batch-get-resource-config.json", "item-list.json"] {
            assert_eq!(ids(shape), expected, "{shape}");
        }
        assert_eq!(ids("single-item.json"), expected[..1]);
        assert_eq!(ids("change-event.json"), expected[..1]);
    }

    #[test]
    fn the_api_model_configuration_string_is_parsed() {
        let entries = load(&fixture("batch-get-resource-config.json")).unwrap();
        assert!(entries[0].item.configuration.to_value().is_object(), "{:?}", entries[0].item.configuration);
        let snapshot = load(&fixture("snapshot.json")).unwrap();
        assert_eq!(entries[0].item.configuration, snapshot[0].item.configuration);
    }

    #[test]
    fn service_responses_are_read_single_and_concatenated() {
        let project = |id: &str| ("AWS::CodeBuild::Project".to_owned(), id.to_owned());
        let pipeline = |id: &str| ("AWS::CodePipeline::Pipeline".to_owned(), id.to_owned());
        let group = |name: &str| {
            let arn = format!("arn:aws:codebuild:eu-west-1:111122223333:report-group/{name}");
            ("AWS::CodeBuild::ReportGroup".to_owned(), arn)
        };
        assert_eq!(ids("batch-get-projects.json"), [project("docker-image-builder"), project("unit-tests")]);
        assert_eq!(ids("get-pipeline.json"), [pipeline("release")]);
        assert_eq!(ids("batch-get-report-groups.json"), [group("coverage"), group("unit-tests")]);
        assert_eq!(ids("concatenated.json"), [project("nightly-reports"), pipeline("nightly"), group("nightly-tests")]);

        // As shells append them: the three responses one after the other, in one file.
        let scratch = Scratch::new("appended");
        let mut appended = Vec::new();
        for name in ["batch-get-projects.json", "get-pipeline.json", "batch-get-report-groups.json"] {
            appended.extend(std::fs::read(fixture(name)).unwrap());
        }
        let entries = load(&scratch.file("appended.json", &appended)).unwrap();
        assert_eq!(entries.len(), 5);
        assert!(entries.iter().all(|entry| entry.item.resource_name.is_some()), "every one is named");
    }

    #[test]
    fn select_results_without_resource_type_are_typed_by_their_configuration() {
        let entries = load(&fixture("select-configuration-only.json")).unwrap();
        let named: Vec<(&str, &str, Option<&str>)> = entries
            .iter()
            .map(|entry| {
                let item = &entry.item;
                (item.resource_type.as_str(), item.resource_id.as_str(), item.resource_name.as_deref())
            })
            .collect();
        assert_eq!(
            named,
            [
                ("AWS::CodeBuild::Project", "payments-api-build", Some("payments-api-build")),
                ("AWS::CodePipeline::Pipeline", "payments", Some("payments")),
                (
                    "AWS::CodeBuild::ReportGroup",
                    "arn:aws:codebuild:us-east-1:123456789012:report-group/payments-coverage",
                    Some("payments-coverage")
                ),
            ]
        );
        let project = &entries[0].item;
        assert_eq!(
            (project.aws_region.as_deref(), project.account_id.as_deref()),
            (Some("us-east-1"), Some("123456789012"))
        );
        assert_eq!(project.view::<CodeBuildProject>().unwrap().queued_timeout_in_minutes, Some(480));

        // What was selected is kept; only what is missing is filled.
        let row = json!({"resourceId": "3f1e6f0a", "resourceName": "given", "configuration": {"name": "p", "environment": {}}});
        let [item] = items(&json!({"Results": [row.to_string()]})).unwrap().try_into().unwrap();
        assert_eq!((item.resource_id.as_str(), item.resource_name.as_deref()), ("3f1e6f0a", Some("given")));
        assert_eq!(item.resource_type, "AWS::CodeBuild::Project");
    }

    #[test]
    fn the_type_is_told_by_marks_only_one_type_has() {
        for (configuration, expected) in [
            (json!({"environment": {}, "name": "p"}), "AWS::CodeBuild::Project"),
            (json!({"source": [], "serviceRole": "r"}), "AWS::CodeBuild::Project"),
            (json!({"pipeline": {"name": "p"}, "metadata": {}}), "AWS::CodePipeline::Pipeline"),
            (json!({"exportConfig": {"exportConfigType": "NO_EXPORT"}, "name": "g"}), "AWS::CodeBuild::ReportGroup"),
            (json!({"Type": "CODE_COVERAGE", "Name": "g"}), "AWS::CodeBuild::ReportGroup"),
            (json!({"type": "TEST", "name": "g"}), "AWS::CodeBuild::ReportGroup"),
        ] {
            assert_eq!(resource_type_of(configuration.as_object().unwrap()), Ok(expected), "{configuration}");
        }
    }

    #[test]
    fn an_ambiguous_or_unknown_configuration_is_an_error_naming_the_result() {
        let ambiguous = json!({"environment": {}, "exportConfig": {}, "name": "x"});
        let unknown = json!({"bucketName": "b"});
        let document = json!({"Results": [
            json!({"configuration": {"name": "fine", "environment": {}}}).to_string(),
            json!({"configuration": ambiguous}).to_string(),
        ]});
        let err = items(&document).unwrap_err();
        assert!(err.starts_with("Results[1]: no `resourceType`, and the configuration could be"), "{err}");
        assert!(
            err.contains("AWS::CodeBuild::Project (`environment`) or AWS::CodeBuild::ReportGroup (`exportConfig`)"),
            "{err}"
        );
        assert!(err.contains("select `resourceType`"), "{err}");
        let err = items(&json!({"Results": [json!({"configuration": unknown}).to_string()]})).unwrap_err();
        assert!(err.starts_with("Results[0]: no `resourceType`, and the configuration is none of"), "{err}");
        let nameless = json!({"Results": [json!({"configuration": {"environment": {}}}).to_string()]});
        let err = items(&nameless).unwrap_err();
        assert_eq!(err, "Results[0]: no `resourceId`, and the configuration has no name to use instead");
    }

    #[test]
    fn placebo_recordings_of_boto3_responses_are_unwrapped() {
        let response: Value =
            serde_json::from_str(&std::fs::read_to_string(fixture("get-pipeline.json")).unwrap()).unwrap();
        let recorded = json!({"status_code": 200, "data": response});
        assert_eq!(items(&recorded).unwrap(), items(&response).unwrap());
    }

    #[test]
    fn gzip_compressed_files_are_read_as_config_delivers_them() {
        let scratch = Scratch::new("gzip");
        let plain = std::fs::read(fixture("snapshot.json")).unwrap();
        let path = scratch.file("123456789012_Config_us-east-1_ConfigSnapshot_20261120T091542Z.json.gz", &gzip(&plain));
        let ids = |entries: Vec<Entry>| entries.into_iter().map(|entry| entry.item.resource_id).collect::<Vec<_>>();
        assert_eq!(ids(load(&path).unwrap()), ids(load(&fixture("snapshot.json")).unwrap()));
        // Whatever the name: the content says it is gzip.
        let named_json = scratch.file("appended.json", &gzip(&std::fs::read(fixture("concatenated.json")).unwrap()));
        assert_eq!(load(&named_json).unwrap().len(), 3);
    }

    #[test]
    fn bad_documents_name_the_file_and_the_problem() {
        let scratch = Scratch::new("snapshot-test");
        let cases = [
            ("not-json.json", b"{not json".to_vec(), "invalid JSON"),
            ("empty.json", b" \n".to_vec(), "empty: no JSON document"),
            ("gzip.json.gz", vec![0x1f, 0x8b, 8, 0], "gzip-compressed, but cannot be decompressed"),
            ("other.json", br#"{"hello": 1}"#.to_vec(), "no configuration items"),
            ("bad-item.json", br#"{"configurationItems": [{"resourceType": "T"}]}"#.to_vec(), "configurationItems[0]"),
            (
                "second.json",
                b"{\"projects\": []}\n\n{\"pipeline\": {}}\n".to_vec(),
                "document 2 (line 3): `pipeline`: the pipeline has no `name`",
            ),
            ("truncated.json", b"{\"projects\": []}\n{\"pipeline\": ".to_vec(), "invalid JSON: EOF while parsing"),
            ("list-projects.json", br#"{"projects": ["a", "b"]}"#.to_vec(), "`projects` holds names"),
        ];
        for (name, bytes, expected) in cases {
            let path = scratch.file(name, &bytes);
            let message = load(&path).unwrap_err().to_string();
            assert!(message.starts_with(&path.display().to_string()) && message.contains(expected), "{message}");
        }
        let message = load(&scratch.0.join("missing.json")).unwrap_err().to_string();
        assert!(message.contains("missing.json"), "{message}");
    }

    #[test]
    fn errors_never_show_a_plaintext_value() {
        let secret = "ghp_R3alLookingT0kenValue0123456789abcd";
        let variables = json!([{"name": "GITHUB_TOKEN", "value": secret, "type": "PLAINTEXT"}]);
        for document in [
            // A project without a name, a pipeline whose metadata is a string, a row of no known type.
            json!({"projects": [{"environment": {"environmentVariables": variables}}]}),
            json!({"projects": [{"name": "p", "environment": {"environmentVariables": variables}}, secret]}),
            json!({"pipeline": {"name": "p", "variables": [{"name": "TOKEN", "defaultValue": secret}]}, "metadata": secret}),
            json!({"Results": [json!({"configuration": {"token": secret}}).to_string()]}),
            json!({"Results": [json!({"configuration": {"environment": {"environmentVariables": variables}}}).to_string()]}),
        ] {
            let err = items(&document).unwrap_err();
            assert!(!err.contains(secret) && !err.contains("ghp_"), "{err}");
        }
    }
}
