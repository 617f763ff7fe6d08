"""Deploys the CodeBuild and CodePipeline resources of a simple CloudFormation template to the
emulator through the service APIs (moto's CloudFormation skips these types).

Only what the test templates use is supported: literal property values, `!Ref` / `!GetAtt` to
resources of the same template (resolved to what was created), IAM roles, CodeBuild projects
(with `Visibility` and webhook `Triggers`), report groups and pipelines.
"""

import json

import yaml


class _Loader(yaml.SafeLoader):
    pass


def _intrinsic(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Ref": value} if suffix == "Ref" else {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _intrinsic)


def load(path) -> dict:
    with open(path) as handle:
        return yaml.load(handle, Loader=_Loader)


def _camel(value):
    """CloudFormation's PascalCase keys as the service APIs spell them."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def deploy(path, clients) -> dict:
    """Creates the template's roles, projects, report groups and pipelines; returns
    {logical id: physical name}."""
    template = load(path)
    resources = template["Resources"]
    physical: dict[str, str] = {}
    arns: dict[str, str] = {}

    def resolve(value):
        if isinstance(value, dict) and len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref":
                return physical[argument]
            if key == "Fn::GetAtt":
                return arns[argument[0]]
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return value

    iam, codebuild, codepipeline = clients("iam"), clients("codebuild"), clients("codepipeline")
    for kind in ("AWS::IAM::Role", "AWS::CodeBuild::Project", "AWS::CodeBuild::ReportGroup", "AWS::CodePipeline::Pipeline"):
        for logical_id, resource in resources.items():
            if resource["Type"] != kind:
                continue
            properties = resolve(resource.get("Properties", {}))
            if kind == "AWS::IAM::Role":
                role = iam.create_role(RoleName=logical_id,
                                       AssumeRolePolicyDocument=json.dumps(properties["AssumeRolePolicyDocument"]))
                physical[logical_id], arns[logical_id] = logical_id, role["Role"]["Arn"]
            elif kind == "AWS::CodeBuild::Project":
                properties = dict(properties)
                visibility = properties.pop("Visibility", None)
                triggers = properties.pop("Triggers", None)
                project = _camel(properties)
                project["source"]["buildspec"] = project["source"].pop("buildSpec", None)
                created = codebuild.create_project(**project)["project"]
                physical[logical_id], arns[logical_id] = created["name"], created["arn"]
                if visibility:
                    codebuild.update_project_visibility(projectArn=created["arn"], projectVisibility=visibility)
                if triggers and triggers.get("Webhook"):
                    groups = [[{key[:1].lower() + key[1:]: item for key, item in f.items()} for f in group]
                              for group in triggers.get("FilterGroups", [])]
                    codebuild.create_webhook(projectName=created["name"], filterGroups=groups)
            elif kind == "AWS::CodeBuild::ReportGroup":
                created = codebuild.create_report_group(**_camel(properties))["reportGroup"]
                physical[logical_id], arns[logical_id] = created["name"], created["arn"]
            else:
                stages = []
                for stage in properties["Stages"]:
                    actions = []
                    for action in stage["Actions"]:
                        configuration = action.get("Configuration", {})
                        action = _camel({key: item for key, item in action.items() if key != "Configuration"})
                        action["configuration"] = configuration
                        actions.append(action)
                    stages.append({"name": stage["Name"], "actions": actions})
                pipeline = {"name": properties["Name"], "roleArn": properties["RoleArn"],
                            "artifactStore": _camel(properties["ArtifactStore"]), "stages": stages}
                codepipeline.create_pipeline(pipeline=pipeline)
                physical[logical_id] = properties["Name"]
    return physical
