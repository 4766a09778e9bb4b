"""Monitoring for ECS: ServiceMonitoring, golden-signal alarms, notifications and ECS Exec audit.

Everything notifies one KMS-encrypted, TLS-only SNS topic. The golden-signal alarms of a
load-balanced service (target 5xx rate, p99 latency, unhealthy hosts) come from one function,
``golden_signal_alarms``, which deployment strategies use as their rollback alarms.
"""

from ..encryption import allow_notifications
from .alarms import golden_signal_alarms
from .exec_audit import ExecCommandAudit
from .notifications import allow_alarms_to_publish, notification_topic
from .service import ServiceMonitoring
from .thresholds import MonitoringThresholds

__all__ = [
    "ExecCommandAudit",
    "MonitoringThresholds",
    "ServiceMonitoring",
    "allow_alarms_to_publish",
    "allow_notifications",
    "golden_signal_alarms",
    "notification_topic",
]
