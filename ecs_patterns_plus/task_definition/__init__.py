"""HardenedTaskDefinition, its options and the checks of its arguments."""

from .construct import HardenedTaskDefinition
from .options import HealthCheckOptions, LogOptions, SidecarOptions
from .validation import looks_like_secret_name

__all__ = [
    "HardenedTaskDefinition",
    "HealthCheckOptions",
    "LogOptions",
    "SidecarOptions",
    "looks_like_secret_name",
]
