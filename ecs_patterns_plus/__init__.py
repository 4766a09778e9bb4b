"""Hardened, reusable AWS CDK constructs for Amazon ECS on Fargate and EC2."""

from .cluster import HardenedCluster
from .compliance import enable_compliance_checks
from .errors import ValidationError
from .network import SecureVpc, VpcEndpoints

__all__ = [
    "HardenedCluster",
    "SecureVpc",
    "ValidationError",
    "VpcEndpoints",
    "enable_compliance_checks",
]
