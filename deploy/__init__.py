"""pipesec's deployment artifacts, generated from the rule catalog (`pipesec-catalog`).

Modules:
  catalog            - the catalog export, and every name derived from a rule id
  cfn                - CloudFormation YAML: a small deterministic emitter and a loader for tests
  iam                - least-privilege statements from action lists, and the check every template
                       must pass (identity, trust and resource policies)
  rule_pack          - cloudformation/rules.yaml: functions, roles, log groups, permissions, rules
  alerting           - cloudformation/alerting.yaml: compliance-change alerts and a dashboard
  remediation        - cloudformation/remediation.yaml: SSM Automation fixes and their wiring
  conformance_pack   - conformance-pack.yaml: every rule for AWS Config conformance packs
  member_pack        - cloudformation/member-pack.yaml: the conformance pack as a stack
  organization       - cloudformation/organization.yaml: StackSets over the organization
  severity           - cloudformation/securityhub-severity.yaml: Security Hub automation rules
  central_alerting   - cloudformation/central-alerting.yaml: organization-wide alerts
  package            - Lambda packages: bootstrap.zip per function and the manifest

`python -m deploy generate` writes the templates; `python -m deploy check` compares them.
"""
