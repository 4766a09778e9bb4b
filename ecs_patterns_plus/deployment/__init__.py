"""Deployment strategies and what they add next to a service."""

from .binding import DeploymentResources, code_deploy_group, lifecycle_hook_role, traffic_shift_role
from .strategy import DeploymentStrategy, LifecycleHook, TestTraffic

__all__ = [
    "DeploymentResources",
    "DeploymentStrategy",
    "LifecycleHook",
    "TestTraffic",
    "code_deploy_group",
    "lifecycle_hook_role",
    "traffic_shift_role",
]
