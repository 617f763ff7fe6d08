"""Reads rule results back the way a user's dashboard does: through Config's API."""


def compliance(config, rule_name: str) -> dict[str, tuple[str, str]]:
    """{resource id: (compliance type, annotation)} of every result Config holds for the rule,
    paging through GetComplianceDetailsByConfigRule."""
    found, token = {}, None
    while True:
        page = config.get_compliance_details_by_config_rule(
            ConfigRuleName=rule_name, Limit=100, **({"NextToken": token} if token else {})
        )
        for result in page["EvaluationResults"]:
            qualifier = result["EvaluationResultIdentifier"]["EvaluationResultQualifier"]
            found[qualifier["ResourceId"]] = (result["ComplianceType"], result.get("Annotation", ""))
        token = page.get("NextToken")
        if not token:
            return found
