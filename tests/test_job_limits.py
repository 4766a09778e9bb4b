"""Intent tests: job limits (maximum run time, Spot-aware retries) and their bad inputs."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn

from ecs_patterns_plus import (
    Ec2CapacityOptions,
    HardenedCluster,
    JobRetries,
    OneOffTask,
    ScheduledTask,
    ValidationError,
)
from tests.scenarios.common import existing_vpc
from tests.synth import Synthesized
from tests.util import hardened_task, resources_of, stack_for_errors

STACK = "JobTimeoutAndRetries"
NIGHTLY = scheduler.ScheduleExpression.cron(minute="0", hour="3")
SPOT = ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1)
ON_DEMAND = ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1)


def _text(value: Any) -> str:
    """A string or an Fn::Join as text, references shown as <LogicalId>."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return f"<{value['Fn::GetAtt'][0]}>"
    if "Fn::Join" in value:
        return value["Fn::Join"][0].join(_text(part) for part in value["Fn::Join"][1])
    raise AssertionError(value)


def _only(synth: Synthesized, resource_type: str, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (key, resource)
        for key, resource in resources_of(synth, STACK, resource_type).items()
        if key.startswith(prefix)
    ]
    return found


def _definition(synth: Synthesized, prefix: str) -> dict[str, Any]:
    """The state machine's definition, parsed (references as "<LogicalId>")."""
    _, machine = _only(synth, "AWS::StepFunctions::StateMachine", prefix)
    return json.loads(_text(machine["Properties"]["DefinitionString"]))


def _built_definition(machine: sfn.StateMachine | None) -> dict[str, Any]:
    """The definition of a state machine built in a test stack, without synthesizing it."""
    assert machine is not None
    resource = machine.node.default_child
    assert isinstance(resource, sfn.CfnStateMachine)
    return json.loads(_text(cdk.Stack.of(machine).resolve(resource.definition_string)))


def _statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def _inputs() -> tuple[cdk.Stack, ecs.ICluster, ecs.TaskDefinition]:
    """A never-synthesized stack, an imported cluster in a VPC with private subnets, a task."""
    stack = stack_for_errors()
    cluster = ecs.Cluster.from_cluster_attributes(
        stack, "Cluster", cluster_name="platform", vpc=existing_vpc(stack)
    )
    return stack, cluster, hardened_task(stack).task_definition


# --- The maximum run time ---------------------------------------------------------------------


@pytest.mark.scenarios(STACK)
def test_max_run_time_is_the_run_task_states_timeout(scenarios: Synthesized) -> None:
    for prefix, seconds in (("NightlyStateMachine", 7200), ("MigrateStateMachine", 900)):
        definition = _definition(scenarios, prefix)
        assert definition["QueryLanguage"] == "JSONata"
        run = definition["States"]["RunTask"]
        assert run["Resource"] == "arn:<AWS::Partition>:states:::ecs:runTask.sync"
        assert run["TimeoutSeconds"] == seconds
        # No catcher for States.Timeout: a timeout fails the execution, never a re-run.
        caught = [error for catch in run.get("Catch", []) for error in catch["ErrorEquals"]]
        assert "States.Timeout" not in caught and "States.ALL" not in caught


@pytest.mark.scenarios(STACK)
def test_run_task_failures_are_retried_like_the_scheduler_did(scenarios: Synthesized) -> None:
    (retry,) = _definition(scenarios, "NightlyStateMachine")["States"]["RunTask"]["Retry"]
    assert retry == {
        "ErrorEquals": ["AmazonECS.Unknown"],
        "IntervalSeconds": 30,
        "BackoffRate": 2,
        "MaxDelaySeconds": 300,
        "MaxAttempts": 3,  # retry_attempts
    }


@pytest.mark.scenarios(STACK)
def test_the_task_runs_where_the_schedule_would_run_it(scenarios: Synthesized) -> None:
    nightly = _definition(scenarios, "NightlyStateMachine")["States"]["RunTask"]["Arguments"]
    assert nightly["Cluster"].startswith("<PlatformCluster")
    assert nightly["TaskDefinition"].startswith("<ReportTaskTaskDefinition")
    assert nightly["CapacityProviderStrategy"] == [
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}
    ]
    assert "LaunchType" not in nightly
    network = nightly["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert [subnet[:25] for subnet in network["Subnets"]] == [
        "<NetworkVpcPrivateSubnet1",
        "<NetworkVpcPrivateSubnet2",
    ]
    assert [group[:21] for group in network["SecurityGroups"]] == ["<NightlySecurityGroup"]
    assert (nightly["PropagateTags"], nightly["EnableECSManagedTags"]) == ("TASK_DEFINITION", True)
    migrate = _definition(scenarios, "MigrateStateMachine")["States"]["RunTask"]["Arguments"]
    assert migrate["LaunchType"] == "FARGATE"  # a one-off task stays on-demand
    assert "CapacityProviderStrategy" not in migrate


# --- Retries ----------------------------------------------------------------------------------


@pytest.mark.scenarios(STACK)
def test_spot_interruptions_and_failures_have_their_own_counters(
    scenarios: Synthesized,
) -> None:
    states = _definition(scenarios, "NightlyStateMachine")["States"]
    assert states["Start"] == {
        "Type": "Pass",
        "Assign": {"spotInterruptions": 0, "failures": 0},
        "Next": "RunTask",
    }
    assert states["RunTask"]["Catch"] == [
        {
            "ErrorEquals": ["States.TaskFailed"],
            "Output": "{% $states.errorOutput %}",
            "Next": "Classify",
        }
    ]
    classify = states["Classify"]
    spot, failure = classify["Choices"]
    stop_code = '/"StopCode"\\s*:\\s*"SpotInterruption"/'
    assert spot["Condition"] == (
        f"{{% $contains($string($states.input.Cause), {stop_code}) and $spotInterruptions < 2 %}}"
    )
    assert spot["Assign"] == {"spotInterruptions": "{% $spotInterruptions + 1 %}"}
    assert failure["Condition"] == (
        f"{{% $not($contains($string($states.input.Cause), {stop_code})) and $failures < 1 %}}"
    )
    assert failure["Assign"] == {"failures": "{% $failures + 1 %}"}
    assert (spot["Next"], failure["Next"]) == ("RunTask", "RunTask")
    # When the counters are spent, the execution fails with the task's own error and cause.
    assert classify["Default"] == "Failed"
    assert states["Failed"] == {
        "Type": "Fail",
        "Error": "{% $states.input.Error %}",
        "Cause": "{% $states.input.Cause %}",
    }


def test_a_failing_exit_code_is_not_retried_by_default() -> None:
    stack, cluster, definition = _inputs()
    job = ScheduledTask(
        stack,
        "Job",
        cluster=cluster,
        task_definition=definition,
        schedule=NIGHTLY,
        retries=JobRetries(spot_interruptions=3),
    )
    (spot,) = _built_definition(job.state_machine)["States"]["Classify"]["Choices"]
    assert "SpotInterruption" in spot["Condition"] and "$spotInterruptions < 3" in spot["Condition"]
    assert "TimeoutSeconds" not in _built_definition(job.state_machine)["States"]["RunTask"]


@pytest.mark.scenarios(STACK)
def test_a_time_limit_alone_runs_the_task_once(scenarios: Synthesized) -> None:
    definition = _definition(scenarios, "MigrateStateMachine")
    assert definition["StartAt"] == "RunTask"
    assert list(definition["States"]) == ["RunTask"]  # one state transition per run
    assert "Catch" not in definition["States"]["RunTask"]


# --- Notification -----------------------------------------------------------------------------


@pytest.mark.scenarios(STACK)
def test_failures_timeouts_and_spent_retries_are_notified(scenarios: Synthesized) -> None:
    for job in ("Nightly", "Migrate"):
        machine, _ = _only(scenarios, "AWS::StepFunctions::StateMachine", f"{job}StateMachine")
        _, rule = _only(scenarios, "AWS::Events::Rule", f"{job}ExecutionFailed")
        pattern = rule["Properties"]["EventPattern"]
        assert pattern["source"] == ["aws.states"]
        assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
        assert pattern["detail"] == {
            "stateMachineArn": [{"Ref": machine}],
            "status": ["FAILED", "TIMED_OUT", "ABORTED"],
        }
        (target,) = rule["Properties"]["Targets"]
        # The stack's alarm topic, as the job's alarms and task-failure notifications.
        assert target["Arn"]["Ref"].startswith("EcsPatternsPlusAlarmTopic")
        assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith(
            "EcsPatternsPlusNotificationDeadLetterQueue"
        )
        assert "<detail-executionArn>" in target["InputTransformer"]["InputTemplate"]
    _, nightly = _only(scenarios, "AWS::Events::Rule", "NightlyExecutionFailed")
    assert (
        "ran longer than 2 hours"
        in nightly["Properties"]["Targets"][0]["InputTransformer"]["InputTemplate"]
    )


# --- The schedule and IAM ---------------------------------------------------------------------


@pytest.mark.scenarios(STACK)
def test_the_schedule_starts_the_state_machine_with_only_start_execution(
    scenarios: Synthesized,
) -> None:
    machine, _ = _only(scenarios, "AWS::StepFunctions::StateMachine", "NightlyStateMachine")
    _, schedule = _only(scenarios, "AWS::Scheduler::Schedule", "NightlySchedule")
    target = schedule["Properties"]["Target"]
    assert target["Arn"] == {"Ref": machine}
    assert "EcsParameters" not in target
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3}
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0].startswith("NightlyDeadLetterQueue")
    role, _ = _only(scenarios, "AWS::IAM::Role", "NightlySchedulerRole")
    assert target["RoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
    policies = [
        policy
        for policy in resources_of(scenarios, STACK, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
    ]
    assert len(policies) == 1  # the scheduler role's one policy
    statements = _statements(policies[0])
    assert sorted(statements) == [
        "DeadLetterFailures",
        "ScheduleAndQueueEncryption",
        "StartTheStateMachine",
    ]
    start = statements["StartTheStateMachine"]
    assert (start["Action"], start["Resource"]) == ("states:StartExecution", {"Ref": machine})
    actions = json.dumps([s["Action"] for s in statements.values()])
    assert "ecs:" not in actions and "iam:PassRole" not in actions


@pytest.mark.scenarios(STACK)
def test_the_state_machine_role_runs_watches_and_stops_one_task(scenarios: Synthesized) -> None:
    role, resource = _only(scenarios, "AWS::IAM::Role", "NightlyStateMachineRole")
    (trust,) = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert _text(trust["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(":stateMachine:*")
    assert "Policies" not in resource["Properties"]  # no inline policy
    assert not [
        key
        for key in resources_of(scenarios, STACK, "AWS::IAM::Policy")
        if key.startswith("NightlyStateMachineRole")
    ]
    _, policy = _only(scenarios, "AWS::IAM::ManagedPolicy", "NightlyStateMachineRoleRunTaskPolicy")
    assert policy["Properties"]["Roles"] == [{"Ref": role}]
    statements = _statements(policy)
    assert sorted(statements) == [
        "PassItsRoles",
        "RunTheTask",
        "TagTasksItStarts",
        "TaskStateEvents",
        "WatchAndStopItsTasks",
    ]
    cluster = {
        "ArnEquals": {
            "ecs:cluster": statements["RunTheTask"]["Condition"]["ArnEquals"]["ecs:cluster"]
        }
    }
    assert cluster["ArnEquals"]["ecs:cluster"]["Fn::GetAtt"][0].startswith("PlatformCluster")
    assert statements["RunTheTask"]["Resource"]["Ref"].startswith("ReportTaskTaskDefinition")
    watch = statements["WatchAndStopItsTasks"]
    # Task ARNs do not exist before RunTask: every task of this cluster, and no other.
    assert (watch["Action"], watch["Resource"]) == (["ecs:DescribeTasks", "ecs:StopTask"], "*")
    assert watch["Condition"] == cluster
    tagging = statements["TagTasksItStarts"]
    assert tagging["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}
    events = statements["TaskStateEvents"]
    assert events["Action"] == ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    assert _text(events["Resource"]).endswith(":rule/StepFunctionsGetEventsForECSTaskRule")
    assert statements["PassItsRoles"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }


@pytest.mark.scenarios(STACK)
def test_log_delivery_and_x_ray_share_one_policy_each_per_stack(scenarios: Synthesized) -> None:
    roles = [
        {"Ref": _only(scenarios, "AWS::IAM::Role", f"{job}StateMachineRole")[0]}
        for job in ("Nightly", "Migrate")
    ]
    expected = {
        "EcsPatternsPlusLogDeliveryPolicy": [
            "logs:CreateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:GetLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:UpdateLogDelivery",
        ],
        "EcsPatternsPlusXRayPolicy": [
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "xray:PutTelemetryRecords",
            "xray:PutTraceSegments",
        ],
    }
    for prefix, actions in expected.items():
        _, policy = _only(scenarios, "AWS::IAM::ManagedPolicy", prefix)
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert (statement["Action"], statement["Resource"]) == (actions, "*")
        assert policy["Properties"]["Roles"] == roles
    # The state machine is created once its role may deliver logs.
    _, machine = _only(scenarios, "AWS::StepFunctions::StateMachine", "NightlyStateMachine")
    assert [key[:-8] for key in machine["DependsOn"]] == [
        "EcsPatternsPlusLogDeliveryPolicy",
        "EcsPatternsPlusXRayPolicy",
        "NightlyStateMachineRoleRunTaskPolicy",
    ]


# --- Logs and tracing -------------------------------------------------------------------------


@pytest.mark.scenarios(STACK)
def test_logs_are_encrypted_retained_and_hold_no_execution_data(scenarios: Synthesized) -> None:
    _, machine = _only(scenarios, "AWS::StepFunctions::StateMachine", "NightlyStateMachine")
    properties = machine["Properties"]
    logging = properties["LoggingConfiguration"]
    assert (logging["Level"], logging["IncludeExecutionData"]) == ("ALL", False)
    (destination,) = logging["Destinations"]
    group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    group = resources_of(scenarios, STACK, "AWS::Logs::LogGroup")[group_id]
    assert group_id.startswith("NightlyStateMachineLogs")
    assert group["Properties"]["KmsKeyId"]["Fn::GetAtt"][0].startswith("EcsPatternsPlusKey")
    assert group["Properties"]["RetentionInDays"] == 365
    assert group["Properties"]["LogGroupName"].startswith("/aws/vendedlogs/states/")
    assert group["DeletionPolicy"] == "Retain"
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["StateMachineType"] == "STANDARD"


# --- One-off tasks ----------------------------------------------------------------------------


@pytest.mark.scenarios(STACK)
def test_a_one_off_task_with_a_limit_is_started_by_its_state_machine(
    scenarios: Synthesized,
) -> None:
    machine, _ = _only(scenarios, "AWS::StepFunctions::StateMachine", "MigrateStateMachine")
    command = _text(scenarios.template_json(STACK)["Outputs"]["MigrateCommand"]["Value"])
    assert command == f"aws stepfunctions start-execution --state-machine-arn <{machine}>"
    _, policy = _only(scenarios, "AWS::IAM::Policy", "DeployerRoleDefaultPolicy")
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == (
        "states:StartExecution",
        {"Ref": machine},
    )


def test_an_ec2_job_keeps_its_capacity_and_placement() -> None:
    stack = stack_for_errors()
    platform = HardenedCluster(stack, "Platform", ec2_capacity=[Ec2CapacityOptions(name="gpu")])
    definition = hardened_task(stack, compatibility=ecs.Compatibility.EC2).task_definition
    job = ScheduledTask(
        stack,
        "Job",
        cluster=platform.cluster,
        task_definition=definition,
        schedule=NIGHTLY,
        capacity_provider_strategy=[platform.ec2_capacity["gpu"].strategy()],
        placement_strategies=[ecs.PlacementStrategy.packed_by_memory()],
        placement_constraints=[ecs.PlacementConstraint.member_of("attribute:gpu == true")],
        retries=JobRetries(failures=2),
    )
    arguments = _built_definition(job.state_machine)["States"]["RunTask"]["Arguments"]
    (strategy,) = arguments["CapacityProviderStrategy"]
    assert strategy["CapacityProvider"].startswith("<PlatformCapacityGpuCapacityProvider")
    assert arguments["PlacementStrategy"] == [{"Type": "binpack", "Field": "MEMORY"}]
    assert arguments["PlacementConstraints"] == [
        {"Type": "memberOf", "Expression": "attribute:gpu == true"}
    ]
    # awsvpc on EC2 takes no AssignPublicIp (the instances' subnets decide).
    assert "AssignPublicIp" not in arguments["NetworkConfiguration"]["AwsvpcConfiguration"]


def test_without_limits_a_job_has_no_state_machine() -> None:
    stack, cluster, definition = _inputs()
    scheduled = ScheduledTask(
        stack, "Scheduled", cluster=cluster, task_definition=definition, schedule=NIGHTLY
    )
    one_off = OneOffTask(stack, "OneOff", cluster=cluster, task_definition=definition)
    for job in (scheduled, one_off):
        assert (job.state_machine, job.execution_failed_rule) == (None, None)
        assert not [c for c in job.node.find_all() if isinstance(c, sfn.StateMachine)]
    assert one_off.start_execution_command is None
    grantee = iam.Role(stack, "Deployer", assumed_by=iam.AccountRootPrincipal())
    with pytest.raises(ValidationError, match=r"grant_start: this one-off task has no state"):
        one_off.grant_start(grantee)


def test_tokens_reach_the_state_machine() -> None:
    stack, cluster, definition = _inputs()
    seconds = cdk.CfnParameter(stack, "Seconds", type="Number").value_as_number
    count = cdk.CfnParameter(stack, "Count", type="Number").value_as_number
    job = ScheduledTask(
        stack,
        "Job",
        cluster=cluster,
        task_definition=definition,
        schedule=NIGHTLY,
        max_run_time=cdk.Duration.seconds(seconds),
        retries=JobRetries(spot_interruptions=count),
    )
    assert job.state_machine is not None
    resource = job.state_machine.node.default_child
    assert isinstance(resource, sfn.CfnStateMachine)
    text = _text(stack.resolve(resource.definition_string))
    assert '"TimeoutSeconds":<Seconds>,' in text  # a number, not a string
    assert "$spotInterruptions < <Count> %}" in text


# --- Bad inputs -------------------------------------------------------------------------------


def _scheduled(**kwargs: Any) -> ScheduledTask:
    stack, cluster, definition = _inputs()
    return ScheduledTask(
        stack, "Job", cluster=cluster, task_definition=definition, schedule=NIGHTLY, **kwargs
    )


def test_a_job_timeout_of_zero_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        _scheduled(max_run_time=cdk.Duration.seconds(0))
    assert error.value.problems == (
        "max_run_time: a maximum run time of zero would stop every task as it starts; got 0 "
        "seconds; pass cdk.Duration.minutes(n) with n >= 1 (at most 31536000 seconds), or "
        "leave it None for no limit",
    )


@pytest.mark.parametrize(
    ("max_run_time", "problem"),
    [
        (cdk.Duration.seconds(30), "max_run_time: must be between 60 and 31536000 seconds"),
        (cdk.Duration.days(366), "max_run_time: must be between 60 and 31536000 seconds"),
        (cdk.Duration.millis(90500), "max_run_time: must be whole seconds"),
    ],
)
def test_max_run_times_step_functions_cannot_keep_are_refused(
    max_run_time: cdk.Duration, problem: str
) -> None:
    with pytest.raises(ValidationError) as error:
        _scheduled(max_run_time=max_run_time)
    (found,) = error.value.problems
    assert found.startswith(problem)


def test_a_token_max_run_time_must_be_in_seconds() -> None:
    stack, cluster, definition = _inputs()
    minutes = cdk.CfnParameter(stack, "Minutes", type="Number").value_as_number
    with pytest.raises(
        ValidationError,
        match=r"max_run_time: a token in minutes cannot be converted to the seconds AWS takes",
    ):
        OneOffTask(
            stack,
            "Job",
            cluster=cluster,
            task_definition=definition,
            max_run_time=cdk.Duration.minutes(minutes),
        )


def test_max_run_times_at_their_limits_are_accepted() -> None:
    for max_run_time in (cdk.Duration.minutes(1), cdk.Duration.days(365)):
        job = _scheduled(max_run_time=max_run_time)
        run = _built_definition(job.state_machine)["States"]["RunTask"]
        assert run["TimeoutSeconds"] == max_run_time.to_seconds()


@pytest.mark.parametrize(
    ("retries", "problem"),
    [
        (
            JobRetries(spot_interruptions=11),
            "retries.spot_interruptions: must be between 0 and 10; got 11",
        ),
        (JobRetries(failures=-1), "retries.failures: must be between 0 and 10; got -1"),
        (
            JobRetries(),
            "retries: re-runs nothing (both counts are 0); got JobRetries(spot_interruptions=0, "
            "failures=0); pass spot_interruptions=n and/or failures=n, or leave retries=None",
        ),
    ],
)
def test_retry_counts_out_of_range_are_refused(retries: JobRetries, problem: str) -> None:
    with pytest.raises(ValidationError) as error:
        _scheduled(retries=retries)
    (found,) = error.value.problems
    assert found.startswith(problem)


def test_spot_retries_of_a_job_that_never_runs_on_spot_are_refused() -> None:
    retries = JobRetries(spot_interruptions=2)
    idle_spot = ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=0)
    for strategy in ([ON_DEMAND], [ON_DEMAND, idle_spot]):
        with pytest.raises(ValidationError) as error:
            _scheduled(retries=retries, capacity_provider_strategy=strategy)
        (found,) = error.value.problems
        assert found.startswith(
            "retries.spot_interruptions: re-runs Spot interruptions, but the job never runs "
            "on FARGATE_SPOT, so none would ever happen"
        )
    stack, cluster, definition = _inputs()
    with pytest.raises(ValidationError) as error:  # a one-off task runs on-demand by default
        OneOffTask(stack, "Job", cluster=cluster, task_definition=definition, retries=retries)
    assert "got 'launch type FARGATE'" in error.value.problems[0]
    assert stack.node.try_find_child("Job") is None


def test_failure_retries_run_anywhere_and_spot_retries_on_a_spot_share() -> None:
    stack, cluster, definition = _inputs()
    OneOffTask(
        stack,
        "Migrate",
        cluster=cluster,
        task_definition=definition,
        retries=JobRetries(failures=1),
    )
    job = _scheduled(
        retries=JobRetries(spot_interruptions=1),
        capacity_provider_strategy=[
            ecs.CapacityProviderStrategy(capacity_provider="FARGATE", base=1, weight=0),
            SPOT,
        ],
    )
    assert job.state_machine is not None


def test_several_tasks_per_run_cannot_be_limited() -> None:
    with pytest.raises(ValidationError) as error:
        _scheduled(max_run_time=cdk.Duration.hours(1), task_count=2)
    (found,) = error.value.problems
    assert found.startswith(
        "task_count: must be 1 with max_run_time or retries: the state machine runs and waits "
        "for one task; got 2"
    )


def test_retries_must_be_a_job_retries() -> None:
    with pytest.raises(ValidationError) as error:
        _scheduled(retries=3)
    (found,) = error.value.problems
    assert found.startswith("retries: expected a JobRetries; got int 3")


def test_every_limit_problem_is_reported_at_once() -> None:
    stack, cluster, definition = _inputs()
    with pytest.raises(ValidationError) as error:
        ScheduledTask(
            stack,
            "Job",
            cluster=cluster,
            task_definition=definition,
            schedule=NIGHTLY,
            capacity_provider_strategy=[ON_DEMAND],
            max_run_time=cdk.Duration.seconds(0),
            retries=JobRetries(spot_interruptions=1, failures=20),
        )
    assert [problem.split(":")[0] for problem in error.value.problems] == [
        "max_run_time",
        "retries.failures",
        "retries.spot_interruptions",
    ]
    assert stack.node.try_find_child("Job") is None
