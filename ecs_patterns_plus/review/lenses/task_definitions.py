"""The task definition lens: image, cpu/memory, environment and secret names, container security."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..templates import Resource, canonical, render
from .common import pairs


@dataclass(frozen=True)
class TaskDefinitionChange:
    """A task definition setting that changed: image, cpu/memory, environment or secret names."""

    stack: str
    logical_id: str
    container: str
    setting: str
    old: str
    new: str
    flags: tuple[str, ...] = ()


_TASK_SETTINGS = ("Cpu", "Memory")
_CONTAINER_SETTINGS = ("Image", "Cpu", "Memory", "MemoryReservation")


def task_definition_changes(
    stack: str, old: Mapping[str, Resource], new: Mapping[str, Resource]
) -> list[TaskDefinitionChange]:
    """Every task definition setting that differs between ``old`` and ``new``.

    Environment variables and secrets are compared by name (values are never shown); flags
    mutable image tags, privileged containers, writable root filesystems and the root user.
    """
    result = []
    for logical_id, before, after in pairs(old, new, ("AWS::ECS::TaskDefinition",)):
        for container, setting, was, now, flags in _task_definition_settings(
            (before or {}).get("Properties", {}), (after or {}).get("Properties", {})
        ):
            result.append(
                TaskDefinitionChange(stack, logical_id, container, setting, was, now, flags)
            )
    return result


def _task_definition_settings(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    """(container, setting, old, new, flags); container is empty for task-level settings."""
    result: list[tuple[str, str, str, str, tuple[str, ...]]] = []
    for key in _TASK_SETTINGS:
        if canonical(old.get(key)) != canonical(new.get(key)):
            result.append(("", key.lower(), render(old.get(key)), render(new.get(key)), ()))
    old_containers = _containers(old)
    new_containers = _containers(new)
    for name in sorted(set(old_containers) | set(new_containers)):
        before = old_containers.get(name, {})
        after = new_containers.get(name, {})
        for key in _CONTAINER_SETTINGS:
            if canonical(before.get(key)) != canonical(after.get(key)):
                flags = _image_flags(after.get(key)) if key == "Image" else ()
                setting = "memoryReservation" if key == "MemoryReservation" else key.lower()
                result.append(
                    (name, setting, render(before.get(key)), render(after.get(key)), flags)
                )
        for setting, field_name, change_flag in (
            ("environment", "Environment", "value changed"),
            ("secrets", "Secrets", "source changed"),
        ):
            was = _named(
                before.get(field_name), "Value" if field_name == "Environment" else "ValueFrom"
            )
            now = _named(
                after.get(field_name), "Value" if field_name == "Environment" else "ValueFrom"
            )
            for variable in sorted(set(was) | set(now)):
                if variable not in now:
                    result.append((name, setting, variable, "", ()))
                elif variable not in was:
                    result.append((name, setting, "", variable, ()))
                elif was[variable] != now[variable]:
                    result.append((name, setting, variable, variable, (change_flag,)))
        result.extend(_container_security(name, before, after))
    return result


def _containers(properties: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    containers = properties.get("ContainerDefinitions", [])
    if not isinstance(containers, list):
        return {}
    return {render(item.get("Name")): item for item in containers if isinstance(item, dict)}


def _named(entries: Any, value_key: str) -> dict[str, str]:
    if not isinstance(entries, list):
        return {}
    return {
        render(item.get("Name")): canonical(item.get(value_key))
        for item in entries
        if isinstance(item, dict)
    }


def _image_flags(image: Any) -> tuple[str, ...]:
    if not isinstance(image, str) or "@sha256:" in image:
        return ()
    tag = image.rsplit("/", 1)[-1].partition(":")[2]
    if tag in ("", "latest"):
        return ("mutable tag",)
    return ()


def _container_security(
    name: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[tuple[str, str, str, str, tuple[str, ...]]]:
    result: list[tuple[str, str, str, str, tuple[str, ...]]] = []
    checks = (
        ("Privileged", "privileged", lambda value: value is True, "privileged container"),
        (
            "ReadonlyRootFilesystem",
            "readonlyRootFilesystem",
            lambda value: value is not True,
            "writable root filesystem",
        ),
        (
            "User",
            "user",
            lambda value: value in (None, "root", "0") or str(value).startswith(("0:", "root:")),
            "runs as root",
        ),
    )
    for key, setting, risky, flag in checks:
        was, now = before.get(key), after.get(key)
        if canonical(was) == canonical(now):
            continue
        flags = (flag,) if risky(now) and after else ()
        result.append((name, setting, render(was), render(now), flags))
    return result
