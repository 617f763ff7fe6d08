"""Every generated deployment file, by path relative to the repository root."""

from deploy import alerting, cfn, conformance_pack, member_role, remediation, rule_pack
from deploy.catalog import Catalog

TEMPLATES = {
    "cloudformation/rules.yaml": rule_pack,
    "cloudformation/member-role.yaml": member_role,
    "cloudformation/alerting.yaml": alerting,
    "cloudformation/remediation.yaml": remediation,
    "conformance-pack.yaml": conformance_pack,
}


def outputs(catalog: Catalog) -> dict[str, str]:
    return {path: cfn.dump(module.template(catalog), module.HEADER) for path, module in TEMPLATES.items()}
