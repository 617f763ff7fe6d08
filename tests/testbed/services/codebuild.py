"""AWS CodeBuild: fixes to moto's projects, and the webhooks, visibility and report groups it lacks.

Rules read projects live with BatchGetProjects, by name or ARN; moto 5.2.5 finds them by name only
and leaves out `projectsNotFound`. Its CreateProject drops fields the rules judge (it always
answers encryptionKey alias/aws/s3, for one) and its UpdateProject answers 500. It has no webhook
operations (CreateWebhook, UpdateWebhook, DeleteWebhook), no UpdateProjectVisibility and no report
groups (CreateReportGroup, BatchGetReportGroups, ListReportGroups, UpdateReportGroup,
DeleteReportGroup): all added here, kept minimal. Its CreateProject also demands a source location
and an artifact location where CodeBuild does not: a CODEPIPELINE or NO_SOURCE source has none (the
pipeline supplies it), and CodePipeline ignores a CODEPIPELINE artifact's location.

Webhooks and visibility are stored in the project's metadata, so BatchGetProjects shows them;
`config_items` leaves them out of the recorded item, as Config does, and neither changes the
project's lastModifiedDate. Report groups are kept in the extension's state, BatchGetReportGroups-
shaped, and recorded by `config_recorder`.
"""

import json
import re
import uuid
from typing import Any, Callable

from moto.codebuild.exceptions import (
    InvalidInputException,
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
)
from moto.codebuild import responses as moto_codebuild_responses
from moto.codebuild.responses import CodeBuildResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import unix_time
from moto.utilities.utils import get_partition

from testbed.services.common import MAX_PAGE_SIZE, MOTO_ORIGINALS, STATE, page_limit, paginate

# CreateProject fields moto's model drops.
_CREATE_PROJECT_PASSTHROUGH = (
    "secondarySources",
    "secondarySourceVersions",
    "secondaryArtifacts",
    "encryptionKey",
    "fileSystemLocations",
    "buildBatchConfig",
    "concurrentBuildLimit",
)
# Source types CodeBuild can put a webhook on.
_WEBHOOK_SOURCE_TYPES = ("GITHUB", "GITHUB_ENTERPRISE", "BITBUCKET", "GITLAB", "GITLAB_SELF_MANAGED")
_GITHUB_REPOSITORY = re.compile(r"^https://github\.com/(?P<repository>[^/]+/[^/]+?)(?:\.git)?/?$")


# --- projects ----------------------------------------------------------------------------------


def _find_project(backend: Any, name_or_arn: str) -> Any:
    """By name, or by ARN through the name it ends with: no walk over the projects, which another
    request's thread may be adding to (the walk failed with "dictionary changed size")."""
    if name_or_arn.startswith("arn:"):
        project = backend.codebuild_projects.get(name_or_arn.rsplit(":project/", 1)[-1])
        return project if project is not None and project.arn == name_or_arn else None
    return backend.codebuild_projects.get(name_or_arn)


def batch_get_projects(self: CodeBuildResponse) -> ActionResult:
    names = self._get_param("names") or []
    if not 1 <= len(names) <= 100:
        raise InvalidInputException("Number of project names must be between 1 and 100")
    projects, not_found = [], []
    for name_or_arn in names:
        project = _find_project(self.codebuild_backend, name_or_arn)
        if project is None:
            not_found.append(name_or_arn)
        else:
            projects.append(project.project_metadata)
    return ActionResult({"projects": projects, "projectsNotFound": not_found})


# Source and artifact types whose location CodeBuild does not require (ProjectSource.location,
# ProjectArtifacts.location in the CodeBuild API reference).
_NO_LOCATION_SOURCES = ("CODEPIPELINE", "NO_SOURCE")


def _validate_source(source: dict[str, Any]) -> None:
    if source.get("type") in _NO_LOCATION_SOURCES and not source.get("location"):
        return
    MOTO_ORIGINALS["validate_source"](source)


def _validate_artifacts(artifacts: dict[str, Any]) -> None:
    if artifacts.get("type") == "CODEPIPELINE" and not artifacts.get("location"):
        return
    MOTO_ORIGINALS["validate_artifacts"](artifacts)


def create_project(self: CodeBuildResponse) -> ActionResult:
    result = MOTO_ORIGINALS["create_project"](self)
    metadata = self.codebuild_backend.codebuild_projects[self._get_param("name")].project_metadata
    _apply_project_fields(metadata, {k: self._get_param(k) for k in _CREATE_PROJECT_PASSTHROUGH})
    metadata["projectVisibility"] = "PRIVATE"  # what CodeBuild answers for a new project
    return result


def update_project(self: CodeBuildResponse) -> ActionResult:
    """The given top-level fields replace the stored ones."""
    name = self._get_param("name")
    project = _find_project(self.codebuild_backend, name or "")
    if project is None:
        raise InvalidInputException(f"Project cannot be found: {name}")
    fields = {k: v for k, v in json.loads(self.body).items() if k != "name"}
    _apply_project_fields(project.project_metadata, fields)
    project.project_metadata["lastModifiedDate"] = unix_time()
    return ActionResult({"project": project.project_metadata})


def _apply_project_fields(metadata: dict, fields: dict) -> None:
    for key, value in fields.items():
        if value is None:
            continue
        if key == "badgeEnabled":  # the request flag becomes BatchGetProjects' badge structure
            metadata["badge"] = {"badgeEnabled": bool(value)}
        else:
            metadata[key] = value


# --- webhooks and visibility -------------------------------------------------------------------


def _project_or_not_found(response: CodeBuildResponse, name_or_arn: str | None) -> Any:
    project = _find_project(response.codebuild_backend, name_or_arn or "")
    if project is None:
        raise ResourceNotFoundException(f"Project cannot be found: {name_or_arn}")
    return project


def _filter_groups(groups: Any) -> list[list[dict]]:
    """Filter groups as CodeBuild stores them: each filter with its excludeMatchedPattern flag."""
    checked = []
    for group in groups or []:
        if not isinstance(group, list) or not group:
            raise InvalidInputException("Each filter group must be a non-empty list of filters")
        for webhook_filter in group:
            if not isinstance(webhook_filter, dict) or not {"type", "pattern"} <= set(webhook_filter):
                raise InvalidInputException("Each webhook filter needs a type and a pattern")
        checked.append([
            {"type": f["type"], "pattern": f["pattern"], "excludeMatchedPattern": bool(f.get("excludeMatchedPattern"))}
            for f in group
        ])
    return checked


def create_webhook(self: CodeBuildResponse) -> ActionResult:
    project = _project_or_not_found(self, self._get_param("projectName"))
    metadata = project.project_metadata
    if metadata.get("webhook"):
        raise ResourceAlreadyExistsException(f"Webhook already exists for project: {metadata['name']}")
    source = metadata.get("source") or {}
    if source.get("type") not in _WEBHOOK_SOURCE_TYPES:
        raise InvalidInputException(f"Webhooks are not supported for source type {source.get('type')}")
    webhook: dict[str, Any] = {
        "payloadUrl": f"https://codebuild.{self.region}.amazonaws.com/webhooks?t={uuid.uuid4().hex}&v=1",
        "filterGroups": _filter_groups(self._get_param("filterGroups")),
        "buildType": self._get_param("buildType") or "BUILD",
        "manualCreation": False,
        "lastModifiedSecret": unix_time(),
    }
    repository = _GITHUB_REPOSITORY.match(source.get("location") or "")
    if repository:  # the hook CodeBuild registers in the GitHub repository
        webhook["url"] = f"https://api.github.com/repos/{repository['repository']}/hooks/{uuid.uuid4().int % 10**9}"
    if self._get_param("branchFilter"):
        webhook["branchFilter"] = self._get_param("branchFilter")
    metadata["webhook"] = webhook
    return ActionResult({"webhook": webhook})


def update_webhook(self: CodeBuildResponse) -> ActionResult:
    """The given filterGroups / buildType / branchFilter replace the stored ones; rotateSecret renews
    lastModifiedSecret."""
    project = _project_or_not_found(self, self._get_param("projectName"))
    webhook = project.project_metadata.get("webhook")
    if not webhook:
        raise ResourceNotFoundException(f"Webhook does not exist for project: {project.project_metadata['name']}")
    if self._get_param("filterGroups") is not None:
        webhook["filterGroups"] = _filter_groups(self._get_param("filterGroups"))
    for key in ("buildType", "branchFilter"):
        if self._get_param(key) is not None:
            webhook[key] = self._get_param(key)
    if self._get_param("rotateSecret"):
        webhook["lastModifiedSecret"] = unix_time()
    return ActionResult({"webhook": webhook})


def delete_webhook(self: CodeBuildResponse) -> ActionResult:
    project = _project_or_not_found(self, self._get_param("projectName"))
    if not project.project_metadata.pop("webhook", None):
        raise ResourceNotFoundException(f"Webhook does not exist for project: {project.project_metadata['name']}")
    return EmptyResult()


def update_project_visibility(self: CodeBuildResponse) -> ActionResult:
    """PUBLIC_READ gives the project a public alias (kept if it goes PRIVATE again)."""
    project = _project_or_not_found(self, self._get_param("projectArn"))
    visibility = self._get_param("projectVisibility")
    if visibility not in ("PUBLIC_READ", "PRIVATE"):
        raise InvalidInputException(f"Invalid project visibility: {visibility}")
    metadata = project.project_metadata
    metadata["projectVisibility"] = visibility
    if visibility == "PUBLIC_READ":
        metadata.setdefault("publicProjectAlias", str(uuid.uuid5(uuid.NAMESPACE_URL, project.arn + "#public")))
    if self._get_param("resourceAccessRole"):
        metadata["resourceAccessRole"] = self._get_param("resourceAccessRole")
    answer = {"projectArn": project.arn, "projectVisibility": visibility}
    if "publicProjectAlias" in metadata:
        answer["publicProjectAlias"] = metadata["publicProjectAlias"]
    return ActionResult(answer)


# --- report groups -----------------------------------------------------------------------------
# ARN: arn:<partition>:codebuild:<region>:<account>:report-group/<name>.

_REPORT_GROUP_SORT_KEYS: dict[str, Callable[[dict], list]] = {
    "NAME": lambda group: [group["name"]],
    "CREATED_TIME": lambda group: [group["created"], group["name"]],
    "LAST_MODIFIED_TIME": lambda group: [group["lastModified"], group["name"]],
}


def _report_groups(response: CodeBuildResponse) -> dict[str, dict]:
    """The region's report groups by ARN (caller holds STATE.lock)."""
    return STATE.report_groups.setdefault((response.current_account, response.region), {})


def _export_config(config: Any) -> dict:
    if not isinstance(config, dict) or config.get("exportConfigType") not in ("S3", "NO_EXPORT"):
        raise InvalidInputException("exportConfig.exportConfigType must be S3 or NO_EXPORT")
    if config["exportConfigType"] == "S3" and not (config.get("s3Destination") or {}).get("bucket"):
        raise InvalidInputException("exportConfig.s3Destination.bucket is required for S3 exports")
    return config


def create_report_group(self: CodeBuildResponse) -> ActionResult:
    name, report_type = self._get_param("name"), self._get_param("type")
    if report_type not in ("TEST", "CODE_COVERAGE"):
        raise InvalidInputException(f"Invalid report group type: {report_type}")
    export_config = _export_config(self._get_param("exportConfig"))
    arn = f"arn:{get_partition(self.region)}:codebuild:{self.region}:{self.current_account}:report-group/{name}"
    now = unix_time()
    group = {
        "arn": arn, "name": name, "type": report_type, "exportConfig": export_config,
        "created": now, "lastModified": now, "status": "ACTIVE",
    }
    if self._get_param("tags"):
        group["tags"] = self._get_param("tags")
    with STATE.lock:
        groups = _report_groups(self)
        if arn in groups:
            raise ResourceAlreadyExistsException(f"Report group already exists: {arn}")
        groups[arn] = group
    return ActionResult({"reportGroup": group})


def batch_get_report_groups(self: CodeBuildResponse) -> ActionResult:
    arns = self._get_param("reportGroupArns") or []
    if not 1 <= len(arns) <= 100:
        raise InvalidInputException("Number of report group ARNs must be between 1 and 100")
    with STATE.lock:
        groups = _report_groups(self)
        found = [groups[arn] for arn in arns if arn in groups]
        not_found = [arn for arn in arns if arn not in groups]
    return ActionResult({"reportGroups": found, "reportGroupsNotFound": not_found})


def list_report_groups(self: CodeBuildResponse) -> ActionResult:
    """Report group ARNs, sorted by sortBy (NAME unless given) in sortOrder, paginated."""
    sort_by = self._get_param("sortBy") or "NAME"
    if sort_by not in _REPORT_GROUP_SORT_KEYS:
        raise InvalidInputException(f"Invalid sortBy: {sort_by}")
    descending = self._get_param("sortOrder") == "DESCENDING"
    limit = page_limit(self._get_param("maxResults"), MAX_PAGE_SIZE, "InvalidInputException")
    sort_key = _REPORT_GROUP_SORT_KEYS[sort_by]
    with STATE.lock:
        groups = sorted(_report_groups(self).values(), key=sort_key, reverse=descending)
    page, next_token = paginate(groups, sort_key, limit, self._get_param("nextToken"), descending)
    answer: dict[str, Any] = {"reportGroups": [group["arn"] for group in page]}
    if next_token:
        answer["nextToken"] = next_token
    return ActionResult(answer)


def update_report_group(self: CodeBuildResponse) -> ActionResult:
    """The given exportConfig and tags replace the stored ones."""
    arn = self._get_param("arn")
    export_config, tags = self._get_param("exportConfig"), self._get_param("tags")
    if export_config is not None:
        _export_config(export_config)
    with STATE.lock:
        group = _report_groups(self).get(arn)
        if group is None:
            raise ResourceNotFoundException(f"Report group cannot be found: {arn}")
        if export_config is not None:
            group["exportConfig"] = export_config
        if tags is not None:
            group["tags"] = tags
        group["lastModified"] = unix_time()
    return ActionResult({"reportGroup": group})


def delete_report_group(self: CodeBuildResponse) -> ActionResult:
    """Deleting an unknown ARN succeeds, like DeleteProject."""
    with STATE.lock:
        _report_groups(self).pop(self._get_param("arn"), None)
    return EmptyResult()


def install() -> None:
    """Adds and replaces operations of moto's CodeBuild responses (CreateProject still runs moto's)."""
    MOTO_ORIGINALS.update(
        create_project=CodeBuildResponse.create_project,
        validate_source=moto_codebuild_responses._validate_required_params_source,
        validate_artifacts=moto_codebuild_responses._validate_required_params_artifacts,
    )
    moto_codebuild_responses._validate_required_params_source = _validate_source
    moto_codebuild_responses._validate_required_params_artifacts = _validate_artifacts
    for operation in (
        batch_get_projects,
        create_project,
        update_project,
        create_webhook,
        update_webhook,
        delete_webhook,
        update_project_visibility,
        create_report_group,
        batch_get_report_groups,
        list_report_groups,
        update_report_group,
        delete_report_group,
    ):
        setattr(CodeBuildResponse, operation.__name__, operation)
