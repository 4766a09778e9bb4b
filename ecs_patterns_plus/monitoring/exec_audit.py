"""ExecCommandAudit: a notification for every ECS Exec session opened on a cluster."""

from __future__ import annotations

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..errors import checked
from .events import exec_command_rule
from .notifications import Notifier, stack_alarm_topic, stack_notification_queue


class ExecCommandAudit(Construct):
    """Notifies every ``aws ecs execute-command`` (ECS Exec) session opened on a cluster.

    ECS Exec session contents are already logged by ``HardenedCluster``; this rule reports
    who opened which shell, from CloudTrail's ``ExecuteCommand`` management event (the
    account needs a CloudTrail trail for management events). Use one per cluster.

    Args:
        cluster: the cluster whose ``ExecuteCommand`` calls are reported.
        topic: SNS topic to notify (e.g. ``ServiceMonitoring.topic``).
            Default: the stack's shared alarm topic.
        dead_letter_queue: queue for undeliverable notifications.
            Default: the stack's shared notification dead-letter queue.

    Attributes:
        rule, topic, dead_letter_queue.
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        topic: sns.ITopic | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic: sns.ITopic = topic or stack_alarm_topic(self)
        self.dead_letter_queue = dead_letter_queue or stack_notification_queue(self)
        self.rule = exec_command_rule(Notifier(self, self.topic, self.dead_letter_queue), cluster)
