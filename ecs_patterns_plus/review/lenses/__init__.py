"""Lenses: each reads one kind of change from a stack's old and new resources.

A lens is a pure function ``(stack, old, new) -> findings``: ``old`` and ``new`` are the
stack's resources by logical id, the old ones under the ids the new template gives them
(renamed resources matched up and references to them followed, by the diff).
"""

from .iam import IamChange, iam_changes
from .load_balancing import LoadBalancingChange, load_balancing_changes
from .security_groups import SecurityGroupChange, security_group_changes
from .task_definitions import TaskDefinitionChange, task_definition_changes

__all__ = [
    "IamChange",
    "LoadBalancingChange",
    "SecurityGroupChange",
    "TaskDefinitionChange",
    "iam_changes",
    "load_balancing_changes",
    "security_group_changes",
    "task_definition_changes",
]
