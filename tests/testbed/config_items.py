"""Configuration items, as AWS Config records them.

Config shows the same item in two models (DESIGN §1):
- the *event model*, inside a rule's Lambda event: `awsAccountId`, `ARN`, `configurationItemVersion`,
  `configurationStateMd5Hash`, relationships with `name`, `configuration` as an object, ISO-8601
  timestamps, a numeric `configurationStateId`;
- the *API model*, from GetResourceConfigHistory / BatchGetResourceConfig: `accountId`, `arn`,
  `version`, `configurationItemMD5Hash`, relationships with `relationshipName`, `configuration` and
  each `supplementaryConfiguration` value as JSON *strings*, timestamps as epoch seconds, a string
  `configurationStateId`.

The recorder builds one event-model item per resource (`codebuild_project_item`); every other shape is
derived from it, so the models cannot drift apart. This module is pure (no moto import): the emulator
uses it server-side and tests use `api_item_to_event_item` client-side.
"""

import copy
import datetime
import json
import uuid
from typing import Any

CODEBUILD_PROJECT = "AWS::CodeBuild::Project"
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


def codebuild_configuration(project: dict) -> dict:
    """`configuration` of a CodeBuild project item: the BatchGetProjects shape with Config's quirks."""
    configuration = copy.deepcopy(project)
    # Config records the primary source and artifacts as one-element lists (DESIGN §2).
    for key in ("source", "artifacts"):
        if key in configuration and not isinstance(configuration[key], list):
            configuration[key] = [configuration[key]]
    # Config's own spelling.
    if "queuedTimeoutInMinutes" in configuration:
        configuration["queuedtimeoutInMinutes"] = configuration.pop("queuedTimeoutInMinutes")
    # Config does not record these; rules read them with BatchGetProjects.
    configuration.pop("projectVisibility", None)
    configuration.pop("webhook", None)
    configuration["tags"] = configuration.get("tags") or []
    return configuration


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
    created = project.get("created") or modified
    service_role = project.get("serviceRole") or ""
    relationships = []
    if service_role:
        relationships.append(
            {
                "resourceId": role_id,
                "resourceName": service_role.rsplit("/", 1)[-1],
                "resourceType": "AWS::IAM::Role",
                "name": "Is associated with Role",
            }
        )
    return {
        "configurationItemVersion": ITEM_VERSION,
        "awsAccountId": account_id,
        "configurationItemCaptureTime": iso_millis(modified),
        "configurationItemStatus": "OK",
        # Orders the items of one resource; Config uses epoch milliseconds of the change.
        "configurationStateId": int(modified * 1000),
        "configurationStateMd5Hash": "",
        "ARN": project["arn"],
        "resourceType": CODEBUILD_PROJECT,
        "resourceId": codebuild_resource_id(project["arn"]),
        "resourceName": project["name"],
        "awsRegion": region,
        "availabilityZone": "Not Applicable",
        "resourceCreationTime": iso_millis(created),
        "tags": {tag["key"]: tag.get("value", "") for tag in project.get("tags") or []},
        "relatedEvents": [],
        "relationships": relationships,
        "configuration": codebuild_configuration(project),
        "supplementaryConfiguration": {},
    }


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

    This is the mapping a rule applies to an oversized notification (DESIGN §1); tests use it to
    get a real-shaped event item out of the emulator.
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
