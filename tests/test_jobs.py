"""Intent tests: the guarantees of ScheduledTask and OneOffTask, by name."""

from __future__ import annotations

import datetime
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_scheduler as scheduler

from ecs_patterns_plus import (
    Ec2CapacityOptions,
    HardenedCluster,
    HardenedTaskDefinition,
    OneOffTask,
    ScheduledTask,
    SecureVpc,
    ValidationError,
)
from tests.scenarios.common import existing_vpc
from tests.synth import Synthesized
from tests.util import resources_of, stack_for_errors

IMAGE = "public.ecr.aws/example/job@sha256:" + "0123456789abcdef" * 4


def _resource(synth: Synthesized, stack: str, resource_type: str, prefix: str) -> dict[str, Any]:
    (resource,) = [
        r for k, r in resources_of(synth, stack, resource_type).items() if k.startswith(prefix)
    ]
    return resource["Properties"]


def _schedule(synth: Synthesized, stack: str, prefix: str) -> dict[str, Any]:
    return _resource(synth, stack, "AWS::Scheduler::Schedule", prefix)


def _ecs_parameters(synth: Synthesized, stack: str, prefix: str) -> dict[str, Any]:
    return _schedule(synth, stack, prefix)["Target"]["EcsParameters"]


def _statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def _join(value: dict[str, Any]) -> str:
    """A Fn::Join as text, references shown as <LogicalId>."""

    def text(part: Any) -> str:
        if isinstance(part, str):
            return part
        if "Ref" in part:
            return f"<{part['Ref']}>"
        if "Fn::GetAtt" in part:
            return f"<{part['Fn::GetAtt'][0]}>"
        if "Fn::Join" in part:
            return part["Fn::Join"][0].join(text(p) for p in part["Fn::Join"][1])
        raise AssertionError(part)

    return text(value)


# --- Schedules -------------------------------------------------------------------------------


@pytest.mark.scenarios("JobNightly")
def test_cron_runs_in_its_time_zone(scenarios: Synthesized) -> None:
    schedule = _schedule(scenarios, "JobNightly", "NightlySchedule")
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Asia/Seoul"
    assert schedule["State"] == "ENABLED"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}


@pytest.mark.scenarios("JobGpuOnEc2", "JobOneOff")
def test_one_time_and_rate_schedules(scenarios: Synthesized) -> None:
    backfill = _schedule(scenarios, "JobOneOff", "BackfillSchedule")
    assert backfill["ScheduleExpression"] == "at(2030-01-15T02:30:00)"
    assert backfill["ScheduleExpressionTimezone"] == "Asia/Seoul"
    inference = _schedule(scenarios, "JobGpuOnEc2", "InferenceSchedule")
    assert inference["ScheduleExpression"] == "rate(6 hours)"


@pytest.mark.scenarios("JobGpuOnEc2")
def test_flexible_time_window(scenarios: Synthesized) -> None:
    schedule = _schedule(scenarios, "JobGpuOnEc2", "InferenceSchedule")
    assert schedule["FlexibleTimeWindow"] == {"MaximumWindowInMinutes": 30, "Mode": "FLEXIBLE"}


@pytest.mark.scenarios("JobNightly", "JobOneOff")
def test_retry_policy_bounds_attempts_and_age(scenarios: Synthesized) -> None:
    nightly = _schedule(scenarios, "JobNightly", "NightlySchedule")
    assert nightly["Target"]["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": 3600,
        "MaximumRetryAttempts": 3,
    }
    backfill = _schedule(scenarios, "JobOneOff", "BackfillSchedule")
    assert backfill["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0


@pytest.mark.scenarios("JobNightly")
def test_schedule_is_encrypted_with_a_customer_managed_key(scenarios: Synthesized) -> None:
    schedule = _schedule(scenarios, "JobNightly", "NightlySchedule")
    assert schedule["KmsKeyArn"] == {"Fn::GetAtt": [schedule["KmsKeyArn"]["Fn::GetAtt"][0], "Arn"]}
    # The stack's one shared key, not a key per job.
    assert schedule["KmsKeyArn"]["Fn::GetAtt"][0].startswith("EcsPatternsPlusKey")
    assert len(resources_of(scenarios, "JobNightly", "AWS::KMS::Key")) == 1
    key = resources_of(scenarios, "JobNightly", "AWS::KMS::Key")[
        schedule["KmsKeyArn"]["Fn::GetAtt"][0]
    ]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"


@pytest.mark.scenarios("JobNightly")
def test_each_job_has_its_own_schedule_group(scenarios: Synthesized) -> None:
    schedule = _schedule(scenarios, "JobNightly", "NightlySchedule")
    group = _resource(scenarios, "JobNightly", "AWS::Scheduler::ScheduleGroup", "NightlyGroup")
    assert schedule["GroupName"] == group["Name"]


# --- Where tasks run -------------------------------------------------------------------------


@pytest.mark.scenarios("JobNightly")
def test_scheduled_tasks_default_to_fargate_spot_in_private_subnets(
    scenarios: Synthesized,
) -> None:
    parameters = _ecs_parameters(scenarios, "JobNightly", "NightlySchedule")
    assert parameters["CapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}
    ]
    assert "LaunchType" not in parameters
    network = parameters["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert [subnet["Ref"][:24] for subnet in network["Subnets"]] == [
        "NetworkVpcPrivateSubnet1",
        "NetworkVpcPrivateSubnet2",
    ]
    assert parameters["TaskCount"] == 1


@pytest.mark.scenarios("JobNightly")
def test_task_security_group_has_no_inbound_and_https_out(scenarios: Synthesized) -> None:
    group = _resource(scenarios, "JobNightly", "AWS::EC2::SecurityGroup", "NightlySecurityGroup")
    assert "SecurityGroupIngress" not in group
    assert [(r["FromPort"], r["CidrIp"]) for r in group["SecurityGroupEgress"]] == [
        (443, "0.0.0.0/0")
    ]
    ingress = resources_of(scenarios, "JobNightly", "AWS::EC2::SecurityGroupIngress")
    assert [i for i in ingress.values() if "Nightly" in str(i["Properties"]["GroupId"])] == []


@pytest.mark.scenarios("JobNightly")
def test_tags_propagate_from_the_task_definition(scenarios: Synthesized) -> None:
    parameters = _ecs_parameters(scenarios, "JobNightly", "NightlySchedule")
    assert parameters["PropagateTags"] == "TASK_DEFINITION"
    assert parameters["EnableECSManagedTags"] is True


@pytest.mark.scenarios("JobGpuOnEc2")
def test_gpu_job_runs_on_ec2_capacity_with_placement(scenarios: Synthesized) -> None:
    parameters = _ecs_parameters(scenarios, "JobGpuOnEc2", "InferenceSchedule")
    (strategy,) = parameters["CapacityProviderStrategy"]
    assert strategy["CapacityProvider"]["Ref"].startswith("PlatformCapacityGpuCapacityProvider")
    assert "LaunchType" not in parameters
    assert parameters["PlacementConstraints"] == [
        {"Expression": "attribute:ecs.instance-type =~ g5.*", "Type": "memberOf"}
    ]
    assert parameters["PlacementStrategy"] == [{"Field": "MEMORY", "Type": "binpack"}]
    assert "AssignPublicIp" not in parameters["NetworkConfiguration"]["AwsvpcConfiguration"]


@pytest.mark.scenarios("JobGpuOnEc2")
def test_gpu_containers_request_gpus(scenarios: Synthesized) -> None:
    definition = _resource(
        scenarios, "JobGpuOnEc2", "AWS::ECS::TaskDefinition", "InferenceTaskTaskDefinition"
    )
    assert definition["RequiresCompatibilities"] == ["EC2"]
    assert definition["NetworkMode"] == "awsvpc"
    assert definition["ContainerDefinitions"][0]["ResourceRequirements"] == [
        {"Type": "GPU", "Value": "1"}
    ]


@pytest.mark.scenarios("JobGpuOnEc2")
def test_endpoints_admit_the_jobs(scenarios: Synthesized) -> None:
    ingress = resources_of(scenarios, "JobGpuOnEc2", "AWS::EC2::SecurityGroupIngress")
    sources = {i["Properties"]["SourceSecurityGroupId"]["Fn::GetAtt"][0] for i in ingress.values()}
    assert any(source.startswith("InferenceSecurityGroup") for source in sources)
    assert any(source.startswith("PlatformCapacityGpuSecurityGroup") for source in sources)


# --- Scheduler role --------------------------------------------------------------------------


@pytest.mark.scenarios("JobNightly")
def test_scheduler_role_trusts_only_its_schedule_group(scenarios: Synthesized) -> None:
    role = _resource(scenarios, "JobNightly", "AWS::IAM::Role", "NightlySchedulerRole")
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
    conditions = statement["Condition"]["StringEquals"]
    assert conditions["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert conditions["aws:SourceArn"]["Fn::GetAtt"][0].startswith("NightlyGroup")


@pytest.mark.scenarios("JobNightly")
def test_scheduler_role_runs_only_this_task_in_this_cluster(scenarios: Synthesized) -> None:
    policy = _resource(
        scenarios, "JobNightly", "AWS::IAM::ManagedPolicy", "NightlySchedulerRoleRunTaskPolicy"
    )
    statements = _statements(policy)
    assert sorted(statements) == [
        "DeadLetterFailures",
        "PassItsRoles",
        "RunTheTask",
        "ScheduleAndQueueEncryption",
        "TagTasksItStarts",
    ]
    run = statements["RunTheTask"]
    assert run["Action"] == "ecs:RunTask"
    assert run["Resource"]["Ref"].startswith("ReportTaskTaskDefinition")
    assert run["Condition"]["ArnEquals"]["ecs:cluster"]["Fn::GetAtt"][0].startswith(
        "PlatformCluster"
    )
    passing = statements["PassItsRoles"]
    assert sorted(r["Fn::GetAtt"][0][:18] for r in passing["Resource"]) == [
        "ReportTaskExecutio",
        "ReportTaskTaskRole",
    ]
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    tagging = statements["TagTasksItStarts"]
    assert (tagging["Action"], tagging["Resource"]) == ("ecs:TagResource", "*")
    assert tagging["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}
    assert statements["DeadLetterFailures"]["Action"] == "sqs:SendMessage"


@pytest.mark.scenarios("JobNightly")
def test_scheduler_role_has_no_other_policy(scenarios: Synthesized) -> None:
    policies = resources_of(scenarios, "JobNightly", "AWS::IAM::Policy")
    assert [key for key in policies if key.startswith("Nightly")] == []
    role = _resource(scenarios, "JobNightly", "AWS::IAM::Role", "NightlySchedulerRole")
    assert "ManagedPolicyArns" not in role and "Policies" not in role


# --- Dead-letter queue and alarms ------------------------------------------------------------


@pytest.mark.scenarios("JobNightly")
def test_failed_invocations_go_to_an_encrypted_ssl_only_queue(scenarios: Synthesized) -> None:
    target = _schedule(scenarios, "JobNightly", "NightlySchedule")["Target"]
    queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert queue_id.startswith("NightlyDeadLetterQueue")
    queue = resources_of(scenarios, "JobNightly", "AWS::SQS::Queue")[queue_id]["Properties"]
    assert queue["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("EcsPatternsPlusKey")
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    policy = _resource(
        scenarios, "JobNightly", "AWS::SQS::QueuePolicy", "NightlyDeadLetterQueuePolicy"
    )
    # Only the scheduler's role (by its own policy) writes to it: TLS-only, no other sender.
    (tls,) = policy["PolicyDocument"]["Statement"]
    assert (tls["Effect"], tls["Action"]) == ("Deny", "sqs:*")
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.scenarios("JobNightly")
def test_failure_alarm_counts_errors_drops_and_undeliverable_events(
    scenarios: Synthesized,
) -> None:
    alarm = _resource(scenarios, "JobNightly", "AWS::CloudWatch::Alarm", "NightlyFailureAlarm")
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    assert metrics["expr_1"]["Expression"] == (
        "FILL(errors, 0) + FILL(dropped, 0) + FILL(undeliverable, 0)"
    )
    names = {
        key: (m["MetricStat"]["Metric"]["MetricName"], m["MetricStat"]["Metric"]["Dimensions"])
        for key, m in metrics.items()
        if key != "expr_1"
    }
    group = _resource(scenarios, "JobNightly", "AWS::Scheduler::ScheduleGroup", "NightlyGroup")
    dimensions = [{"Name": "ScheduleGroup", "Value": group["Name"]}]
    assert names == {
        "errors": ("TargetErrorCount", dimensions),
        "dropped": ("InvocationDroppedCount", dimensions),
        "undeliverable": ("InvocationsFailedToBeSentToDeadLetterCount", dimensions),
    }
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.scenarios("JobNightly")
def test_dead_letter_alarm_fires_on_any_waiting_message(scenarios: Synthesized) -> None:
    alarm = _resource(scenarios, "JobNightly", "AWS::CloudWatch::Alarm", "NightlyDeadLetterAlarm")
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"][0]["Value"]["Fn::GetAtt"][0].startswith("NightlyDeadLetterQueue")
    assert (alarm["Threshold"], alarm["Statistic"]) == (1, "Maximum")


@pytest.mark.scenarios("JobNightly")
def test_alarms_notify_an_encrypted_topic_cloudwatch_may_publish_to(
    scenarios: Synthesized,
) -> None:
    # The stack's shared alarm topic: subscribe once for every job and service.
    for name in ("NightlyFailureAlarm", "NightlyDeadLetterAlarm"):
        alarm = _resource(scenarios, "JobNightly", "AWS::CloudWatch::Alarm", name)
        for actions in (alarm["AlarmActions"], alarm["OKActions"]):
            assert [a["Ref"][:-8] for a in actions] == ["EcsPatternsPlusAlarmTopic"]
    (topic_id,) = resources_of(scenarios, "JobNightly", "AWS::SNS::Topic")
    topic = resources_of(scenarios, "JobNightly", "AWS::SNS::Topic")[topic_id]["Properties"]
    assert topic["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("EcsPatternsPlusKey")
    policy = _statements(
        _resource(
            scenarios, "JobNightly", "AWS::SNS::TopicPolicy", "EcsPatternsPlusAlarmTopicPolicy"
        )
    )
    assert policy["AllowCloudWatchAlarms"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert policy["AllowPublishThroughSSLOnly"]["Effect"] == "Deny"
    key = _resource(scenarios, "JobNightly", "AWS::KMS::Key", "EcsPatternsPlusKey")
    services = [
        statement
        for statement in key["KeyPolicy"]["Statement"]
        if statement["Principal"].get("Service")
        == ["cloudwatch.amazonaws.com", "events.amazonaws.com"]
    ]
    assert [s["Action"] for s in services] == [["kms:Decrypt", "kms:GenerateDataKey*"]]


@pytest.mark.scenarios("JobNightly")
def test_task_failures_are_notified(scenarios: Synthesized) -> None:
    rule = _resource(scenarios, "JobNightly", "AWS::Events::Rule", "NightlyTaskFailed")
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.ecs"]
    assert pattern["detail-type"] == ["ECS Task State Change"]
    detail = pattern["detail"]
    assert detail["clusterArn"][0]["Fn::GetAtt"][0].startswith("PlatformCluster")
    assert detail["taskDefinitionArn"][0]["Ref"].startswith("ReportTaskTaskDefinition")
    assert detail["lastStatus"] == ["STOPPED"]
    assert detail["$or"] == [
        {
            "stopCode": ["EssentialContainerExited"],
            "containers": {"exitCode": [{"anything-but": 0}]},
        },
        {"stopCode": ["TaskFailedToStart", "SpotInterruption"]},
    ]
    (target,) = rule["Targets"]
    assert target["Arn"]["Ref"].startswith("EcsPatternsPlusAlarmTopic")
    # Undeliverable notifications wait in the stack's notification dead-letter queue.
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith(
        "EcsPatternsPlusNotificationDeadLetterQueue"
    )
    assert "<detail-stoppedReason>" in target["InputTransformer"]["InputTemplate"]


def test_task_failure_notifications_can_be_turned_off() -> None:
    stack, platform, definition = _inputs()
    job = ScheduledTask(
        stack,
        "Job",
        cluster=platform.cluster,
        task_definition=definition,
        schedule=NIGHTLY,
        notify_task_failures=False,
    )
    assert job.task_failed_rule is None
    assert [c for c in job.node.children if isinstance(c, events.Rule)] == []


@pytest.mark.scenarios("JobOneOff")
def test_a_passed_topic_and_security_group_are_used(scenarios: Synthesized) -> None:
    topics = resources_of(scenarios, "JobOneOff", "AWS::SNS::Topic")
    assert [key for key in topics if key.startswith("Backfill")] == []
    alarm = _resource(scenarios, "JobOneOff", "AWS::CloudWatch::Alarm", "BackfillFailureAlarm")
    assert alarm["AlarmActions"][0]["Ref"].startswith("JobAlarms")
    groups = resources_of(scenarios, "JobOneOff", "AWS::EC2::SecurityGroup")
    assert [key for key in groups if key.startswith("Backfill")] == []
    network = _ecs_parameters(scenarios, "JobOneOff", "BackfillSchedule")["NetworkConfiguration"]
    (group,) = network["AwsvpcConfiguration"]["SecurityGroups"]
    assert group["Fn::GetAtt"][0].startswith("MigrateSecurityGroup")


# --- One-off tasks ---------------------------------------------------------------------------


@pytest.mark.scenarios("JobOneOff")
def test_one_off_command_is_the_briefs_run_task(scenarios: Synthesized) -> None:
    command = _join(scenarios.template_json("JobOneOff")["Outputs"]["MigrateCommand"]["Value"])
    cluster = next(iter(resources_of(scenarios, "JobOneOff", "AWS::ECS::Cluster")))
    definition = next(iter(resources_of(scenarios, "JobOneOff", "AWS::ECS::TaskDefinition")))
    subnets = sorted(
        key
        for key in resources_of(scenarios, "JobOneOff", "AWS::EC2::Subnet")
        if key.startswith("NetworkVpcPrivate")
    )
    group = next(
        key
        for key in resources_of(scenarios, "JobOneOff", "AWS::EC2::SecurityGroup")
        if key.startswith("MigrateSecurityGroup")
    )
    assert command == (
        f"aws ecs run-task --cluster <{cluster}> --task-definition <{definition}> "
        '--launch-type FARGATE --network-configuration "awsvpcConfiguration={'
        f"subnets=[<{subnets[0]}>,<{subnets[1]}>],securityGroups=[<{group}>],"
        'assignPublicIp=DISABLED}"'
    )


@pytest.mark.scenarios("JobOneOff")
def test_one_off_security_group_opens_only_what_is_asked(scenarios: Synthesized) -> None:
    group = _resource(scenarios, "JobOneOff", "AWS::EC2::SecurityGroup", "MigrateSecurityGroup")
    assert "SecurityGroupIngress" not in group
    egress = resources_of(scenarios, "JobOneOff", "AWS::EC2::SecurityGroupEgress")
    to_database = [
        e["Properties"]
        for e in egress.values()
        if e["Properties"]["GroupId"]["Fn::GetAtt"][0].startswith("MigrateSecurityGroup")
        and e["Properties"]["DestinationSecurityGroupId"]["Fn::GetAtt"][0].startswith("Database")
    ]
    assert [(e["FromPort"], e["ToPort"]) for e in to_database] == [(5432, 5432)]


@pytest.mark.scenarios("JobOneOff")
def test_one_off_grant_runs_only_this_task_in_this_cluster(scenarios: Synthesized) -> None:
    policy = _resource(scenarios, "JobOneOff", "AWS::IAM::Policy", "DeployerRoleDefaultPolicy")
    statements = policy["PolicyDocument"]["Statement"]
    assert [s["Action"] for s in statements] == ["ecs:RunTask", "iam:PassRole"]
    assert statements[0]["Resource"]["Ref"].startswith("MigrateTaskTaskDefinition")
    assert "ecs:cluster" in statements[0]["Condition"]["ArnEquals"]
    assert statements[1]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }


@pytest.mark.scenarios("JobOneOff")
def test_one_off_tasks_create_no_schedule(scenarios: Synthesized) -> None:
    schedules = resources_of(scenarios, "JobOneOff", "AWS::Scheduler::Schedule")
    assert [key for key in schedules if key.startswith("Migrate")] == []


def test_ec2_one_off_command_names_capacity_and_placement() -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", ec2_capacity=[Ec2CapacityOptions(name="gpu")])
    definition = _definition(stack, ecs.Compatibility.EC2)
    task = OneOffTask(
        stack,
        "Job",
        cluster=platform.cluster,
        task_definition=definition,
        capacity_provider_strategy=[platform.ec2_capacity["gpu"].strategy(base=1)],
        placement_strategies=[ecs.PlacementStrategy.spread_across_instances()],
        placement_constraints=[ecs.PlacementConstraint.member_of("attribute:ecs.os-type == linux")],
    )
    command = _join(stack.resolve(task.run_task_command))
    assert (
        " --capacity-provider-strategy capacityProvider=<PlatformCapacityGpuCapacityProvider"
        in command
    )
    assert ",weight=1,base=1 --network-configuration " in command
    assert "--launch-type" not in command
    assert command.endswith(
        " --placement-constraints 'type=memberOf,expression=attribute:ecs.os-type == linux'"
        " --placement-strategy 'type=spread,field=instanceId'"
    )


# --- Bad input -------------------------------------------------------------------------------


def _definition(
    stack: cdk.Stack,
    compatibility: ecs.Compatibility = ecs.Compatibility.FARGATE,
    network_mode: ecs.NetworkMode = ecs.NetworkMode.AWS_VPC,
) -> ecs.TaskDefinition:
    """A plain task definition (HardenedTaskDefinition never uses host or bridge networking)."""
    definition = ecs.TaskDefinition(
        stack,
        "TaskDefinition",
        compatibility=compatibility,
        network_mode=network_mode,
        cpu="256",
        memory_mib="512",
    )
    definition.add_container(
        "app", image=ecs.ContainerImage.from_registry(IMAGE), memory_limit_mib=512
    )
    return definition


def _inputs(
    compatibility: ecs.Compatibility = ecs.Compatibility.FARGATE,
    network_mode: ecs.NetworkMode = ecs.NetworkMode.AWS_VPC,
) -> tuple[cdk.Stack, HardenedCluster, ecs.TaskDefinition]:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", ec2_capacity=[Ec2CapacityOptions(name="gpu")])
    return stack, platform, _definition(stack, compatibility, network_mode)


NIGHTLY = scheduler.ScheduleExpression.cron(minute="0", hour="3")


@pytest.mark.parametrize(
    ("kwargs", "argument", "fragment"),
    [
        ({"task_count": 0}, "task_count", "between 1 and 10"),
        ({"task_count": 11}, "task_count", "between 1 and 10"),
        ({"retry_attempts": 186}, "retry_attempts", "between 0 and 185"),
        ({"max_event_age": cdk.Duration.seconds(30)}, "max_event_age", "between 60 and 86400"),
        ({"max_event_age": cdk.Duration.days(2)}, "max_event_age", "between 60 and 86400"),
        (
            {"flexible_window": cdk.Duration.days(2)},
            "flexible_window",
            "between 1 and 1440 minutes",
        ),
        ({"flexible_window": cdk.Duration.seconds(90)}, "flexible_window", "whole minutes"),
        ({"dead_letter_retention": cdk.Duration.days(15)}, "dead_letter_retention", "between 60"),
        (
            {"schedule": "cron(0 3 * * ? *)"},
            "schedule",
            "expected a scheduler.ScheduleExpression; got str 'cron(0 3 * * ? *)'; build one with "
            "scheduler.ScheduleExpression.at(...), .cron(...), .expression(...) or .rate(...)",
        ),
        (
            {"capacity_provider_strategy": []},
            "capacity_provider_strategy",
            "at least one capacity provider",
        ),
        (
            {
                "capacity_provider_strategy": [
                    ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOTT", weight=1)
                ]
            },
            "capacity_provider_strategy",
            "unknown capacity provider",
        ),
        (
            {"placement_strategies": [ecs.PlacementStrategy.packed_by_cpu()]},
            "placement_strategies",
            "EC2 capacity only",
        ),
    ],
)
def test_scheduled_task_rejects_bad_input(kwargs: dict, argument: str, fragment: str) -> None:
    stack, platform, definition = _inputs()
    arguments = {"cluster": platform.cluster, "task_definition": definition, "schedule": NIGHTLY}
    with pytest.raises(ValidationError) as error:
        ScheduledTask(stack, "Job", **{**arguments, **kwargs})
    assert f"{argument}: " in str(error.value)
    assert fragment in str(error.value)


def test_jobs_refuse_host_and_bridge_networking() -> None:
    stack, platform, definition = _inputs(ecs.Compatibility.EC2, ecs.NetworkMode.HOST)
    with pytest.raises(ValidationError, match=r"task_definition: network mode must be awsvpc"):
        OneOffTask(
            stack,
            "Job",
            cluster=platform.cluster,
            task_definition=definition,
            capacity_provider_strategy=[platform.ec2_capacity["gpu"].strategy()],
        )


def test_ec2_task_definitions_need_ec2_capacity() -> None:
    stack, platform, definition = _inputs(ecs.Compatibility.EC2)
    with pytest.raises(ValidationError) as error:
        ScheduledTask(
            stack, "Job", cluster=platform.cluster, task_definition=definition, schedule=NIGHTLY
        )
    assert "capacity_provider_strategy: an EC2 task definition needs the EC2 capacity" in str(
        error.value
    )


def test_ec2_only_task_definitions_cannot_run_on_fargate() -> None:
    stack, platform, definition = _inputs(ecs.Compatibility.EC2)
    with pytest.raises(
        ValidationError, match=r"names Fargate, but the task definition is EC2-only"
    ):
        OneOffTask(
            stack,
            "Job",
            cluster=platform.cluster,
            task_definition=definition,
            capacity_provider_strategy=[
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1)
            ],
        )


def test_fargate_only_task_definitions_cannot_run_on_ec2_capacity() -> None:
    stack, platform, definition = _inputs()
    with pytest.raises(
        ValidationError, match=r"names EC2 capacity, but the task definition is Fargate-only"
    ):
        OneOffTask(
            stack,
            "Job",
            cluster=platform.cluster,
            task_definition=definition,
            capacity_provider_strategy=[platform.ec2_capacity["gpu"].strategy()],
        )


def test_strategies_cannot_mix_fargate_and_ec2() -> None:
    stack, platform, definition = _inputs(ecs.Compatibility.EC2_AND_FARGATE)
    with pytest.raises(ValidationError, match=r"mixes Fargate and EC2 capacity providers"):
        ScheduledTask(
            stack,
            "Job",
            cluster=platform.cluster,
            task_definition=definition,
            schedule=NIGHTLY,
            capacity_provider_strategy=[
                platform.ec2_capacity["gpu"].strategy(),
                ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1),
            ],
        )


def _arm_task(stack: cdk.Stack) -> HardenedTaskDefinition:
    return HardenedTaskDefinition(
        stack,
        "ArmTask",
        image=ecs.ContainerImage.from_registry(IMAGE),
        architecture=ecs.CpuArchitecture.ARM64,
    )


SPOT = ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1)
ON_DEMAND = ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1)


def test_arm64_tasks_are_refused_on_the_default_fargate_spot() -> None:
    stack, platform, _ = _inputs()
    with pytest.raises(ValidationError) as error:
        ScheduledTask(
            stack,
            "Job",
            cluster=platform.cluster,
            task_definition=_arm_task(stack),
            schedule=NIGHTLY,
        )
    assert error.value.problems == (
        "capacity_provider_strategy: names FARGATE_SPOT (the default), which does not run "
        "ARM64 (Graviton) tasks, so no task would ever start; got ['FARGATE_SPOT']; pass "
        "capacity_provider_strategy=[ecs.CapacityProviderStrategy(capacity_provider='FARGATE', "
        "weight=1)], or build the task definition for X86_64",
    )
    assert stack.node.try_find_child("Job") is None


def test_arm64_tasks_are_refused_on_any_fargate_spot_share() -> None:
    stack, platform, _ = _inputs()
    arm = ecs.TaskDefinition(
        stack,
        "PlainArm",
        compatibility=ecs.Compatibility.FARGATE,
        cpu="256",
        memory_mib="512",
        runtime_platform=ecs.RuntimePlatform(cpu_architecture=ecs.CpuArchitecture.ARM64),
    )
    arm.add_container("app", image=ecs.ContainerImage.from_registry(IMAGE))
    with pytest.raises(ValidationError, match=r"names FARGATE_SPOT, which does not run ARM64"):
        OneOffTask(
            stack,
            "Job",
            cluster=platform.cluster,
            task_definition=arm,
            capacity_provider_strategy=[ON_DEMAND, SPOT],
        )
    assert stack.node.try_find_child("Job") is None


def test_arm64_tasks_run_on_fargate_and_x86_64_on_fargate_spot() -> None:
    stack, platform, definition = _inputs()
    arm = _arm_task(stack)
    idle_spot = ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=0)
    for construct_id, task, strategy in (
        ("Arm", arm, [ON_DEMAND]),
        ("ArmSpotIdle", arm, [ON_DEMAND, idle_spot]),  # weight 0, no base: never used
        ("X86", definition, [SPOT]),
    ):
        job = ScheduledTask(
            stack,
            construct_id,
            cluster=platform.cluster,
            task_definition=task,
            schedule=NIGHTLY,
            capacity_provider_strategy=strategy,
        )
        assert job.fargate


def _schedule_inputs() -> tuple[cdk.Stack, ecs.ICluster, ecs.TaskDefinition]:
    """A stack, an imported cluster in a VPC with private subnets, a plain task definition."""
    stack = stack_for_errors()
    cluster = ecs.Cluster.from_cluster_attributes(
        stack, "Cluster", cluster_name="platform", vpc=existing_vpc(stack)
    )
    return stack, cluster, _definition(stack)


EXPRESSION = scheduler.ScheduleExpression.expression


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        (
            EXPRESSION("cron(0 3 * * ?)"),
            "a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), "
            "this one 5",
        ),
        (EXPRESSION("cron(60 3 * * ? *)"), "the minutes field '60' is not 0-59"),
        (scheduler.ScheduleExpression.cron(minute="0", hour="24"), "the hours field '24'"),
        (EXPRESSION("cron(0 3 32 * ? *)"), "the day-of-month field '32' is not 1-31"),
        (EXPRESSION("cron(0 3 0 * ? *)"), "the day-of-month field '0' is not 1-31"),
        (EXPRESSION("cron(0 3 * 13 ? *)"), "the month field '13' is not 1-12 or JAN-DEC"),
        (EXPRESSION("cron(0 3 * JANUARY ? *)"), "the month field 'JANUARY' is not 1-12"),
        (EXPRESSION("cron(0 3 ? * 0 *)"), "the day-of-week field '0' is not 1-7 or SUN-SAT"),
        (EXPRESSION("cron(0 3 ? * MON#6 *)"), "the day-of-week field 'MON#6' is not 1-7"),
        (EXPRESSION("cron(0 3 * * ? 1969)"), "the year field '1969' is not 1970-2199"),
        (EXPRESSION("cron(0/0 3 * * ? *)"), "the minutes field '0/0' is not 0-59"),
        (EXPRESSION("cron(0 ? * * ? *)"), "the hours field '?' is not 0-23"),
        (
            EXPRESSION("cron(0 3 * * * *)"),
            "exactly one of day-of-month and day-of-week must be '?'",
        ),
        (
            EXPRESSION("cron(0 3 ? * ? *)"),
            "exactly one of day-of-month and day-of-week must be '?'",
        ),
        (
            EXPRESSION("cron(0 3 1 * MON *)"),
            "exactly one of day-of-month and day-of-week must be '?'",
        ),
        (EXPRESSION("rate(0 minutes)"), "a rate's value must be a positive whole number"),
        (EXPRESSION("rate(1.5 hours)"), "a rate's value must be a positive whole number"),
        (EXPRESSION("rate(2 weeks)"), "a rate's unit must be one of minute, minutes, hour, hours"),
        (EXPRESSION("rate(5minutes)"), "a rate expression is rate(<value> <unit>)"),
        (EXPRESSION("at(2030-02-30T03:00:00)"), "a one-time expression is at(yyyy-mm-ddThh:mm:ss)"),
        (
            scheduler.ScheduleExpression.at(datetime.datetime(2024, 1, 1, 3, tzinfo=datetime.UTC)),
            "the one-time schedule, read in its time zone (Etc/UTC), is in the past",
        ),
        (EXPRESSION("every night"), "is not a cron(...), rate(...) or at(...) expression"),
    ],
)
def test_schedule_expressions_scheduler_cannot_run_are_refused(
    schedule: scheduler.ScheduleExpression, problem: str
) -> None:
    stack, cluster, definition = _schedule_inputs()
    with pytest.raises(ValidationError) as error:
        ScheduledTask(stack, "Job", cluster=cluster, task_definition=definition, schedule=schedule)
    (found,) = error.value.problems
    assert found.startswith(f"schedule: {problem}")
    assert f"got {schedule.expression_string!r}" in found
    assert stack.node.try_find_child("Job") is None


def test_schedule_expressions_at_their_limits_and_tokens_are_accepted() -> None:
    stack, cluster, definition = _schedule_inputs()
    token = cdk.CfnParameter(stack, "Every", type="Number").value_as_number
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    schedules = [
        EXPRESSION("cron(59 23 31 DEC ? 2199)"),
        EXPRESSION("cron(0 0 1 1 ? 1970-2199)"),
        EXPRESSION("cron(0/15 8-17 ? JAN-MAR MON-FRI *)"),
        EXPRESSION("cron(*/5 * ? * 7 *)"),
        EXPRESSION("cron(0 3 L * ? *)"),
        EXPRESSION("cron(0 3 15W * ? *)"),
        EXPRESSION("cron(0 3 ? * 6L *)"),
        EXPRESSION("cron(0 3 ? * MON#1,SAT *)"),
        scheduler.ScheduleExpression.cron(minute=cdk.Token.as_string(token), hour="3"),
        EXPRESSION("rate(1 minute)"),
        EXPRESSION("rate(1440 minutes)"),
        scheduler.ScheduleExpression.rate(cdk.Duration.days(token)),
        scheduler.ScheduleExpression.at(soon),  # UTC: an hour from now
        EXPRESSION(cdk.Fn.join("", ["rate(", cdk.Token.as_string(token), " hours)"])),
    ]
    for index, schedule in enumerate(schedules):
        ScheduledTask(
            stack, f"Job{index}", cluster=cluster, task_definition=definition, schedule=schedule
        )


def test_task_definition_must_be_one() -> None:
    stack, platform, _ = _inputs()
    with pytest.raises(ValidationError) as error:
        OneOffTask(stack, "Job", cluster=platform.cluster, task_definition="myapp-task:3")  # type: ignore[arg-type]
    assert error.value.problems == (
        "task_definition: expected an ecs.TaskDefinition or a HardenedTaskDefinition; "
        "got str 'myapp-task:3'; pass an ecs.TaskDefinition or a HardenedTaskDefinition",
    )
    assert stack.node.try_find_child("Job") is None


def test_all_problems_are_reported_at_once() -> None:
    stack, platform, definition = _inputs()
    with pytest.raises(ValidationError) as error:
        ScheduledTask(
            stack,
            "Job",
            cluster=platform.cluster,
            task_definition=definition,
            schedule=NIGHTLY,
            task_count=0,
            retry_attempts=-1,
        )
    assert len(error.value.problems) == 2
    assert str(error.value).startswith("Errors/Job: 2 invalid arguments")


def test_jobs_need_private_subnets() -> None:
    stack = stack_for_errors()
    public_only = ec2.Vpc(
        stack,
        "Vpc",
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Public", subnet_type=ec2.SubnetType.PUBLIC)
        ],
    )
    no_subnets = ec2.Vpc.from_vpc_attributes(
        stack, "Imported", vpc_id="vpc-0a1b2c3d4e5f67890", availability_zones=["ap-northeast-2a"]
    )
    definition = _definition(stack)
    for index, vpc in enumerate((public_only, no_subnets)):
        cluster = ecs.Cluster.from_cluster_attributes(
            stack, f"Cluster{index}", cluster_name="platform", vpc=vpc
        )
        with pytest.raises(ValidationError) as error:
            OneOffTask(stack, "Job", cluster=cluster, task_definition=definition)
        assert error.value.problems == (
            "subnets: the VPC has no private subnets for the tasks, which never get public "
            "IPs; got None; pass subnets=ec2.SubnetSelection(...) or use a VPC with private "
            "subnets (SecureVpc)",
        )
        assert stack.node.try_find_child("Job") is None


def test_job_subnets_must_select_some() -> None:
    stack, platform, definition = _inputs()  # a SecureVpc: private subnets with NAT, no isolated
    with pytest.raises(ValidationError) as error:
        ScheduledTask(
            stack,
            "Job",
            cluster=platform.cluster,
            task_definition=definition,
            schedule=NIGHTLY,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        )
    (problem,) = error.value.problems
    assert problem.startswith(
        "subnets: selects no subnet of the VPC (There are no 'Isolated' subnet groups"
    )
    assert stack.node.try_find_child("Job") is None


def test_schedule_description_is_bounded() -> None:
    stack, platform, definition = _inputs()
    with pytest.raises(ValidationError, match=r"description: must be at most 512 characters"):
        ScheduledTask(
            stack,
            "Job",
            cluster=platform.cluster,
            task_definition=definition,
            schedule=NIGHTLY,
            description="x" * 513,
        )


def test_jobs_given_the_endpoints_are_admitted_without_a_second_egress_rule() -> None:
    stack, platform, definition = _inputs()
    assert platform.secure_vpc is not None
    network = platform.secure_vpc
    job = OneOffTask(
        stack,
        "Migrate",
        cluster=platform.cluster,
        task_definition=definition,
        endpoints=network.endpoints,
    )
    assert job.security_group is not None and network.endpoints is not None
    group = stack.resolve(job.security_group.security_group_id)
    endpoints = stack.resolve(network.endpoints.security_group.security_group_id)
    rules = [rule for rule in stack.node.find_all() if isinstance(rule, cdk.CfnResource)]
    admitted = [
        rule
        for rule in rules
        if isinstance(rule, ec2.CfnSecurityGroupIngress)
        and stack.resolve(rule.group_id) == endpoints
        and stack.resolve(rule.source_security_group_id) == group
    ]
    assert [(rule.from_port, rule.to_port) for rule in admitted] == [(443, 443)]
    # The job's own group sends HTTPS anywhere already.
    assert not [
        rule
        for rule in rules
        if isinstance(rule, ec2.CfnSecurityGroupEgress) and stack.resolve(rule.group_id) == group
    ]


def test_endpoints_of_another_vpc_are_refused() -> None:
    stack, platform, definition = _inputs()
    other = SecureVpc(stack, "Other")
    with pytest.raises(ValidationError, match=r"endpoints: are in another VPC than the cluster"):
        OneOffTask(
            stack,
            "Migrate",
            cluster=platform.cluster,
            task_definition=definition,
            endpoints=other.endpoints,
        )
