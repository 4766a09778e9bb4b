"""Job limits: a maximum run time and Spot-aware retries, enforced by a Step Functions state machine.

ECS has no task timeout. What AWS documents for one is a Step Functions Task state with the
``arn:aws:states:::ecs:runTask.sync`` integration ("Run Amazon ECS or Fargate tasks with Step
Functions", Step Functions developer guide): it starts the task and waits until it stops; a
task that fails fails the state with ``States.TaskFailed``, the described task as JSON in the
error's ``Cause`` (``StopCode``, ``Containers[0].ExitCode``, as public examples read it; it
is only matched here, never parsed, so a cause of another shape counts as a failure, not as a
Spot interruption); ``TimeoutSeconds`` ends the state with
``States.Timeout`` ("Use timeouts to avoid stuck executions"). Step Functions stops the tasks
it started with ``ecs:StopTask``, which is why the integration needs that action on tasks
whose ARNs do not exist before RunTask ("IAM policies for Amazon ECS/AWS Fargate":
``ecs:StopTask``/``ecs:DescribeTasks`` on ``*``, "you can only stop Amazon ECS tasks that were
started by Step Functions", and ``events:PutTargets/PutRule/DescribeRule`` on the managed rule
``StepFunctionsGetEventsForECSTaskRule``). The ECS developer guide's cluster policy examples
limit ``ecs:StopTask`` and ``ecs:DescribeTasks`` on ``*`` with the ``ecs:cluster`` condition,
as this module does. RunTask itself failing (a non-empty ``Failures`` field, e.g. no Fargate
Spot capacity) is ``AmazonECS.Unknown``, retried here as EventBridge Scheduler would.

The state machine (JSONata) has one Task state without retries, so a run costs one state
transition; with retries a ``Start`` state sets two counters and a ``Classify`` Choice state
re-runs the task while a counter allows it: a Spot interruption (the stopped task's
``StopCode`` is ``SpotInterruption``) and any other failure (a non-zero exit code, a task that
failed to start) have separate counters, and the ``Failed`` state re-raises the last error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from .. import compliance, defaults
from ..encryption import stack_key
from ..errors import Problems, duration_seconds, is_token, number_text
from ..iam import LOG_DELIVERY_ROUTE, XRAY_ROUTE, RoutedRole, run_task_statements
from ..monitoring.events import field
from ..monitoring.notifications import Notifier
from ..retention import retained_log_group

_SPOT = "FARGATE_SPOT"
_SPOT_COUNTER = "spotInterruptions"
_FAILURE_COUNTER = "failures"
_SPOT_INTERRUPTED = (
    '$contains($string($states.input.Cause), /"StopCode"\\s*:\\s*"SpotInterruption"/)'
)
"""JSONata: the failed task's described ``StopCode`` is ``SpotInterruption`` (a regular
expression on the ``Cause`` text, which never fails to evaluate, unlike parsing it)."""


@dataclass(frozen=True, kw_only=True)
class JobRetries:
    """How often a job's task runs again, by why it stopped; a state machine counts the runs.

    A Spot interruption (Fargate Spot reclaimed the capacity, ``StopCode`` ``SpotInterruption``)
    is not the job's fault and is usually worth another run; a failure (a non-zero exit code,
    a task that failed to start) often repeats, so it is not re-run unless asked. Each re-run
    is a full run of the task (and waits for ``max_run_time`` again).

    Args:
        spot_interruptions: re-runs after a Fargate Spot interruption, 0 to 10; the job must
            run on FARGATE_SPOT. Default: 0.
        failures: re-runs after any other failure, 0 to 10 (for idempotent jobs only).
            Default: 0.
    """

    spot_interruptions: int = 0
    failures: int = 0

    def validate(self, problems: Problems, argument: str) -> None:
        """Record problems with these counts under ``argument`` (``retries``)."""
        limit = defaults.JOB_MAX_RETRIES
        spot_ok = problems.in_range(
            f"{argument}.spot_interruptions", self.spot_interruptions, 0, limit
        )
        failures_ok = problems.in_range(f"{argument}.failures", self.failures, 0, limit)
        counts = (self.spot_interruptions, self.failures)
        if spot_ok and failures_ok and not any(is_token(count) for count in counts):
            problems.require(
                any(counts),
                argument,
                "re-runs nothing (both counts are 0)",
                self,
                "pass spot_interruptions=n and/or failures=n, or leave retries=None",
            )

    @property
    def spot(self) -> bool:
        """Whether Spot interruptions are re-run (a token count may be)."""
        return is_token(self.spot_interruptions) or self.spot_interruptions > 0

    @property
    def other(self) -> bool:
        """Whether other failures are re-run (a token count may be)."""
        return is_token(self.failures) or self.failures > 0


def check_limits(
    problems: Problems,
    *,
    max_run_time: cdk.Duration | None,
    retries: JobRetries | None,
    strategy: list[ecs.CapacityProviderStrategy],
    task_count: int = 1,
) -> None:
    """Record problems with a job's ``max_run_time`` and ``retries`` (tokens pass)."""
    if max_run_time is not None:
        seconds = duration_seconds(max_run_time)
        low = int(defaults.JOB_MIN_RUN_TIME.to_seconds())
        high = int(defaults.JOB_MAX_RUN_TIME_LIMIT.to_seconds())
        if seconds is not None and seconds <= 0:
            problems.add(
                "max_run_time",
                "a maximum run time of zero would stop every task as it starts",
                max_run_time,
                f"pass cdk.Duration.minutes(n) with n >= 1 (at most {high} seconds), "
                "or leave it None for no limit",
            )
        else:
            problems.seconds_in_range("max_run_time", max_run_time, low, high)
    if retries is not None:
        retries.validate(problems, "retries")
        if retries.spot:
            problems.require(
                _runs_on_spot(strategy),
                "retries.spot_interruptions",
                "re-runs Spot interruptions, but the job never runs on FARGATE_SPOT, so none "
                "would ever happen",
                [str(item.capacity_provider) for item in strategy] or "launch type FARGATE",
                "run it on capacity_provider_strategy=[ecs.CapacityProviderStrategy("
                "capacity_provider='FARGATE_SPOT', weight=1)], or pass spot_interruptions=0",
            )
    if (max_run_time is not None or retries is not None) and not is_token(task_count):
        problems.require(
            task_count == 1,
            "task_count",
            "must be 1 with max_run_time or retries: the state machine runs and waits for one task",
            task_count,
            "pass task_count=1, or schedule several jobs",
        )


def _runs_on_spot(strategy: list[ecs.CapacityProviderStrategy]) -> bool:
    """True when some task may land on FARGATE_SPOT (a weight or a base above 0)."""
    return any(
        item.capacity_provider == _SPOT
        and any(is_token(n) or (n or 0) > 0 for n in (item.weight, item.base))
        for item in strategy
    )


@dataclass(frozen=True)
class JobLimits:
    """What a job with limits adds: its state machine, the state machine's role, the role's
    own policy (RunTask, StopTask, DescribeTasks, tagging, the ECS events rule) and log group."""

    state_machine: sfn.StateMachine
    role: iam.Role
    role_policy: iam.ManagedPolicy
    log_group: logs.LogGroup


def add_state_machine(
    scope: Construct,
    *,
    cluster: ecs.ICluster,
    definition: ecs.TaskDefinition,
    run_task: dict[str, Any],
    max_run_time: cdk.Duration | None,
    retries: JobRetries | None,
    start_retries: int,
) -> JobLimits:
    """Add a job's state machine to ``scope`` (child ids ``StateMachineRole``,
    ``StateMachineLogs``, ``StateMachine``), running ``run_task`` (RunTask's arguments)."""
    stack = cdk.Stack.of(scope)
    role = RoutedRole(
        scope,
        "StateMachineRole",
        assumed_by=iam.ServicePrincipal(
            "states.amazonaws.com",
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {
                    "aws:SourceArn": stack.format_arn(
                        service="states",
                        resource="stateMachine",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                },
            },
        ),
        description="Step Functions: run, watch and stop one task definition in one cluster",
        routes=(LOG_DELIVERY_ROUTE, XRAY_ROUTE),
    )
    role_policy = iam.ManagedPolicy(
        role,
        "RunTaskPolicy",
        description="Run one task definition in one cluster, watch it, stop it at its limit",
        roles=[role],
        statements=_role_statements(cluster, definition),
    )
    compliance.JOB_TASK_CONTROL.apply(role_policy)
    log_group = retained_log_group(
        scope,
        "StateMachineLogs",
        key=stack_key(scope),
        retention=defaults.LOG_RETENTION,
        log_group_name=defaults.JOB_STATE_MACHINE_LOG_GROUP_PREFIX
        + cdk.Names.unique_resource_name(scope, max_length=80),
    )
    state_machine = sfn.StateMachine(
        scope,
        "StateMachine",
        comment="Runs the job's task once, with its maximum run time and retries",
        definition_body=sfn.DefinitionBody.from_string(
            stack.to_json_string(_definition(run_task, max_run_time, retries, start_retries))
        ),
        role=role,
        state_machine_type=sfn.StateMachineType.STANDARD,
        logs=sfn.LogOptions(
            destination=log_group,
            level=sfn.LogLevel[defaults.JOB_STATE_MACHINE_LOG_LEVEL],
            include_execution_data=False,
        ),
        tracing_enabled=True,
    )
    # CreateStateMachine checks that the role may deliver the logs: the policies are attached
    # first. CDK's own dependency on the role repeats its RoleArn reference (cfn-lint W3005).
    resource = state_machine.node.default_child
    assert isinstance(resource, sfn.CfnStateMachine)
    policies = (role_policy, LOG_DELIVERY_ROUTE.policy(scope), XRAY_ROUTE.policy(scope))
    resource.add_override(
        "DependsOn",
        sorted(stack.get_logical_id(cast(cdk.CfnElement, p.node.default_child)) for p in policies),
    )
    return JobLimits(state_machine, role, role_policy, log_group)


def _role_statements(
    cluster: ecs.ICluster, definition: ecs.TaskDefinition
) -> list[iam.PolicyStatement]:
    stack = cdk.Stack.of(cluster)
    return [
        *run_task_statements(cluster, definition),
        iam.PolicyStatement(
            sid="WatchAndStopItsTasks",  # task ARNs do not exist before RunTask
            actions=["ecs:DescribeTasks", "ecs:StopTask"],
            resources=["*"],
            conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
        ),
        iam.PolicyStatement(
            sid="TaskStateEvents",  # the rule Step Functions manages for runTask.sync
            actions=["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            resources=[
                stack.format_arn(
                    service="events",
                    resource="rule",
                    resource_name="StepFunctionsGetEventsForECSTaskRule",
                )
            ],
        ),
    ]


def _definition(
    run_task: dict[str, Any],
    max_run_time: cdk.Duration | None,
    retries: JobRetries | None,
    start_retries: int,
) -> dict[str, Any]:
    """The state machine in the Amazon States Language, with JSONata."""
    task: dict[str, Any] = {
        "Type": "Task",
        "Resource": f"arn:{cdk.Aws.PARTITION}:states:::ecs:runTask.sync",
        "Arguments": run_task,
    }
    if max_run_time is not None:
        task["TimeoutSeconds"] = max_run_time.to_seconds()
    if is_token(start_retries) or start_retries > 0:
        task["Retry"] = [
            {
                "ErrorEquals": ["AmazonECS.Unknown"],
                "IntervalSeconds": int(defaults.JOB_START_RETRY_INTERVAL.to_seconds()),
                "BackoffRate": defaults.JOB_START_RETRY_BACKOFF,
                "MaxDelaySeconds": int(defaults.JOB_START_RETRY_MAX_DELAY.to_seconds()),
                "MaxAttempts": start_retries,
            }
        ]
    stop = "; stop it at its maximum run time (States.Timeout)" if max_run_time else ""
    if retries is None:
        return {
            "Comment": f"Run the task once{stop}",
            "QueryLanguage": "JSONata",
            "StartAt": "RunTask",
            "States": {"RunTask": {**task, "End": True}},
        }
    task["Catch"] = [
        {
            "ErrorEquals": ["States.TaskFailed"],
            "Output": "{% $states.errorOutput %}",
            "Next": "Classify",
        }
    ]
    choices = []
    if retries.spot:
        choices.append(
            {
                "Condition": f"{{% {_SPOT_INTERRUPTED} and ${_SPOT_COUNTER} < "
                f"{number_text(retries.spot_interruptions)} %}}",
                "Assign": {_SPOT_COUNTER: f"{{% ${_SPOT_COUNTER} + 1 %}}"},
                "Next": "RunTask",
            }
        )
    if retries.other:
        choices.append(
            {
                "Condition": f"{{% $not({_SPOT_INTERRUPTED}) and ${_FAILURE_COUNTER} < "
                f"{number_text(retries.failures)} %}}",
                "Assign": {_FAILURE_COUNTER: f"{{% ${_FAILURE_COUNTER} + 1 %}}"},
                "Next": "RunTask",
            }
        )
    return {
        "Comment": "Run the task; re-run it after a Spot interruption or a failure while its "
        f"counter allows{stop}",
        "QueryLanguage": "JSONata",
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Pass",
                "Assign": {_SPOT_COUNTER: 0, _FAILURE_COUNTER: 0},
                "Next": "RunTask",
            },
            "RunTask": {**task, "End": True},
            "Classify": {"Type": "Choice", "Choices": choices, "Default": "Failed"},
            "Failed": {
                "Type": "Fail",
                "Error": "{% $states.input.Error %}",
                "Cause": "{% $states.input.Cause %}",
            },
        },
    }


def run_task_arguments(
    *,
    cluster: ecs.ICluster,
    definition: ecs.TaskDefinition,
    fargate: bool,
    strategy: list[ecs.CapacityProviderStrategy],
    subnet_ids: list[str],
    security_group_ids: list[str],
    placement_constraints: list[ecs.PlacementConstraint],
    placement_strategies: list[ecs.PlacementStrategy],
) -> dict[str, Any]:
    """RunTask's arguments for the state machine, as the schedule or command would run it."""
    network: dict[str, Any] = {"Subnets": subnet_ids, "SecurityGroups": security_group_ids}
    if fargate:
        network["AssignPublicIp"] = "DISABLED"
    arguments: dict[str, Any] = {
        "Cluster": cluster.cluster_arn,
        "TaskDefinition": definition.task_definition_arn,
        "NetworkConfiguration": {"AwsvpcConfiguration": network},
        "PropagateTags": "TASK_DEFINITION",
        "EnableECSManagedTags": True,
    }
    if strategy:
        arguments["CapacityProviderStrategy"] = [
            {
                "CapacityProvider": item.capacity_provider,
                **({"Weight": item.weight} if item.weight is not None else {}),
                **({"Base": item.base} if item.base is not None else {}),
            }
            for item in strategy
        ]
    else:
        arguments["LaunchType"] = "FARGATE"
    constraints = [_fields(item) for c in placement_constraints for item in c.to_json()]
    if constraints:
        arguments["PlacementConstraints"] = constraints
    strategies = [_fields(item) for s in placement_strategies for item in s.to_json()]
    if strategies:
        arguments["PlacementStrategy"] = strategies
    return arguments


def _fields(item: object) -> dict[str, str]:
    """A placement constraint or strategy as RunTask takes it (``Type``, ``Expression``/``Field``)."""
    return {
        key.capitalize(): value
        for key in ("type", "expression", "field")
        if (value := getattr(item, key, None))
    }


def execution_failed_rule(
    notifier: Notifier,
    name: str,
    state_machine: sfn.StateMachine,
    max_run_time: cdk.Duration | None,
    retries: JobRetries | None,
) -> events.Rule:
    """Notify when an execution of a job's state machine fails, times out or is stopped."""
    reasons = []
    if max_run_time is not None:
        limit = (
            "its maximum run time"
            if max_run_time.is_unresolved()
            else max_run_time.to_human_string()
        )
        reasons.append(f"ran longer than {limit} (States.Timeout: Step Functions stopped it)")
    reasons.append("failed and was not re-run" if retries is not None else "failed")
    if retries is not None:
        reasons.append("used up its retries")
    what = ", ".join(reasons[:-1]) + f" or {reasons[-1]}" if len(reasons) > 1 else reasons[0]
    return notifier.rule(
        "execution_failed",
        "ExecutionFailed",
        "The job's state machine failed: a timeout, a failure it does not re-run, or its "
        "retries ran out",
        events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={
                "stateMachineArn": [state_machine.state_machine_arn],
                "status": ["FAILED", "TIMED_OUT", "ABORTED"],
            },
        ),
        f"[{name}] Job execution {field('$.detail.name')} {field('$.detail.status')}: the "
        f"task {what} (ABORTED: someone stopped the execution). The failing state's error "
        "and cause: aws stepfunctions describe-execution --execution-arn "
        f"{field('$.detail.executionArn')}",
    )
