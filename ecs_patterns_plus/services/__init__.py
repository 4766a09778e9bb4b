"""Services: one core (``ServiceCore``) and its front doors (today an ALB route)."""

from .alb import AlbFargateService, TargetHealthCheck
from .core import FrontDoor, ServiceCore

__all__ = ["AlbFargateService", "FrontDoor", "ServiceCore", "TargetHealthCheck"]
