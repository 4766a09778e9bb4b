"""What a review finds: the changes to each stack, and the report of every stack."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

from .lenses import IamChange, LoadBalancingChange, SecurityGroupChange, TaskDefinitionChange
from .schemas import KEEPING_POLICIES

if TYPE_CHECKING:
    from ..cost.delta import CostDelta

T = TypeVar("T")


@dataclass(frozen=True)
class ResourceChange:
    """A resource added, removed or modified in place (replacements are listed apart)."""

    stack: str
    logical_id: str
    resource_type: str
    action: Literal["added", "removed", "modified"]
    properties: tuple[str, ...] = ()
    """For ``modified``: the top-level properties (and policies) that changed."""
    holds_data: bool = False
    policy: str = ""
    """For ``removed``: the DeletionPolicy that decides the fate of the old resource."""


@dataclass(frozen=True)
class Replacement:
    """A resource CloudFormation will replace: create a new one, then delete (or keep) the old.

    ``cause`` is ``renamed`` (new logical id; ``because`` holds the old id), ``property``
    (``because`` holds the create-only properties that changed), ``reference`` (a create-only
    property refers to resources in ``because`` that are themselves replaced) or ``type``.
    """

    stack: str
    logical_id: str
    resource_type: str
    cause: Literal["renamed", "property", "reference", "type"]
    because: tuple[str, ...]
    holds_data: bool
    policy: str
    """The policy (UpdateReplacePolicy, or DeletionPolicy for a renamed resource) that
    decides whether the old physical resource is kept (Retain, Snapshot) or deleted."""
    name_conflict: str = ""
    """A fixed physical name the new resource would share with the old one: the update fails."""

    @property
    def keeps_old(self) -> bool:
        return self.policy in KEEPING_POLICIES


@dataclass(frozen=True)
class ExportChange:
    """A cross-stack export removed or changed while another stack imports it: the update fails.

    CloudFormation refuses to delete or change an export that a deployed stack imports
    (``Fn::ImportValue``), and CDK deploys the exporting stack first.
    """

    stack: str
    export: str
    change: Literal["removed", "changed"]
    imported_by: tuple[str, ...]


@dataclass(frozen=True)
class PreflightFinding:
    """A preflight finding the change brings (``enable_preflight`` writes them into the
    template's ``Metadata``): a run-time failure found at synth time."""

    stack: str
    check: str
    path: str
    message: str
    error: bool

    @property
    def flags(self) -> tuple[str, ...]:
        return ("the deployment would fail",) if self.error else ()


@dataclass(frozen=True)
class StackReview:
    """Everything the change does to one stack."""

    name: str
    status: Literal["added", "removed", "modified", "unchanged"]
    changes: tuple[ResourceChange, ...] = ()
    replacements: tuple[Replacement, ...] = ()
    iam: tuple[IamChange, ...] = ()
    security_groups: tuple[SecurityGroupChange, ...] = ()
    load_balancing: tuple[LoadBalancingChange, ...] = ()
    task_definitions: tuple[TaskDefinitionChange, ...] = ()
    exports: tuple[ExportChange, ...] = ()
    preflight: tuple[PreflightFinding, ...] = ()

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)


class _EveryStack(Generic[T]):
    """A report attribute: the ``StackReview`` field of the same name, of every stack in turn."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, report: None, owner: type) -> _EveryStack[T]: ...
    @overload
    def __get__(self, report: Report, owner: type) -> tuple[T, ...]: ...
    def __get__(self, report: Report | None, owner: type) -> Any:
        if report is None:
            return self
        return tuple(item for stack in report.stacks for item in getattr(stack, self.name))


@dataclass(frozen=True)
class Report:
    """The review of every stack, in name order."""

    stacks: tuple[StackReview, ...] = field(default_factory=tuple)
    cost: CostDelta | None = None
    """The monthly cost change, by resource class (``ecs_patterns_plus.cost.cost_delta``)."""

    changes = _EveryStack[ResourceChange]()
    replacements = _EveryStack[Replacement]()
    iam = _EveryStack[IamChange]()
    security_groups = _EveryStack[SecurityGroupChange]()
    load_balancing = _EveryStack[LoadBalancingChange]()
    task_definitions = _EveryStack[TaskDefinitionChange]()
    exports = _EveryStack[ExportChange]()
    preflight = _EveryStack[PreflightFinding]()

    @property
    def changed(self) -> tuple[StackReview, ...]:
        return tuple(stack for stack in self.stacks if stack.status != "unchanged")

    @property
    def data_replaced(self) -> tuple[Replacement, ...]:
        """Replacements of resources that hold data: the new one starts empty."""
        return tuple(item for item in self.replacements if item.holds_data)

    @property
    def data_removed(self) -> tuple[ResourceChange, ...]:
        """Removed resources that hold data (deleted, or kept as orphans by their policy)."""
        return tuple(item for item in self.changes if item.action == "removed" and item.holds_data)
