"""Review synthesized templates before ``cdk deploy``: what a change adds, removes and replaces.

``python -m ecs_patterns_plus.review BASE_DIR NEW_DIR`` prints a Markdown report fit for a
pull-request comment; ``review``, ``render_markdown`` and ``diagram`` are the same, as code.
"""

from .diff import (
    ExportChange,
    IamChange,
    LoadBalancingChange,
    Replacement,
    Report,
    ResourceChange,
    SecurityGroupChange,
    StackReview,
    TaskDefinitionChange,
    review,
)
from .markdown import render_markdown
from .mermaid import diagram
from .schemas import DATA_TYPES, rules_for
from .templates import load_templates

__all__ = [
    "DATA_TYPES",
    "ExportChange",
    "IamChange",
    "LoadBalancingChange",
    "Replacement",
    "Report",
    "ResourceChange",
    "SecurityGroupChange",
    "StackReview",
    "TaskDefinitionChange",
    "diagram",
    "load_templates",
    "render_markdown",
    "review",
    "rules_for",
]
