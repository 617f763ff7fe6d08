"""Configuration items, as AWS Config records them.

Config shows the same item in two models:
- the *event model*, inside a rule's Lambda event: `awsAccountId`, `ARN`, `configurationItemVersion`,
  `configurationStateMd5Hash`, relationships with `name`, `configuration` as an object, ISO-8601
  timestamps, a numeric `configurationStateId`;
- the *API model*, from GetResourceConfigHistory / BatchGetResourceConfig: `accountId`, `arn`,
  `version`, `configurationItemMD5Hash`, relationships with `relationshipName`, `configuration` and
  each `supplementaryConfiguration` value as JSON *strings*, timestamps as epoch seconds, a string
  `configurationStateId`.

The recorder builds one event-model item per resource, with one builder per resource type
(`codebuild_project_item`, `codebuild_report_group_item`, `codepipeline_pipeline_item`, all on top of
`_event_item`); every other shape is derived from that item by the generic conversions below, so the
models cannot drift apart. This module is pure (no moto import): the emulator uses it server-side and
tests use `api_item_to_event_item` client-side.
"""

import copy
import datetime
import functools
import json
import uuid
from typing import Any

CODEBUILD_PROJECT = "AWS::CodeBuild::Project"
CODEBUILD_REPORT_GROUP = "AWS::CodeBuild::ReportGroup"
CODEPIPELINE_PIPELINE = "AWS::CodePipeline::Pipeline"
IAM_ROLE = "AWS::IAM::Role"
ITEM_VERSION = "1.3"

# Event-model key -> API-model key, for the keys that are only renamed.
_EVENT_TO_API_KEYS = {
    "configurationItemVersion": "version",
    "awsAccountId": "accountId",
    "ARN": "arn",
    "configurationStateMd5Hash": "configurationItemMD5Hash",
}
_TIMESTAMP_KEYS = ("configurationItemCaptureTime", "resourceCreationTime")
# BaseConfigurationItem (BatchGetResourceConfig) lacks these ConfigurationItem members.
_NOT_IN_BASE_ITEM = ("tags", "relationships", "relatedEvents", "configurationItemMD5Hash")
# API-only members with no event-model counterpart.
_API_ONLY_KEYS = ("recordingFrequency", "configurationItemDeliveryTime")


def iso_millis(epoch_seconds: float) -> str:
    """Config's timestamp text: ISO-8601, UTC, milliseconds, `Z`."""
    moment = datetime.datetime.fromtimestamp(epoch_seconds, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_seconds(value: Any) -> float:
    """Epoch seconds from an ISO-8601 string, a datetime (what boto3 returns) or a number."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()


# --- one item builder per resource type ------------------------------------------------------

# CodeBuild project fields Config does not record; rules read them with BatchGetProjects.
_CODEBUILD_NOT_RECORDED = ("webhook", "projectVisibility", "publicProjectAlias", "resourceAccessRole")
# CodePipeline action configuration keys whose values GetPipeline and Config show masked.
_MASKED_ACTION_KEYS = ("OAuthToken",)
MASK = "****"


def _event_item(
    resource_type: str,
    resource_id: str,
    resource_name: str | None,
    arn: str,
    account_id: str,
    region: str,
    created: float,
    modified: float,
    tags: dict[str, str],
    relationships: list[dict],
    configuration: dict,
) -> dict:
    """The event-model envelope every recorded resource shares; times in epoch seconds."""
    return {
        "configurationItemVersion": ITEM_VERSION,
        "awsAccountId": account_id,
        "configurationItemCaptureTime": iso_millis(modified),
        "configurationItemStatus": "OK",
        # Orders the items of one resource; Config uses epoch milliseconds of the change.
        "configurationStateId": int(modified * 1000),
        "configurationStateMd5Hash": "",
        "ARN": arn,
        "resourceType": resource_type,
        "resourceId": resource_id,
        "resourceName": resource_name,
        "awsRegion": region,
        "availabilityZone": "Not Applicable",
        "resourceCreationTime": iso_millis(created),
        "tags": tags,
        "relatedEvents": [],
        "relationships": relationships,
        "configuration": configuration,
        "supplementaryConfiguration": {},
    }


def _role_relationships(role_arn: str | None, role_id: str | None) -> list[dict]:
    """The relationship to an IAM role (resourceId is the role's IAM id, None if it does not exist)."""
    if not role_arn:
        return []
    return [{
        "resourceId": role_id,
        "resourceName": role_arn.rsplit("/", 1)[-1],
        "resourceType": IAM_ROLE,
        "name": "Is associated with Role",
    }]


def _tag_map(tags: list[dict] | None) -> dict[str, str]:
    """CodeBuild's [{key, value}] tags as Config's tag map."""
    return {tag["key"]: tag.get("value", "") for tag in tags or []}


def codebuild_configuration(project: dict) -> dict:
    """`configuration` of a CodeBuild project item: the BatchGetProjects shape with Config's quirks."""
    configuration = copy.deepcopy(project)
    # Config records the primary source and artifacts as one-element lists.
    for key in ("source", "artifacts"):
        if key in configuration and not isinstance(configuration[key], list):
            configuration[key] = [configuration[key]]
    # Config's own spelling.
    if "queuedTimeoutInMinutes" in configuration:
        configuration["queuedtimeoutInMinutes"] = configuration.pop("queuedTimeoutInMinutes")
    for key in _CODEBUILD_NOT_RECORDED:
        configuration.pop(key, None)
    configuration["tags"] = configuration.get("tags") or []
    return configuration


@functools.cache  # the recorder asks for every project's id on each page of a listing
def codebuild_resource_id(project_arn: str) -> str:
    """A stable resource id that is deliberately not the project name (real items may carry an id)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, project_arn))


def codebuild_project_item(
    project: dict, account_id: str, region: str, role_id: str | None
) -> dict:
    """The event-model configuration item of one CodeBuild project.

    `project` is moto's BatchGetProjects-shaped dict (camelCase; `created` / `lastModifiedDate` in
    epoch seconds); `role_id` is the IAM id of its service role, if the role exists.
    """
    modified = project.get("lastModifiedDate") or project.get("created") or 0
    return _event_item(
        CODEBUILD_PROJECT,
        resource_id=codebuild_resource_id(project["arn"]),
        resource_name=project["name"],
        arn=project["arn"],
        account_id=account_id,
        region=region,
        created=project.get("created") or modified,
        modified=modified,
        tags=_tag_map(project.get("tags")),
        relationships=_role_relationships(project.get("serviceRole"), role_id),
        configuration=codebuild_configuration(project),
    )


def codebuild_report_group_item(report_group: dict, account_id: str, region: str) -> dict:
    """The event-model configuration item of one CodeBuild report group.

    `report_group` is BatchGetReportGroups-shaped (camelCase; `created` / `lastModified` in epoch
    seconds). resourceId is the report group's ARN, the test bed's choice: it follows the type's
    primary identifier in the CloudFormation registry (`Arn`), and keeps rules from assuming the id is
    the name (that is the resourceName).
    """
    configuration = {
        key: copy.deepcopy(report_group[key])
        for key in ("arn", "name", "type", "exportConfig", "created", "lastModified", "tags")
        if report_group.get(key) is not None
    }
    modified = report_group.get("lastModified") or report_group.get("created") or 0
    return _event_item(
        CODEBUILD_REPORT_GROUP,
        resource_id=report_group["arn"],
        resource_name=report_group["name"],
        arn=report_group["arn"],
        account_id=account_id,
        region=region,
        created=report_group.get("created") or modified,
        modified=modified,
        tags=_tag_map(report_group.get("tags")),
        relationships=[],
        configuration=configuration,
    )


def codepipeline_configuration(pipeline: dict, metadata: dict) -> dict:
    """`configuration` of a pipeline item: GetPipeline's answer, `{pipeline, metadata}`, with secret
    action settings masked as GetPipeline shows them and the metadata times in epoch seconds (the
    JSON wire form of GetPipeline's timestamps)."""
    declaration = copy.deepcopy(pipeline)
    for stage in declaration.get("stages") or []:
        for action in stage.get("actions") or []:
            settings = action.get("configuration") or {}
            for key in _MASKED_ACTION_KEYS:
                if key in settings:
                    settings[key] = MASK
    return {
        "pipeline": declaration,
        "metadata": {
            "pipelineArn": metadata["pipelineArn"],
            **{key: epoch_seconds(metadata[key]) for key in ("created", "updated") if metadata.get(key)},
        },
    }


def codepipeline_pipeline_item(
    pipeline: dict, metadata: dict, tags: dict[str, str], account_id: str, region: str, role_id: str | None
) -> dict:
    """The event-model configuration item of one CodePipeline pipeline.

    `pipeline` and `metadata` are GetPipeline-shaped (camelCase; `metadata.created` / `updated` in epoch
    seconds or ISO text); `role_id` is the IAM id of the pipeline's role, if it exists. resourceId and
    resourceName are both the pipeline name, as Config records it.
    """
    created, updated = (epoch_seconds(metadata.get(key) or 0) for key in ("created", "updated"))
    return _event_item(
        CODEPIPELINE_PIPELINE,
        resource_id=pipeline["name"],
        resource_name=pipeline["name"],
        arn=metadata["pipelineArn"],
        account_id=account_id,
        region=region,
        created=created,
        modified=max(updated, created),
        tags=dict(tags),
        relationships=_role_relationships(pipeline.get("roleArn"), role_id),
        configuration=codepipeline_configuration(pipeline, metadata),
    )


# --- conversions between the models (generic over resource types) ----------------------------


def event_item_to_api_item(item: dict) -> dict:
    """The API model (ConfigurationItem, as JSON on the wire) of an event-model item."""
    api_item: dict[str, Any] = {}
    for key, value in item.items():
        api_item[_EVENT_TO_API_KEYS.get(key, key)] = value
    for key in _TIMESTAMP_KEYS:
        if api_item.get(key) is not None:
            api_item[key] = epoch_seconds(api_item[key])
    if api_item.get("configurationStateId") is not None:
        api_item["configurationStateId"] = str(api_item["configurationStateId"])
    api_item["relationships"] = [
        {("relationshipName" if k == "name" else k): v for k, v in relation.items()}
        for relation in item.get("relationships") or []
    ]
    api_item["configuration"] = json.dumps(item.get("configuration"))
    api_item["supplementaryConfiguration"] = {
        name: json.dumps(value) for name, value in (item.get("supplementaryConfiguration") or {}).items()
    }
    return api_item


def event_item_to_base_item(item: dict) -> dict:
    """The BaseConfigurationItem (BatchGetResourceConfig) of an event-model item."""
    base_item = event_item_to_api_item(item)
    for key in _NOT_IN_BASE_ITEM:
        base_item.pop(key, None)
    return base_item


def event_item_to_query_row(item: dict) -> dict:
    """The resource as SelectResourceConfig sees it: API key names, `configuration` as an object,
    `tags` as a list of {key, value}, ISO timestamps."""
    row = {_EVENT_TO_API_KEYS.get(key, key): copy.deepcopy(value) for key, value in item.items()}
    row.pop("configurationItemMD5Hash", None)
    row.pop("relatedEvents", None)
    row["tags"] = [{"key": key, "value": value} for key, value in item.get("tags", {}).items()]
    row["relationships"] = [
        {("relationshipName" if k == "name" else k): v for k, v in relation.items()}
        for relation in item.get("relationships") or []
    ]
    return row


def api_item_to_event_item(api_item: dict) -> dict:
    """The event-model item of an API-model item, e.g. one of boto3's GetResourceConfigHistory
    `configurationItems` (timestamps as datetimes) or a raw JSON one (epoch numbers).

    This is the mapping a rule applies to an oversized notification, which carries no item: the rule
    reads it with GetResourceConfigHistory. Tests use it to get a real-shaped event item out of the
    emulator.
    """
    api_to_event = {api: event for event, api in _EVENT_TO_API_KEYS.items()}
    item: dict[str, Any] = {}
    for key, value in api_item.items():
        if key in _API_ONLY_KEYS:
            continue
        item[api_to_event.get(key, key)] = copy.deepcopy(value)
    for key in _TIMESTAMP_KEYS:
        if item.get(key) is not None:
            item[key] = iso_millis(epoch_seconds(item[key]))
    state_id = item.get("configurationStateId")
    if isinstance(state_id, str) and state_id.isdigit():
        item["configurationStateId"] = int(state_id)
    if "relationships" in item:
        item["relationships"] = [
            {("name" if k == "relationshipName" else k): v for k, v in relation.items()}
            for relation in item["relationships"] or []
        ]
    if isinstance(item.get("configuration"), str):
        item["configuration"] = json.loads(item["configuration"]) if item["configuration"] else None
    item["supplementaryConfiguration"] = {
        name: json.loads(value) if isinstance(value, str) else value
        for name, value in (item.get("supplementaryConfiguration") or {}).items()
    }
    return item
