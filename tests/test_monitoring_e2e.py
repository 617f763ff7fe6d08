"""The monitoring rules end to end: codepipeline-failure-alerting, codepipeline-execution-anomalies
and codebuild-project-build-anomalies, the real binaries against the emulator, every verdict read
back through Config's API.

The emulator's CodeStar Notifications and CloudTrail LookupEvents come from the test bed's extension
(moto 5.2.5 has neither); EventBridge rules and targets, CloudWatch alarms, CodePipeline executions
and CodeBuild builds are moto's own. History (an execution at night, a build last week) is made
with the test bed's `backdate` control: AWS has no API to write it.
"""

import datetime
import json

from testbed import events, seed
from testbed.config_items import CODEBUILD_PROJECT, CODEPIPELINE_PIPELINE
from testbed.results import compliance

FAILURE_ALERTING = "codepipeline-failure-alerting"
EXECUTION_ANOMALIES = "codepipeline-execution-anomalies"
BUILD_ANOMALIES = "codebuild-project-build-anomalies"
OVERRIDE_BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - echo overridden\n"
TOPIC = "arn:aws:sns:us-east-1:123456789012:pipeline-alerts"


def _failure_pattern(pipeline=None):
    detail = {"state": ["FAILED"], **({"pipeline": [pipeline]} if pipeline else {})}
    return json.dumps({"source": ["aws.codepipeline"],
                       "detail-type": ["CodePipeline Pipeline Execution State Change"], "detail": detail})


def _pipelines(aws, *names):
    """Pipelines named `names`, as Config recorded them (event-model items)."""
    role_arn = seed.create_pipeline_role(aws("iam"))["Arn"]
    for name in names:
        seed.create_pipeline(aws("codepipeline"), name, role_arn)
    return {name: seed.recorded_item(aws("config"), name, CODEPIPELINE_PIPELINE) for name in names}


def _invoke(function, event):
    result = function.invoke(event)
    assert result.ok, f"{result.error_type}: {result.error_message}"


def test_failure_alerting(rule, aws, emulator):
    items = _pipelines(aws, "by-notification", "by-event-rule", "by-alarm", "silent")
    aws("codestar-notifications").create_notification_rule(
        Name="by-notification-failures", EventTypeIds=["codepipeline-pipeline-pipeline-execution-failed"],
        Resource=items["by-notification"]["ARN"], Targets=[{"TargetType": "SNS", "TargetAddress": TOPIC}],
        DetailType="BASIC",
    )
    eventbridge = aws("events")
    eventbridge.put_rule(Name="by-event-rule-failures", EventPattern=_failure_pattern("by-event-rule"), State="ENABLED")
    eventbridge.put_targets(Rule="by-event-rule-failures", Targets=[{"Id": "alerts", "Arn": TOPIC}])
    # Matches `silent` too, but nobody hears it.
    eventbridge.put_rule(Name="all-failures-off", EventPattern=_failure_pattern(), State="DISABLED")
    eventbridge.put_targets(Rule="all-failures-off", Targets=[{"Id": "alerts", "Arn": TOPIC}])
    eventbridge.put_rule(Name="nightly", ScheduleExpression="rate(1 day)", State="ENABLED")
    aws("cloudwatch").put_metric_alarm(
        AlarmName="by-alarm-failed", Namespace="Pipelines", MetricName="FailedExecutions",
        Dimensions=[{"Name": "PipelineName", "Value": "by-alarm"}], Statistic="Sum", Period=300,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[TOPIC],
    )
    function = rule(FAILURE_ALERTING)
    config = aws("config")

    for item in items.values():
        _invoke(function, events.change_event(item, FAILURE_ALERTING))
    on_change = compliance(config, FAILURE_ALERTING)
    assert on_change["by-notification"] == ("COMPLIANT", "failures are reported by notification rule `by-notification-failures`")
    assert on_change["by-event-rule"] == ("COMPLIANT", "failures are reported by EventBridge rule `by-event-rule-failures`")
    assert on_change["by-alarm"] == ("COMPLIANT", "failures are reported by alarm `by-alarm-failed`")
    assert on_change["silent"] == (
        "NON_COMPLIANT",
        "nothing reports this pipeline's failures (looked at 1 notification rule(s), 3 EventBridge rule(s), "
        "1 alarm(s)): EventBridge rule `all-failures-off` is disabled",
    )

    # A sweep: the same verdicts, from one read of the account for all four pipelines.
    emulator.reset_calls()
    _invoke(function, events.scheduled_event("failure-alerting-sweep"))
    assert compliance(config, "failure-alerting-sweep") == on_change
    calls = emulator.calls()
    assert calls["codestar-notifications.ListNotificationRules"] == 1
    assert calls["codestar-notifications.DescribeNotificationRule"] == 1
    assert calls["events.ListRules"] == 1
    # Only the enabled rule that can match a pipeline failure has its targets read.
    assert calls["events.ListTargetsByRule"] == 1
    assert calls["cloudwatch.DescribeAlarms"] == 1


def _day_name_in(days):
    """The English short name of the UTC weekday `days` from today."""
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)).strftime("%a")


def test_execution_anomalies(rule, aws, emulator):
    items = _pipelines(aws, "quiet", "tampered")
    codepipeline = aws("codepipeline")
    # moto runs an execution to success at once; it starts now, outside the business hours below.
    codepipeline.start_pipeline_execution(name="tampered")
    # The emulator's trail records this call from 127.0.0.1, outside the allowed network.
    codepipeline.update_pipeline(pipeline=codepipeline.get_pipeline(name="tampered")["pipeline"])
    params = {"businessHours": f"{_day_name_in(3)} 00:00-24:00 UTC", "allowedCidrs": "10.0.0.0/8"}
    function = rule(EXECUTION_ANOMALIES)
    config = aws("config")

    for item in items.values():
        _invoke(function, events.change_event(item, EXECUTION_ANOMALIES, rule_parameters=params))
    on_change = compliance(config, EXECUTION_ANOMALIES)
    assert on_change["quiet"][0] == "COMPLIANT", on_change["quiet"]
    assert on_change["quiet"][1].startswith("no anomaly: 0 execution(s) in the last 24 h")
    verdict, annotation = on_change["tampered"]
    assert verdict == "NON_COMPLIANT", annotation
    assert "1 of 1 executions started outside business hours" in annotation
    assert "1 sensitive call(s) from outside the allow-lists: UpdatePipeline ×1 (from 127.0.0.1)" in annotation

    # A sweep: CloudTrail is read once per sensitive operation, executions once per pipeline.
    emulator.reset_calls()
    _invoke(function, events.scheduled_event("anomalies-sweep", rule_parameters=params))
    assert compliance(config, "anomalies-sweep") == on_change
    calls = emulator.calls()
    assert calls["cloudtrail.LookupEvents"] == 7
    assert calls["codepipeline.ListPipelineExecutions"] == 2

    # A bad parameter fails the invocation before any AWS call, naming the parameter.
    emulator.reset_calls()
    result = function.invoke(events.scheduled_event("anomalies-sweep", rule_parameters={"businessHours": "9 to 5"}))
    assert result.error_type == "InvalidParameterValueException"
    assert "businessHours" in result.error_message
    assert not emulator.calls()


def _seconds_since_last(hour):
    """Seconds from `hour`:30 UTC, at most 24 h ago and at least 1 h ago, to now."""
    now = datetime.datetime.now(datetime.timezone.utc)
    at = now.replace(hour=hour, minute=30, second=0, microsecond=0)
    while (now - at).total_seconds() < 3600:
        at -= datetime.timedelta(days=1)
    return (now - at).total_seconds()


def test_anomaly_defaults_find_an_off_hours_execution_and_an_unknown_override(rule, aws, emulator):
    """No parameter set: the anomaly rules still find the seeded off-hours pipeline execution and the
    buildspec override by a principal that never built the project."""
    pipelines = _pipelines(aws, "calm", "nightly")
    codebuild = aws("codebuild")
    role_arn = seed.create_role(aws("iam"), "build-role")["Arn"]
    for name in ("routine", "hijacked"):
        seed.create_project(codebuild, name, role_arn)
    projects = {name: seed.recorded_item(aws("config"), name, CODEBUILD_PROJECT) for name in ("routine", "hijacked")}

    # Last week: `routine` is built (by the emulator's only principal), with an override too.
    codebuild.start_build(projectName="routine", buildspecOverride=OVERRIDE_BUILDSPEC)
    emulator.backdate(5 * 86400)
    # At 03:30 UTC within the last day: a run of `nightly`, outside the default 06:00-22:00 UTC.
    aws("codepipeline").start_pipeline_execution(name="nightly")
    emulator.backdate(_seconds_since_last(3))
    # Now: the same principal overrides the buildspec of both projects; `hijacked` it never built.
    for name in ("routine", "hijacked"):
        codebuild.start_build(projectName=name, buildspecOverride=OVERRIDE_BUILDSPEC)
    config = aws("config")

    executions = rule(EXECUTION_ANOMALIES)
    for item in pipelines.values():
        _invoke(executions, events.change_event(item, EXECUTION_ANOMALIES))
    verdicts = compliance(config, EXECUTION_ANOMALIES)
    assert verdicts["calm"] == ("COMPLIANT", "no anomaly: 0 execution(s) in the last 24 h, 0 of 0 finished failed, "
                                             "0 sensitive call(s), none outside business hours or from a new address")
    assert verdicts["nightly"][0] == "NON_COMPLIANT", verdicts["nightly"]
    assert verdicts["nightly"][1].startswith(
        "severity MEDIUM: 1 of 1 executions started outside business hours (Mon-Sun 06:00-22:00 UTC), latest "), \
        verdicts["nightly"]
    assert verdicts["nightly"][1][-6:-2] == " 03:", verdicts["nightly"]

    builds = rule(BUILD_ANOMALIES)
    emulator.reset_calls()
    _invoke(builds, events.scheduled_event("build-anomalies-sweep"))
    by_id = compliance(config, "build-anomalies-sweep")
    assert len(by_id) == len(projects)
    # A project's resource id is CodeBuild's id, not its name.
    verdicts = {name: by_id[item["resourceId"]] for name, item in projects.items()}
    assert verdicts["routine"][0] == "COMPLIANT", verdicts["routine"]
    assert verdicts["routine"][1].startswith(
        "no anomaly: 1 build(s) in the last 24 h, 1 build(s) with overrides, none by an unknown principal")
    assert verdicts["hijacked"] == (
        "NON_COMPLIANT",
        "severity HIGH: 1 build(s) with overrides by a principal that did not build the project in the previous 30 "
        "days: buildspecOverride ×1 (by arn:aws:iam::123456789012:user/emulator from 127.0.0.1)",
    )
    calls = emulator.calls()
    assert calls["cloudtrail.LookupEvents"] == 6, "once per operation for both projects"
    assert calls["codebuild.ListBuildsForProject"] == 2
    assert calls["codebuild.BatchGetBuilds"] == 2


def test_build_anomalies_judge_project_changes_by_the_allow_lists(rule, aws, emulator):
    """With allow-lists set, the lists decide: an UpdateProject from outside `allowedCidrs` is found
    on its project only, and a deleted project is NOT_APPLICABLE."""
    codebuild = aws("codebuild")
    role_arn = seed.create_role(aws("iam"), "build-role")["Arn"]
    for name in ("kept", "changed", "retired"):
        seed.create_project(codebuild, name, role_arn)
    items = {name: seed.recorded_item(aws("config"), name, CODEBUILD_PROJECT) for name in ("kept", "changed", "retired")}
    project = codebuild.batch_get_projects(names=["changed"])["projects"][0]
    codebuild.update_project(name="changed", description="changed from an unknown network",
                             environment=project["environment"])
    codebuild.delete_project(name="retired")
    params = {"allowedCidrs": "10.0.0.0/8", "businessHours": "Mon-Sun 00:00-24:00 UTC"}
    function = rule(BUILD_ANOMALIES)
    for item in items.values():
        _invoke(function, events.change_event(item, BUILD_ANOMALIES, rule_parameters=params))
    by_id = compliance(aws("config"), BUILD_ANOMALIES)
    verdicts = {name: by_id[item["resourceId"]] for name, item in items.items()}
    assert verdicts["kept"][0] == "COMPLIANT", verdicts["kept"]
    assert verdicts["changed"] == (
        "NON_COMPLIANT",
        "severity MEDIUM: 1 sensitive call(s) from outside the allow-lists: UpdateProject ×1 (from 127.0.0.1)",
    )
    assert verdicts["retired"] == ("NOT_APPLICABLE", "CodeBuild does not know project `retired` any more")


def test_build_log_indicators_read_only_when_asked(rule, aws, emulator):
    """Off by default: NOT_APPLICABLE and no log read. On: the compromised build's indicators are
    named by stream and time, never the line; a project that never logged is COMPLIANT, naming the
    group. CloudWatch Logs (groups, streams, FilterLogEvents) is moto's own."""
    codebuild = aws("codebuild")
    role_arn = seed.create_role(aws("iam"), "build-role")["Arn"]
    names = ("clean", "compromised", "quiet")
    for name in names:
        seed.create_project(codebuild, name, role_arn)
    seed.put_build_log(aws("logs"), "clean", "build-log-clean")
    seed.put_build_log(aws("logs"), "compromised", "build-log-compromised")
    items = {name: seed.recorded_item(aws("config"), name, CODEBUILD_PROJECT) for name in names}
    function = rule("codebuild-project-build-log-indicators")
    config = aws("config")

    emulator.reset_calls()
    _invoke(function, events.scheduled_event("logs-off"))
    off = compliance(config, "logs-off")
    assert {verdict for verdict, _ in off.values()} == {"NOT_APPLICABLE"}, off
    assert not emulator.calls().get("logs.FilterLogEvents")

    emulator.reset_calls()
    _invoke(function, events.scheduled_event("logs-on", rule_parameters={"scanLogs": "true"}))
    by_id = compliance(config, "logs-on")
    verdicts = {name: by_id[item["resourceId"]] for name, item in items.items()}
    assert verdicts["clean"] == (
        "COMPLIANT", "no indicator in 669 bytes of build logs of the last 24 h (`/aws/codebuild/clean`)")
    assert verdicts["quiet"] == ("COMPLIANT", "log group `/aws/codebuild/quiet` does not exist: no build has logged")
    verdict, annotation = verdicts["compromised"]
    assert verdict == "NON_COMPLIANT", annotation
    assert annotation.startswith("9 indicator(s) in build logs of the last 24 h: secret-in-clear ×2, latest in stream "
                                 "`compromised/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d` at "), annotation
    for canary in ("canaryLogKey", "npm_aB3dE5", "203.0.113.9", "xmrig -o"):
        assert canary not in annotation
    assert emulator.calls()["logs.FilterLogEvents"] == 3
