"""Services: one core (``ServiceCore``) and its front doors (an ALB route, an NLB listener, a Service Connect port, a queue), and daemons."""

from .alb import AlbFargateService, PortRoute, TargetHealthCheck
from .backend import BackendService
from .core import FrontDoor, ServiceCore
from .daemon import DaemonService
from .nlb import NlbFargateService, NlbHealthCheck
from .service_connect import ServiceConnectOptions, ServiceConnectTls
from .worker import WorkerService

__all__ = [
    "AlbFargateService",
    "BackendService",
    "DaemonService",
    "FrontDoor",
    "NlbFargateService",
    "NlbHealthCheck",
    "PortRoute",
    "ServiceConnectOptions",
    "ServiceConnectTls",
    "ServiceCore",
    "TargetHealthCheck",
    "WorkerService",
]
