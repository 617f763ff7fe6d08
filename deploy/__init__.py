"""pipesec's deployment artifacts, generated from the rule catalog (`pipesec-catalog`).

Modules:
  catalog            - the catalog export, and every name derived from a rule id
  cfn                - CloudFormation YAML: a small deterministic emitter and a loader for tests
  iam                - least-privilege statements from action lists, and the check they must pass
  rule_pack          - cloudformation/rules.yaml: functions, roles, log groups, permissions, rules
  member_role        - cloudformation/member-role.yaml: the role central functions assume
  alerting           - cloudformation/alerting.yaml: compliance-change alerts and a dashboard
  remediation        - cloudformation/remediation.yaml: SSM Automation fixes and their wiring
  conformance_pack   - conformance-pack.yaml: every rule for AWS Config conformance packs
  package            - Lambda packages: bootstrap.zip per function and the manifest

`python -m deploy generate` writes the templates; `python -m deploy check` compares them.
"""
