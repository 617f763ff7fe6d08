"""Every generated deployment file, by path relative to the repository root."""

from deploy import alerting, cfn, cli_policy, conformance_pack, hook, member_role, remediation, rule_pack
from deploy.catalog import Catalog

TEMPLATES = {
    "cloudformation/rules.yaml": rule_pack,
    "cloudformation/member-role.yaml": member_role,
    "cloudformation/alerting.yaml": alerting,
    "cloudformation/remediation.yaml": remediation,
    "cloudformation/hook.yaml": hook,
    "conformance-pack.yaml": conformance_pack,
}


def outputs(catalog: Catalog) -> dict[str, str]:
    """The CloudFormation templates, and the command line's IAM policy (JSON: IAM takes no comments)."""
    generated = {path: cfn.dump(module.template(catalog), module.HEADER) for path, module in TEMPLATES.items()}
    generated[cli_policy.PATH] = cli_policy.text(catalog)
    return generated
