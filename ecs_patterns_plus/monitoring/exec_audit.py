"""ExecCommandAudit: a notification for every ECS Exec session opened on a cluster."""

from __future__ import annotations

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ..errors import checked
from .events import exec_command_rule
from .notifications import Notifier, encrypted_dead_letter_queue, notification_key


class ExecCommandAudit(Construct):
    """Notifies every ``aws ecs execute-command`` (ECS Exec) session opened on a cluster.

    ECS Exec session contents are already logged by ``HardenedCluster``; this rule reports
    who opened which shell, from CloudTrail's ``ExecuteCommand`` management event (the
    account needs a CloudTrail trail for management events). Use one per cluster.

    Args:
        cluster: the cluster whose ``ExecuteCommand`` calls are reported.
        topic: SNS topic to notify (e.g. ``ServiceMonitoring.topic``).
        dead_letter_queue: queue for undeliverable notifications.
            Default: a new KMS-encrypted queue (and key).

    Attributes:
        rule, dead_letter_queue, encryption_key (``None`` when a queue was passed).
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cluster: ecs.ICluster,
        topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.encryption_key: kms.Key | None = None
        if dead_letter_queue is None:
            self.encryption_key = notification_key(self, "Key", "ECS Exec audit notifications")
            dead_letter_queue = encrypted_dead_letter_queue(self, self.encryption_key)
        self.dead_letter_queue = dead_letter_queue
        self.rule = exec_command_rule(Notifier(self, topic, dead_letter_queue), cluster)
