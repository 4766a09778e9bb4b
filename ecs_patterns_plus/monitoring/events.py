"""The EventBridge rules of ECS events: deployments, task stops, service actions, ECS Exec calls."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events

from .notifications import Notifier

_TASK_STATE_CHANGE: dict[str, Any] = {
    "source": ["aws.ecs"],
    "detail_type": ["ECS Task State Change"],
}
_EXITED_NON_ZERO: dict[str, Any] = {
    "stopCode": ["EssentialContainerExited"],
    "containers": {"exitCode": [{"anything-but": 0}]},
}


def field(path: str) -> str:
    """The value at ``path`` in the event, for a notification text."""
    return events.EventField.from_path(path)


def service_rules(
    notifier: Notifier, service: ecs.IBaseService, name: str, notify_deployments: bool
) -> None:
    """Notify failed and rolled-back deployments, abnormal task stops and service warnings."""
    cluster_arn = service.cluster.cluster_arn
    deployment = {"source": ["aws.ecs"], "detail_type": ["ECS Deployment State Change"]}
    notifier.rule(
        "deployment_failed",
        "DeploymentFailed",
        "ECS deployment failed or rolled back",
        events.EventPattern(
            **deployment,
            resources=[service.service_arn],
            detail={
                "$or": [
                    {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
                    {
                        "eventName": ["SERVICE_DEPLOYMENT_IN_PROGRESS"],
                        "reason": [{"wildcard": "*rolling back*"}, {"wildcard": "*rollback*"}],
                    },
                ]
            },
        ),
        f"[{name}] ECS deployment {field('$.detail.eventName')} "
        f"({field('$.detail.deploymentId')}): {field('$.detail.reason')}. The service "
        "rolls back to its last completed deployment; see the task-stopped notifications "
        "and the service events for the cause.",
    )
    if notify_deployments:
        notifier.rule(
            "deployments",
            "Deployments",
            "ECS deployment started or completed",
            events.EventPattern(
                **deployment,
                resources=[service.service_arn],
                detail={
                    "eventName": [
                        "SERVICE_DEPLOYMENT_IN_PROGRESS",
                        "SERVICE_DEPLOYMENT_COMPLETED",
                    ]
                },
            ),
            f"[{name}] ECS deployment {field('$.detail.eventName')} "
            f"({field('$.detail.deploymentId')}): {field('$.detail.reason')}",
        )
    stopped = {
        "clusterArn": [cluster_arn],
        "group": [f"service:{service.service_name}"],
        "lastStatus": ["STOPPED"],
    }
    task = (
        f"Task {field('$.detail.taskArn')} ({field('$.detail.taskDefinitionArn')}) "
        f"stopped: {field('$.detail.stopCode')}, {field('$.detail.stoppedReason')}."
    )
    notifier.rule(
        "task_exited",
        "TaskExited",
        "ECS task of the service stopped: an essential container exited non-zero",
        events.EventPattern(
            **_TASK_STATE_CHANGE,
            detail={**stopped, **_EXITED_NON_ZERO},
        ),
        f"[{name}] {task} An essential container exited with a non-zero code (137: killed, "
        "often out of memory). Read the task's last log lines (saved query 'Last lines of "
        "each task'), then check the container health check and its startPeriod.",
    )
    notifier.rule(
        "health_check_failed",
        "TaskHealthCheckFailed",
        "ECS task of the service stopped: failed container or load balancer health checks",
        events.EventPattern(
            **_TASK_STATE_CHANGE,
            detail={
                **stopped,
                "stoppedReason": [
                    {"prefix": "Task failed ELB health checks"},
                    {"prefix": "Task failed container health checks"},
                ],
            },
        ),
        f"[{name}] {task} Check the health check path, port, interval and timeout, raise "
        "startPeriod / the health-check grace period for slow starts, and check that the "
        "service security group admits the load balancer on the container port.",
    )
    notifier.rule(
        "task_failed_to_start",
        "TaskFailedToStart",
        "ECS task of the service failed to start (image pull, secrets, log group)",
        events.EventPattern(
            **_TASK_STATE_CHANGE, detail={**stopped, "stopCode": ["TaskFailedToStart"]}
        ),
        f"[{name}] {task} The task never started. CannotPullContainerError: check the image "
        "digest, the execution role's ECR permissions and the VPC endpoints (ECR api and "
        "dkr, S3) or NAT route. ResourceInitializationError: check the secrets, their KMS "
        "keys and the Secrets Manager, SSM and Logs endpoints.",
    )
    notifier.rule(
        "service_action",
        "ServiceAction",
        "ECS service warnings and errors (e.g. unable to place tasks)",
        events.EventPattern(
            source=["aws.ecs"],
            detail_type=["ECS Service Action"],
            resources=[service.service_arn],
            detail={"eventType": ["WARN", "ERROR"]},
        ),
        f"[{name}] ECS service {field('$.detail.eventType')} "
        f"{field('$.detail.eventName')}: {field('$.detail.reason')}. Placement failures "
        "mean no capacity (EC2 capacity, Fargate quota) or no free IPs in the subnets; a "
        "stalled deployment may need other minimum/maximum healthy percents.",
    )


def job_task_failed_rule(
    notifier: Notifier, name: str, cluster: ecs.ICluster, definition: ecs.TaskDefinition
) -> events.Rule:
    """Notify when a task of a job stops without finishing its work."""
    return notifier.rule(
        "task_failed",
        "TaskFailed",
        "A scheduled task exited non-zero, failed to start or lost its Spot capacity",
        events.EventPattern(
            **_TASK_STATE_CHANGE,
            detail={
                "clusterArn": [cluster.cluster_arn],
                "taskDefinitionArn": [definition.task_definition_arn],
                "lastStatus": ["STOPPED"],
                "$or": [
                    _EXITED_NON_ZERO,
                    {"stopCode": ["TaskFailedToStart", "SpotInterruption"]},
                ],
            },
        ),
        f"[{name}] Task {field('$.detail.taskArn')} stopped: "
        f"{field('$.detail.stopCode')}, {field('$.detail.stoppedReason')}. Read its "
        "last log lines; TaskFailedToStart: check the image, the secrets and the "
        "VPC endpoints; SpotInterruption: the next run retries, or use FARGATE.",
    )


def exec_command_rule(notifier: Notifier, cluster: ecs.ICluster) -> events.Rule:
    """Notify every ECS Exec session opened on ``cluster`` (CloudTrail's ExecuteCommand)."""
    return notifier.rule(
        "exec",
        "ExecuteCommand",
        "ECS Exec session opened on the cluster",
        events.EventPattern(
            source=["aws.ecs"],
            detail_type=["AWS API Call via CloudTrail"],
            detail={
                "eventSource": ["ecs.amazonaws.com"],
                "eventName": ["ExecuteCommand"],
                "requestParameters": {"cluster": [cluster.cluster_name, cluster.cluster_arn]},
            },
        ),
        f"ECS Exec: {field('$.detail.userIdentity.arn')} opened "
        f"{field('$.detail.requestParameters.command')} in container "
        f"{field('$.detail.requestParameters.container')} of task "
        f"{field('$.detail.requestParameters.task')} on cluster {cluster.cluster_name} "
        f"from {field('$.detail.sourceIPAddress')}. The session is logged to the "
        "cluster's ECS Exec log group.",
    )
