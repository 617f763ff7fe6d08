"""Every generated deployment file, by path relative to the repository root."""

from deploy import (
    alerting,
    central_alerting,
    cfn,
    cli_policy,
    cli_read_role,
    conformance_pack,
    hook,
    iam,
    member_pack,
    organization,
    organization_score,
    remediation,
    rule_pack,
    severity,
)
from deploy.catalog import Catalog

TEMPLATES = {
    "cloudformation/rules.yaml": rule_pack,
    "cloudformation/alerting.yaml": alerting,
    "cloudformation/member-pack.yaml": member_pack,
    "cloudformation/organization.yaml": organization,
    "cloudformation/securityhub-severity.yaml": severity,
    "cloudformation/central-alerting.yaml": central_alerting,
    "cloudformation/remediation.yaml": remediation,
    "cloudformation/organization-score.yaml": organization_score,
    "cloudformation/cli-read-role.yaml": cli_read_role,
    "cloudformation/hook.yaml": hook,
    "conformance-pack.yaml": conformance_pack,
}


def outputs(catalog: Catalog) -> dict[str, str]:
    """The CloudFormation templates, and the command line's IAM policy (JSON: IAM takes no comments)."""
    generated = {}
    for path, module in TEMPLATES.items():
        text = cfn.dump(module.template(catalog), module.HEADER)
        # Checked as CloudFormation will read it: every generated template must pass.
        problems = iam.all_problems(cfn.load(text))
        if problems:
            raise iam.LeastPrivilegeError(f"{path}: " + "; ".join(problems))
        generated[path] = text
    generated[cli_policy.PATH] = cli_policy.text(catalog)
    return generated
