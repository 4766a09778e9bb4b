"""Review synthesized templates before ``cdk deploy``: what a change adds, removes and replaces.

``python -m ecs_patterns_plus.review BASE_DIR NEW_DIR`` prints a Markdown report fit for a
pull-request comment; ``review``, ``render_markdown`` and ``diagram`` are the same, as code.
"""

from .diff import review
from .lenses import IamChange, LoadBalancingChange, SecurityGroupChange, TaskDefinitionChange
from .markdown import render_markdown
from .mermaid import diagram
from .report import ExportChange, Replacement, Report, ResourceChange, StackReview
from .schemas import DATA_TYPES, rules_for
from .templates import TemplateError, load_templates

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
    "TemplateError",
    "diagram",
    "load_templates",
    "render_markdown",
    "review",
    "rules_for",
]
