"""The AWS services the test bed emulates beyond moto 5.2.5, one module each, installed into moto
inside the emulator process by `install`.

  config                  - PutEvaluations, compliance reads, remediation configurations.
  config_recorder         - Config's recorder for CodeBuild projects and report groups and
                            CodePipeline pipelines.
  config_aggregator       - SelectAggregateResourceConfig over an aggregator's accounts and regions.
  codebuild               - fixes to moto's projects; webhooks, visibility, report groups.
  cloudtrail              - a trail of sensitive CodePipeline calls, and LookupEvents over it.
  cloudwatch              - CloudWatch over Smithy RPC v2 CBOR, translated to moto's JSON.
  codestar_notifications  - notification rules (create, describe, list).
  eventbridge             - TestEventPattern, with moto's own pattern matcher.
  control                 - the test bed's API call counter, fault injection and reset.
  common                  - the shared state, AWS JSON answers and errors, pagination.

Operations are functions set on moto's response classes under the operation's name in snake case:
moto dispatches the X-Amz-Target action to `camelcase_to_underscores(action)`. The extension's
state is `common.STATE`, cleared by `POST /moto-api/reset` like moto's own.
"""
