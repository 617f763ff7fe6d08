"""AWS Security Hub (CSPM): automation rules, AWS Config's integration, and the "Security Hub
Findings - Imported" events, which moto 5.2.5 lacks. Emulated here, after the documented behaviour:

- CreateAutomationRule / ListAutomationRules, in the account and region called (at most 100
  rules per account and region; criteria EQUALS / PREFIX / CONTAINS filters on one field joined by
  OR, fields joined by AND; only the fields pipesec's templates use are understood, any other
  criterion is refused rather than ignored). FINDING_FIELDS_UPDATE actions set Severity.Label.
- The administrator of a member account is the account whose Security Hub lists it as a member
  (CreateMembers, moto's). Its automation rules of the finding's region apply to every finding
  imported in the member account, in RuleOrder, as Security Hub applies them at import.
- AWS Config's integration: an evaluation stored by PutEvaluations, in an account and region where
  Security Hub is enabled, is imported as Config's finding: ProductName "Config", Title the rule name,
  GeneratorId the rule ARN, severity MEDIUM, Compliance.Status FAILED / PASSED (NOT_APPLICABLE is not
  sent).
- Workflow.Status: BatchUpdateFindings sets it (nothing else of that operation is emulated); NEW
  when a finding is created, kept by updates, reset from NOTIFIED or RESOLVED to NEW when the
  finding turns FAILED from PASSED or ACTIVE from ARCHIVED.
- Every imported finding becomes a "Security Hub Findings - Imported" event (after automation rules)
  on the default bus of its own account and of its administrator in the same region, and, when the
  administrator has a finding aggregator (CreateFindingAggregator) linking that region, in the
  aggregation region too.
"""

import datetime
import hashlib
import json
import uuid

from moto.events.models import events_backends
from moto.securityhub.models import SecurityHubBackend, securityhub_backends
from moto.securityhub import urls as securityhub_urls
from moto.securityhub.responses import SecurityHubResponse

from testbed.services.common import MOTO_ORIGINALS, STATE, error, request_params

MAX_AUTOMATION_RULES = 100
UNDERSTOOD_CRITERIA = {"ProductName", "Title", "GeneratorId", "AwsAccountId", "ComplianceStatus"}
IMPORTED_DETAIL_TYPE = "Security Hub Findings - Imported"
RESOURCE_TYPES = {"AWS::CodeBuild::Project": "AwsCodeBuildProject", "AWS::CodePipeline::Pipeline": "Other"}


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- automation rules ------------------------------------------------------------------------------


def _validate_rule(rule: dict) -> None:
    for required in ("RuleName", "RuleOrder", "Description", "Criteria", "Actions"):
        if required not in rule:
            raise error("InvalidInputException", f"{required} is required")
    if not 1 <= int(rule["RuleOrder"]) <= 1000:
        raise error("InvalidInputException", "RuleOrder must be between 1 and 1000")
    unknown = set(rule["Criteria"]) - UNDERSTOOD_CRITERIA
    if unknown:
        raise error("InvalidInputException", f"test bed: criteria {sorted(unknown)} are not emulated")
    for field, filters in rule["Criteria"].items():
        if not 1 <= len(filters) <= 100:
            raise error("InvalidInputException", f"Criteria.{field}: 1 to 100 filters")
        if {f["Comparison"] for f in filters} - {"EQUALS", "PREFIX", "CONTAINS"}:
            raise error("InvalidInputException", f"test bed: Criteria.{field}: only EQUALS, PREFIX, CONTAINS emulated")
    if len(rule["Actions"]) != 1 or rule["Actions"][0].get("Type") != "FINDING_FIELDS_UPDATE":
        raise error("InvalidInputException", "Actions: exactly one FINDING_FIELDS_UPDATE")


def create_automation_rule(self: SecurityHubResponse) -> str:
    rule = request_params(self)
    _validate_rule(rule)
    arn = f"arn:aws:securityhub:{self.region}:{self.current_account}:automation-rule/{uuid.uuid4()}"
    with STATE.lock:
        stored = STATE.automation_rules.setdefault((self.current_account, self.region), [])
        if len(stored) >= MAX_AUTOMATION_RULES:
            raise error("LimitExceededException", f"at most {MAX_AUTOMATION_RULES} automation rules per Region")
        stored.append({**rule, "RuleArn": arn, "RuleStatus": rule.get("RuleStatus", "ENABLED")})
    return json.dumps({"RuleArn": arn})


def list_automation_rules(self: SecurityHubResponse) -> str:
    with STATE.lock:
        stored = list(STATE.automation_rules.get((self.current_account, self.region), []))
    metadata = [{key: rule[key] for key in ("RuleArn", "RuleStatus", "RuleOrder", "RuleName", "Description")}
                for rule in stored]
    return json.dumps({"AutomationRulesMetadata": metadata})


def create_finding_aggregator(self: SecurityHubResponse) -> str:
    params = request_params(self)
    mode = params.get("RegionLinkingMode")
    if mode not in ("ALL_REGIONS", "SPECIFIED_REGIONS"):
        raise error("InvalidInputException", "test bed: RegionLinkingMode ALL_REGIONS or SPECIFIED_REGIONS")
    arn = f"arn:aws:securityhub:{self.region}:{self.current_account}:finding-aggregator/{uuid.uuid4()}"
    with STATE.lock:
        STATE.finding_aggregators[self.current_account] = {
            "region": self.region, "mode": mode, "regions": params.get("Regions") or []}
    return json.dumps({"FindingAggregatorArn": arn, "FindingAggregationRegion": self.region,
                       "RegionLinkingMode": mode, "Regions": params.get("Regions") or []})


def _value(finding: dict, field: str) -> str | None:
    if field == "ComplianceStatus":
        return (finding.get("Compliance") or {}).get("Status")
    return finding.get(field)


def _matches(criteria: dict, finding: dict) -> bool:
    def field_matches(field: str, filters: list[dict]) -> bool:
        value = _value(finding, field)
        if value is None:
            return False
        tests = {"EQUALS": lambda v: value == v, "PREFIX": value.startswith, "CONTAINS": lambda v: v in value}
        return any(tests[f["Comparison"]](f["Value"]) for f in filters)

    return all(field_matches(field, filters) for field, filters in criteria.items())


def administrator_of(account: str, region: str) -> str | None:
    for admin, admin_region, backend in securityhub_backends.iter_backends():
        if admin_region == region and account in backend.members:
            return admin
    return None


def _apply_automation_rules(finding: dict, administrator: str, region: str) -> dict:
    with STATE.lock:
        rules = sorted(STATE.automation_rules.get((administrator, region), []), key=lambda r: int(r["RuleOrder"]))
    for rule in rules:
        if rule["RuleStatus"] != "ENABLED" or not _matches(rule["Criteria"], finding):
            continue
        update = rule["Actions"][0].get("FindingFieldsUpdate", {})
        if "Severity" in update:
            finding["Severity"] = {**finding.get("Severity", {}), **update["Severity"]}
        if rule.get("IsTerminal"):
            break
    return finding


def _deliver(account: str, region: str, finding: dict) -> None:
    """The Imported event, on the default bus of the finding's account, its administrator's, and
    the administrator's aggregation region when it links this region."""
    administrator = administrator_of(account, region)
    buses = {(account, region)}
    if administrator:
        buses.add((administrator, region))
        with STATE.lock:
            aggregator = STATE.finding_aggregators.get(administrator)
        if aggregator and (aggregator["mode"] == "ALL_REGIONS" or region in aggregator["regions"]):
            buses.add((administrator, aggregator["region"]))
    for bus_account, bus_region in sorted(buses):
        events_backends[bus_account][bus_region].put_events([{
            "Source": "aws.securityhub",
            "DetailType": IMPORTED_DETAIL_TYPE,
            "Detail": json.dumps({"findings": [finding]}),
            "Resources": [finding.get("ProductArn", "")],
        }])


def _with_workflow(backend: SecurityHubBackend, finding: dict) -> dict:
    """Workflow.Status: NEW for a new finding, kept by updates, and reset from NOTIFIED or RESOLVED
    to NEW when the finding turns FAILED / WARNING / NOT_AVAILABLE from PASSED, or ACTIVE from
    ARCHIVED (API reference, Workflow). A status the provider sends is kept, as moto does."""
    existing = next((f.data for f in backend.findings if f.id == finding.get("Id")), None) or {}
    previous = (existing.get("Workflow") or {}).get("Status")
    status = (finding.get("Workflow") or {}).get("Status") or previous or "NEW"
    refailed = (existing.get("Compliance") or {}).get("Status") == "PASSED" and (
        finding.get("Compliance") or {}).get("Status") in ("FAILED", "WARNING", "NOT_AVAILABLE")
    reactivated = existing.get("RecordState") == "ARCHIVED" and finding.get("RecordState") == "ACTIVE"
    if previous in ("NOTIFIED", "RESOLVED") and (refailed or reactivated):
        status = "NEW"
    return {**finding, "Workflow": {"Status": status}}


def batch_import_findings(self: SecurityHubBackend, findings: list[dict]):
    administrator = administrator_of(self.account_id, self.region_name) or self.account_id
    updated = [_apply_automation_rules(_with_workflow(self, finding), administrator, self.region_name)
               for finding in findings]
    failed_count, success_count, failed = MOTO_ORIGINALS["securityhub.batch_import_findings"](self, updated)
    failed_ids = {f["Id"] for f in failed}
    for finding in updated:
        if finding.get("Id") not in failed_ids:
            _deliver(self.account_id, self.region_name, finding)
    return failed_count, success_count, failed


# --- AWS Config's integration --------------------------------------------------------------------


def import_config_evaluation(account: str, region: str, rule_name: str, evaluation: dict) -> None:
    """What Config's integration sends Security Hub for a stored evaluation, if the hub is enabled."""
    status = {"NON_COMPLIANT": "FAILED", "COMPLIANT": "PASSED"}.get(evaluation["ComplianceType"])
    backend = securityhub_backends[account][region]
    if status is None or not backend.enabled:
        return
    rule_arn = f"arn:aws:config:{region}:{account}:config-rule/{rule_name}"
    resource_key = f"{evaluation['ResourceType']}/{evaluation['ResourceId']}"
    now = _now()
    finding = {
        "SchemaVersion": "2018-10-08",
        "Id": f"{rule_arn}/finding/{hashlib.sha256(resource_key.encode()).hexdigest()[:40]}",
        "ProductArn": f"arn:aws:securityhub:{region}::product/aws/config",
        "ProductName": "Config",
        "CompanyName": "AWS",
        "GeneratorId": rule_arn,
        "AwsAccountId": account,
        "Region": region,
        "Types": ["Software and Configuration Checks"],
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": "MEDIUM"},
        "Title": rule_name,
        "Description": evaluation.get("Annotation") or rule_name,
        "Compliance": {"Status": status},
        "Resources": [{"Type": RESOURCE_TYPES.get(evaluation["ResourceType"], "Other"),
                       "Id": evaluation["ResourceId"], "Region": region}],
        "RecordState": "ACTIVE",
    }
    backend.batch_import_findings([finding])


def batch_update_findings(self: SecurityHubResponse) -> str:
    """Workflow.Status only (NEW, NOTIFIED, RESOLVED, SUPPRESSED), of this account's findings."""
    params = request_params(self)
    status = (params.get("Workflow") or {}).get("Status")
    statuses = ("NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED")
    if set(params) - {"FindingIdentifiers", "Workflow"} or status not in statuses:
        raise error("InvalidInputException", "test bed: only Workflow.Status updates are emulated")
    backend = securityhub_backends[self.current_account][self.region]
    processed, unprocessed = [], []
    for identifier in params.get("FindingIdentifiers") or []:
        finding = next((f for f in backend.findings if f.id == identifier.get("Id")
                        and f.data.get("ProductArn") == identifier.get("ProductArn")), None)
        if finding is None:
            unprocessed.append({"FindingIdentifier": identifier, "ErrorCode": "FindingNotFound",
                                "ErrorMessage": "Finding Not Found"})
            continue
        finding.data["Workflow"] = {"Status": status}
        processed.append(identifier)
    return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})


ROUTES = ("{0}/automationrules/create$", "{0}/automationrules/list$", "{0}/findingAggregator/create$",
          "{0}/findings/batchupdate$")


def install() -> None:
    for route in ROUTES:
        securityhub_urls.url_paths[route] = SecurityHubResponse.dispatch
    SecurityHubResponse.create_automation_rule = create_automation_rule
    SecurityHubResponse.list_automation_rules = list_automation_rules
    SecurityHubResponse.create_finding_aggregator = create_finding_aggregator
    SecurityHubResponse.batch_update_findings = batch_update_findings
    MOTO_ORIGINALS["securityhub.batch_import_findings"] = SecurityHubBackend.batch_import_findings
    SecurityHubBackend.batch_import_findings = batch_import_findings
