"""Services: one core (``ServiceCore``) and its front doors (an ALB route, a Service Connect port)."""

from .alb import AlbFargateService, TargetHealthCheck
from .backend import BackendService
from .core import FrontDoor, ServiceCore
from .service_connect import ServiceConnectOptions, ServiceConnectTls

__all__ = [
    "AlbFargateService",
    "BackendService",
    "FrontDoor",
    "ServiceConnectOptions",
    "ServiceConnectTls",
    "ServiceCore",
    "TargetHealthCheck",
]
