"""pipesec's test bed: an AWS emulator (moto plus what it lacks, in `services`), a Lambda Runtime API
harness that drives real rule binaries offline, and builders for real-shaped Config events.

Modules:
  emulator        - run moto's server with the extension; `Emulator` for tests and scripts.
  services        - what moto lacks, one module per emulated service, installed inside the
                    emulator process (Config evaluations, compliance reads and recorder, CodeBuild
                    webhooks / visibility / report groups, CloudTrail LookupEvents, CloudWatch over
                    CBOR, CodeStar Notifications, EventBridge TestEventPattern), and the test bed's
                    API call counter and fault injection.
  seed            - helpers that create realistic resources and read back their recorded items.
  config_items    - configuration items: the event model, the API model, and the mappings between.
  tokens          - result tokens, minted by the test bed the way Config issues them.
  events          - Config rule Lambda events (change, oversized, scheduled).
  lambda_runtime  - a Lambda Runtime API server and `LambdaFunction`, a handle on a rule process.
  stack           - deploys a CloudFormation template onto the emulator through the service APIs.
"""
