"""The rule catalog, as exported by the `pipesec-catalog` binary, and the names derived from it.

Every deployment artifact takes its rules from here, so a rule added to `catalog()` in the rules
crate appears in all of them at the next `scripts/templates`, and a test fails until it does.
"""

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

# Prefix of every function, Config rule and role path: keeps pipesec's resources apart from
# others, and lets EventBridge and the Security Hub function recognise this pack's rules.
PREFIX = "pipesec-"
# Config names a conformance pack's rules `<name>-conformance-pack-<random>`.
CONFORMANCE_PACK_SUFFIX = "-conformance-pack-"
# The path of the rule functions' execution roles (one role per function, in its own account).
RULE_ROLE_PATH = "/pipesec/rules/"
# The Security Hub function (not a rule): ASFF findings from compliance changes.
SECURITY_HUB_FUNCTION = "pipesec-securityhub"
# The organization scorer (not a rule): scores of every pipeline and account as CloudWatch metrics.
SCORER_FUNCTION = "pipesec-scorer"
# The CloudFormation hook function (not a rule): the rules before deployment (cloudformation/hook.yaml).
HOOK_FUNCTION = "pipesec-hook"
LAMBDA_FUNCTION_NAME_MAX = 64
CONFIG_RULE_NAME_MAX = 128


@dataclass(frozen=True)
class Rule:
    id: str
    resource_type: str
    parameters: tuple[str, ...]
    severity: str
    remediation: str
    reads: tuple[str, ...]
    periodic: bool
    # The configuration paths the rule's decision reads (`Rule::INPUTS`).
    inputs: tuple[str, ...] = ()

    @property
    def function_name(self) -> str:
        return PREFIX + self.id

    @property
    def config_rule_name(self) -> str:
        return PREFIX + self.id

    @property
    def logical_id(self) -> str:
        """CloudFormation logical id prefix: `codebuild-project-x` -> `CodebuildProjectX`."""
        return "".join(part.capitalize() for part in self.id.split("-"))

    def parameter_name(self, parameter: str) -> str:
        """The template / conformance-pack parameter that feeds rule parameter `parameter`."""
        return self.logical_id + parameter[0].upper() + parameter[1:]


@dataclass(frozen=True)
class Catalog:
    engine_actions: tuple[str, ...]
    rules: tuple[Rule, ...]

    @classmethod
    def from_json(cls, document: dict) -> "Catalog":
        rules = tuple(
            Rule(
                id=rule["id"],
                resource_type=rule["resourceType"],
                parameters=tuple(rule["parameters"]),
                severity=rule["severity"],
                remediation=rule["remediation"],
                reads=tuple(rule["reads"]),
                periodic=bool(rule["periodic"]),
                inputs=tuple(rule["inputs"]),
            )
            for rule in document["rules"]
        )
        return cls(
            engine_actions=tuple(document["engineActions"]),
            rules=rules,
        )

    @classmethod
    def from_binary(cls, binary: Path) -> "Catalog":
        """Runs `pipesec-catalog` and reads its output."""
        output = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
        return cls.from_json(json.loads(output))

    def rule(self, rule_id: str) -> Rule:
        return next(rule for rule in self.rules if rule.id == rule_id)

    def actions(self, rule: Rule) -> list[str]:
        """Every AWS action rule `rule`'s function calls, engine first, without duplicates."""
        return list(dict.fromkeys([*self.engine_actions, *rule.reads]))

    def severities(self) -> list[str]:
        """The severity labels the catalog uses, most severe first."""
        order = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]
        used = {rule.severity for rule in self.rules}
        unknown = used - set(order)
        if unknown:
            raise ValueError(f"severity labels {sorted(unknown)} are not Security Hub's ({order})")
        return [label for label in order if label in used]
