"""HardenedCluster and its EC2 capacity."""

from .cluster import HardenedCluster, NamespaceOptions
from .ec2_capacity import Ec2Ami, Ec2Capacity, Ec2CapacityOptions

__all__ = ["Ec2Ami", "Ec2Capacity", "Ec2CapacityOptions", "HardenedCluster", "NamespaceOptions"]
