//! Templates through resolution and mapping onto the views.

use pipesec_engine::resources::codebuild::EnvironmentVariableType;
use pipesec_engine::resources::{CodeBuildProject, CodeBuildReportGroup, PipelineConfiguration};
use pipesec_engine::rule::Resource;
use serde_json::{Value, json};

use super::mapping::overlaps;
use super::*;

fn template(resources: &Value) -> Value {
    json!({
        "Parameters": {
            "Privileged": {"Type": "String", "Default": "true"},
            "DbPassword": {"Type": "String", "NoEcho": true},
            "Subnets": {"Type": "List<AWS::EC2::Subnet::Id>", "Default": "subnet-1,subnet-2"},
            "Stage": {"Type": "String", "Default": "prod"}
        },
        "Conditions": {
            "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
            "InUsEast1": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
            "ProdOrEast": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "InUsEast1"}]}
        },
        "Mappings": {"Keys": {"prod": {"Arn": "arn:aws:kms:us-east-1:111122223333:key/prod"}}},
        "Resources": resources
    })
}

fn map_one(properties: &Value, resource_type: &str) -> MappedResource {
    let resources = json!({"Res": {"Type": resource_type, "Properties": properties}});
    let mut mapped = map_template(&template(&resources), &Context::default()).unwrap();
    assert_eq!(mapped.len(), 1);
    mapped.remove(0)
}

fn project(properties: &Value) -> (MappedResource, CodeBuildProject) {
    let mapped = map_one(properties, CodeBuildProject::RESOURCE_TYPE);
    let view = mapped.item(None, None).view().unwrap();
    (mapped, view)
}

#[test]
fn codebuild_properties_land_on_the_view() {
    let (mapped, view) = project(&json!({
        "Name": "app",
        "Source": {"Type": "GITHUB", "Location": "https://github.com/o/r", "BuildSpec": "buildspec.yml"},
        "SecondarySources": [{"Type": "S3", "Location": "b/k", "SourceIdentifier": "extra"}],
        "Artifacts": {"Type": "S3", "Location": "out", "EncryptionDisabled": true},
        "Environment": {"Type": "LINUX_CONTAINER", "PrivilegedMode": {"Ref": "Privileged"},
                        "EnvironmentVariables": [{"Name": "A", "Value": 1}, {"Name": "B", "Type": "PARAMETER_STORE", "Value": "/p"}]},
        "LogsConfig": {"CloudWatchLogs": {"Status": "DISABLED"}, "S3Logs": {"Status": "ENABLED", "Location": "l/p", "EncryptionDisabled": "true"}},
        "VpcConfig": {"VpcId": "vpc-1", "Subnets": {"Ref": "Subnets"}, "SecurityGroupIds": ["sg-1"]},
        "EncryptionKey": {"Fn::FindInMap": ["Keys", {"Ref": "Stage"}, "Arn"]},
        "Visibility": "PUBLIC_READ",
        "QueuedTimeoutInMinutes": 30,
        "Tags": [{"Key": "team", "Value": "x"}]
    }));
    assert!(mapped.unresolved.is_empty(), "{:?}", mapped.unresolved);
    assert_eq!(mapped.name(), Some("app"));
    assert_eq!(view.source[0].buildspec.as_deref(), Some("buildspec.yml"));
    assert_eq!(view.secondary_sources[0].source_identifier.as_deref(), Some("extra"));
    assert!(view.artifacts[0].encryption_disabled);
    assert!(view.environment.privileged_mode, "Ref to a parameter with Default resolves");
    let variables = &view.environment.environment_variables;
    assert_eq!(
        (variables[0].value.as_deref(), variables[1].kind),
        (Some("1"), EnvironmentVariableType::ParameterStore)
    );
    assert_eq!(view.logs_config.cloud_watch_logs.unwrap().status.as_deref(), Some("DISABLED"));
    assert!(view.logs_config.s3_logs.unwrap().encryption_disabled);
    assert_eq!(view.vpc_config.unwrap().subnets, ["subnet-1", "subnet-2"], "list parameters split");
    assert_eq!(view.encryption_key.as_deref(), Some("arn:aws:kms:us-east-1:111122223333:key/prod"));
    assert_eq!(view.project_visibility.as_deref(), Some("PUBLIC_READ"));
    assert_eq!(view.queued_timeout_in_minutes, Some(30));
}

#[test]
fn a_webhook_is_on_when_written_as_a_boolean_or_as_the_string_cloudformation_also_takes() {
    let groups = json!([[{"Type": "EVENT", "Pattern": "PUSH"}]]);
    for webhook in [json!(true), json!("true"), json!("TRUE")] {
        let (_, view) = project(&json!({"Triggers": {"Webhook": webhook, "FilterGroups": groups}}));
        let webhook_view = view.webhook.flatten().expect("a webhook");
        assert_eq!(webhook_view.filter_groups.map(|groups| groups.len()), Some(1), "{webhook}");
    }
    for webhook in [json!(false), json!("false"), json!(null)] {
        let (_, view) = project(&json!({"Triggers": {"Webhook": webhook, "FilterGroups": groups}}));
        assert_eq!(view.webhook, Some(None), "{webhook}: known to have none");
    }
}

#[test]
fn unresolved_values_are_left_out_and_named_with_their_reason() {
    let (mapped, view) = project(&json!({
        "Environment": {"PrivilegedMode": false, "EnvironmentVariables": [
            {"Name": "DB_PASSWORD", "Value": {"Ref": "DbPassword"}},
            {"Name": "KEY", "Value": {"Fn::GetAtt": ["Secret", "Arn"]}}
        ]},
        "EncryptionKey": {"Fn::ImportValue": "shared-key"},
        "ServiceRole": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:role/build"}
    }));
    let mut unresolved = mapped.unresolved.clone();
    unresolved.sort_by(|a, b| a.path.cmp(&b.path));
    let found: Vec<(&str, &str)> = unresolved.iter().map(|u| (u.path.as_str(), u.property.as_str())).collect();
    assert_eq!(
        found,
        [
            ("encryptionKey", "Properties.EncryptionKey"),
            ("environment.environmentVariables[0].value", "Properties.Environment.EnvironmentVariables[0].Value"),
            ("environment.environmentVariables[1].value", "Properties.Environment.EnvironmentVariables[1].Value"),
            ("serviceRole", "Properties.ServiceRole"),
        ]
    );
    let reasons: Vec<&str> = unresolved.iter().map(|u| u.reason.as_str()).collect();
    assert!(reasons[0].contains("`!ImportValue shared-key`"), "{}", reasons[0]);
    assert!(reasons[1].contains("parameter DbPassword has no Default"), "{}", reasons[1]);
    assert!(reasons[2].contains("`!GetAtt Secret.Arn`"), "{}", reasons[2]);
    assert!(reasons[3].contains("AWS::AccountId"), "{}", reasons[3]);
    assert_eq!(view.encryption_key, None);
    assert_eq!(view.environment.environment_variables[0].value, None, "never a guessed value");
    assert!(mapped.unresolved_input(&["environment.environmentVariables"]).is_some());
    assert!(mapped.unresolved_input(&["encryptionKey"]).is_some());
    assert!(mapped.unresolved_input(&["environment.privilegedMode"]).is_none());
    assert!(mapped.unresolved_input(&[""]).is_some(), "the whole configuration covers everything");
}

#[test]
fn context_values_resolve_pseudo_parameters_and_override_defaults() {
    let resources = json!({"P": {"Type": "AWS::CodeBuild::Project", "Properties": {
        "ServiceRole": {"Fn::Sub": ["arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${Name}", {"Name": "build"}]},
        "Environment": {"PrivilegedMode": {"Ref": "Privileged"}},
        "Description": {"Fn::Sub": "literal ${!NotAVariable}"}
    }}});
    let context = Context {
        parameters: [("AWS::AccountId", "123456789012"), ("AWS::Partition", "aws"), ("Privileged", "false")]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into(),
    };
    let mapped = &map_template(&template(&resources), &context).unwrap()[0];
    assert!(mapped.unresolved.is_empty(), "{:?}", mapped.unresolved);
    assert_eq!(mapped.configuration["serviceRole"], "arn:aws:iam::123456789012:role/build");
    assert_eq!(mapped.configuration["environment"]["privilegedMode"], "false");
    assert_eq!(mapped.configuration["description"], "literal ${NotAVariable}");
}

#[test]
fn conditions_decide_if_and_resources_when_they_can() {
    let resources = json!({
        "Decided": {"Type": "AWS::CodeBuild::Project", "Properties": {
            "EncryptionKey": {"Fn::If": ["IsProd", "arn:aws:kms:us-east-1:1:key/k", {"Ref": "AWS::NoValue"}]},
            "VpcConfig": {"Fn::If": ["ProdOrEast", {"VpcId": "vpc-1"}, {"Ref": "AWS::NoValue"}]},
            "Environment": {"PrivilegedMode": {"Fn::If": ["InUsEast1", true, false]}}
        }},
        "Skipped": {"Type": "AWS::CodeBuild::Project", "Condition": "NotProd", "Properties": {}},
        "Other": {"Type": "AWS::S3::Bucket"}
    });
    let mut template = template(&resources);
    template["Conditions"]["NotProd"] = json!({"Fn::Not": [{"Condition": "IsProd"}]});
    let mapped = map_template(&template, &Context::default()).unwrap();
    assert_eq!(mapped.len(), 1, "a resource whose condition is false is not created; S3 is not scanned");
    let decided = &mapped[0];
    assert_eq!(decided.configuration["encryptionKey"], "arn:aws:kms:us-east-1:1:key/k");
    assert_eq!(decided.configuration["vpcConfig"]["vpcId"], "vpc-1", "Or with one known true operand");
    let [unresolved] = decided.unresolved.as_slice() else { panic!("{:?}", decided.unresolved) };
    assert_eq!(unresolved.path, "environment.privilegedMode");
    assert!(unresolved.reason.contains("`!If InUsEast1`") && unresolved.reason.contains("AWS::Region"));
}

#[test]
fn pipelines_map_stages_actions_stores_and_references() {
    let resources = json!({"Res": {"Type": "AWS::CodePipeline::Pipeline", "Properties": json!({
            "Name": "release", "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
            "ArtifactStores": [
                {"Region": "us-east-1", "ArtifactStore": {"Type": "S3", "Location": "b1", "EncryptionKey": {"Id": "k", "Type": "KMS"}}},
                {"Region": "eu-west-1", "ArtifactStore": {"Type": "S3", "Location": "b2"}}
            ],
            "Stages": [
                {"Name": "Source", "Actions": [{"Name": "GitHub",
                    "ActionTypeId": {"Category": "Source", "Owner": "ThirdParty", "Provider": "GitHub", "Version": "1"},
                    "Configuration": {"Owner": "o", "OAuthToken": "{{resolve:secretsmanager:gh}}", "PollForSourceChanges": false}}]},
                {"Name": "Build", "Actions": [{"Name": "Build", "RunOrder": 2,
                    "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
                    "Configuration": {"ProjectName": {"Ref": "BuildProject"},
                                      "EnvironmentVariables": [{"name": "A", "value": "1"}]}}]}
            ]
        })}, "BuildProject": {"Type": "AWS::CodeBuild::Project"}});
    let mapped = map_template(&template(&resources), &Context::default())
        .unwrap()
        .into_iter()
        .find(|mapped| mapped.resource_type == PipelineConfiguration::RESOURCE_TYPE)
        .unwrap();
    let view: PipelineConfiguration = mapped.item(None, None).view().unwrap();
    let pipeline = &view.pipeline;
    assert_eq!(pipeline.name.as_deref(), Some("release"));
    assert_eq!(pipeline.artifact_stores().count(), 2);
    assert_eq!(pipeline.artifact_stores["us-east-1"].encryption_key.as_ref().unwrap().id.as_deref(), Some("k"));
    let source = &pipeline.stages[0].actions[0];
    assert_eq!((source.action_type_id.provider(), source.action_type_id.version()), ("GitHub", Some("1")));
    assert_eq!(source.configuration.get("PollForSourceChanges"), Some("false"), "configuration keys are kept");
    let build = &pipeline.stages[1].actions[0];
    assert_eq!(build.run_order(), 2);
    assert_eq!(build.configuration.get("EnvironmentVariables"), Some(r#"[{"name":"A","value":"1"}]"#));
    assert!(!build.configuration.contains_key("ProjectName"), "a Ref to a resource is unknown");
    let references: Vec<(&str, &str)> =
        mapped.references.iter().map(|r| (r.path.as_str(), r.logical_id.as_str())).collect();
    assert_eq!(
        references,
        [
            ("pipeline.roleArn", "PipelineRole"),
            ("pipeline.stages[1].actions[0].configuration.ProjectName", "BuildProject")
        ]
    );
    assert_eq!(mapped.unresolved[1].property, "Properties.Stages[1].Actions[0].Configuration.ProjectName");
}

#[test]
fn report_groups_map_in_camel_case() {
    let mapped = map_one(
        &json!({"Name": "tests", "Type": "TEST", "ExportConfig": {"ExportConfigType": "S3",
                "S3Destination": {"Bucket": "reports", "EncryptionDisabled": true}}}),
        CodeBuildReportGroup::RESOURCE_TYPE,
    );
    let view: CodeBuildReportGroup = mapped.item(None, None).view().unwrap();
    assert!(view.export_config.s3_destination.unwrap().encryption_disabled);
}

#[test]
fn property_paths_name_the_template_property() {
    let project = CodeBuildProject::RESOURCE_TYPE;
    assert_eq!(property_path(project, "environment.privilegedMode"), "Properties.Environment.PrivilegedMode");
    assert_eq!(property_path(project, "projectVisibility"), "Properties.Visibility");
    assert_eq!(property_path(project, ""), "Properties");
    assert_eq!(
        property_path(PipelineConfiguration::RESOURCE_TYPE, "pipeline.stages.actions.configuration.OAuthToken"),
        "Properties.Stages.Actions.Configuration.OAuthToken"
    );
}

#[test]
fn not_a_template_is_an_error() {
    assert!(matches!(map_template(&json!([1]), &Context::default()), Err(CfnError::NotATemplate(_))));
    assert!(matches!(map_template(&json!({"A": 1}), &Context::default()), Err(CfnError::NotATemplate(_))));
    let err = map_template(&json!({"Resources": {"X": {"Properties": {}}}}), &Context::default()).unwrap_err();
    assert_eq!(err.to_string(), "resource `X`: no `Type`");
}

#[test]
fn paths_overlap_by_segments_ignoring_indices() {
    assert!(overlaps("source", "source[1].location"));
    assert!(overlaps("environment.environmentVariables", "environment"));
    assert!(!overlaps("environment.privilegedMode", "environment.environmentVariables[0].value"));
    assert!(!overlaps("logsConfig", "logsConfigX"));
    assert!(overlaps("", "anything"));
}

/// Resources whose names each use the previous name `uses` times, `length` long, and a project
/// named by the last.
fn name_chain(length: usize, uses: usize) -> Value {
    let mut resources = serde_json::Map::new();
    resources.insert("Name0".into(), json!({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "n"}}));
    for index in 1..length {
        let text = vec![format!("${{Name{}}}", index - 1); uses].join("-");
        resources.insert(
            format!("Name{index}"),
            json!({"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": text}}}),
        );
    }
    resources.insert(
        "Build".into(),
        json!({"Type": "AWS::CodeBuild::Project", "Properties": {"Name": {"Ref": format!("Name{}", length - 1)}}}),
    );
    json!({ "Resources": resources })
}

#[test]
fn names_that_use_each_other_are_resolved_once_each() {
    // 3^12 paths through the chain, one resolution per name.
    let mapped = map_template(&name_chain(12, 3), &Context::default()).unwrap();
    let name = mapped[0].name().unwrap();
    assert_eq!(name.len(), 3_usize.pow(11) * 2 - 1, "the whole name is computed");
    // A chain deeper than the depth bound is unknown, and quick: the name is resolved once.
    let mapped = map_template(&name_chain(1_000, 3), &Context::default()).unwrap();
    assert_eq!(mapped[0].name(), None);
    assert!(mapped[0].unresolved[0].reason.contains("known only after deployment"), "{:?}", mapped[0].unresolved);
}

#[test]
fn a_value_past_the_bounds_is_an_error_naming_the_resource_not_a_hang() {
    let err = map_template(&name_chain(20, 3), &Context::default()).unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("resource `Build`:") && message.contains("bytes"), "{message}");
    // The regression seed of the cfn fuzz target is the same template in YAML.
    let seed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/seeds/cfn-name-chain.yaml")).unwrap();
    let err = map_template(&parse(&seed).unwrap(), &Context::default()).unwrap_err();
    assert!(err.to_string().starts_with("resource `Build`:"), "{err}");
}

#[test]
fn a_name_that_refers_to_itself_is_unknown() {
    let template = json!({"Resources": {
        "A": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "${B}-a"}}},
        "B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "${A}-b"}}},
        "Build": {"Type": "AWS::CodeBuild::Project", "Properties": {"Name": {"Ref": "A"}}},
    }});
    let mapped = map_template(&template, &Context::default()).unwrap();
    assert_eq!(mapped[0].name(), None);
    assert!(mapped[0].unresolved[0].reason.contains("refers to"), "{:?}", mapped[0].unresolved);
}

#[test]
fn a_gzip_compressed_template_reads_as_its_text_does() {
    let plain = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/templates/bad-pipeline.yaml");
    let dir = std::env::temp_dir().join(format!("pipesec-template-gzip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let compressed = dir.join("bad-pipeline.yaml.gz");
    std::fs::write(&compressed, crate::input::tests::gzip(&std::fs::read(&plain).unwrap())).unwrap();
    let read = |path: &std::path::Path| -> Vec<(String, Option<usize>)> {
        let entries = load(path, &Context::default()).unwrap();
        let line = |entry: &crate::input::Entry| match &entry.origin {
            crate::input::Origin::Template { block, .. } => block.as_ref().map(|block| block.line_of("Properties")),
            _ => None,
        };
        entries.iter().map(|entry| (entry.item.resource_id.clone(), line(entry))).collect()
    };
    let (from_gzip, from_text) = (read(&compressed), read(&plain));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!from_text.is_empty() && from_text.iter().all(|(_, line)| line.is_some()));
    assert_eq!(from_gzip, from_text, "same resources, same lines");
}

/// `bad-pipeline.yaml` padded with a comment to exactly `size` bytes.
fn padded_template(size: u64) -> String {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/templates/bad-pipeline.yaml"),
    )
    .unwrap();
    let padding = usize::try_from(size).unwrap() - text.len() - "#\n".len();
    format!("{text}#{}\n", "x".repeat(padding))
}

#[test]
fn a_template_at_the_size_limit_is_read() {
    let dir = crate::input::tests::scratch("template-at-limit");
    let path = dir.join("at-limit.yaml");
    std::fs::write(&path, padded_template(MAX_TEMPLATE_BYTES)).unwrap();
    let compressed = dir.join("at-limit.yaml.gz");
    std::fs::write(&compressed, crate::input::tests::gzip(padded_template(MAX_TEMPLATE_BYTES).as_bytes())).unwrap();
    let (plain, gzip) = (load(&path, &Context::default()), load(&compressed, &Context::default()));
    std::fs::remove_dir_all(&dir).unwrap();
    let (plain, gzip) = (plain.unwrap(), gzip.unwrap());
    assert!(!plain.is_empty(), "the template's resources are read");
    assert_eq!(plain.len(), gzip.len());
}

#[test]
fn a_template_past_the_size_limit_is_refused_with_its_size_and_the_limit() {
    let dir = crate::input::tests::scratch("template-over-limit");
    let path = dir.join("over-limit.yaml");
    std::fs::write(&path, padded_template(MAX_TEMPLATE_BYTES + 1)).unwrap();
    let compressed = dir.join("over-limit.yaml.gz");
    let gzip = crate::input::tests::gzip(padded_template(MAX_TEMPLATE_BYTES + 1).as_bytes());
    std::fs::write(&compressed, &gzip).unwrap();
    let plain_err = load(&path, &Context::default()).unwrap_err().to_string();
    let gzip_err = load(&compressed, &Context::default()).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(
        plain_err,
        format!(
            "{}: 1048577 bytes, over the limit of 1048576 bytes (1 MiB) for a CloudFormation template",
            path.display()
        )
    );
    assert_eq!(
        gzip_err,
        format!(
            "{}: more than 1048576 bytes decompressed ({} bytes compressed), over the limit of 1048576 bytes (1 MiB) for a CloudFormation template",
            compressed.display(),
            gzip.len()
        )
    );
}
