"""Read synthesized templates (cdk.out or snapshot files) and make sense of their intrinsics."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Template = dict[str, Any]
"""A CloudFormation template as parsed JSON."""

Resource = dict[str, Any]
"""One entry of a template's ``Resources``."""

SKIPPED_TYPES = frozenset({"AWS::CDK::Metadata"})
"""Resource types that never change what a deployment does."""

_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")
_SNAPSHOT_NAME = re.compile(r"\[(?P<name>[^\]]+)\]$")
_LOGICAL_ID_HASH = re.compile(r"[0-9A-F]{8}$")


class TemplateError(ValueError):
    """A path that holds no template where one should be, or a template file that is not one."""


def load_templates(path: Path | str, *, pattern: str = "*.json") -> dict[str, Template]:
    """Every CloudFormation template under ``path`` (a directory or one file), by stack name.

    Reads the files ``template_files`` finds. A stack is named after the file:
    ``Network.template.json`` and ``test_example_stack[Network].json`` are both
    ``Network``, and a stack in a stage after its path in the cloud assembly's manifest
    (``Prod/Network``: ``Prod-Network``, as its snapshot ``test_example_stack[Prod-Network]``);
    when two files would share a name, their relative paths name them.
    Raises ``TemplateError`` when ``path`` does not exist or a file read is not valid JSON
    or not a CloudFormation template; a directory without templates gives ``{}``.

    Args:
        path: a ``cdk.out`` or snapshot directory, or one template file.
        pattern: narrows the files read in a directory (``test_example_stack*``).
            Default: ``*.json``.
    """
    root = Path(path)
    found: list[tuple[str, str, Template]] = []
    assemblies: dict[Path, dict[str, str]] = {}  # each manifest read once
    for file in template_files(root, pattern=pattern):
        relative = file.name if root.is_file() else file.relative_to(root).as_posix()
        if file.parent not in assemblies:
            assemblies[file.parent] = _display_names(file.parent)
        name = _stack_name(file, assemblies[file.parent])
        found.append((name, relative.removesuffix(".json"), _read(file)))
    names = [name for name, _, _ in found]
    return {
        (name if names.count(name) == 1 else relative): template
        for name, relative, template in found
    }


def template_files(path: Path | str, *, pattern: str = "*.json") -> list[Path]:
    """The files under ``path`` that hold templates: ``path`` itself when it is a file.

    In a directory (searched recursively): ``<Stack>.template.json`` files (a ``cdk.out``,
    nested assemblies included) and syrupy JSON snapshots (``test_x[<Stack>].json``, or any
    JSON file under a ``__snapshots__`` directory); other JSON files (manifests, asset and
    metadata files) are not templates. Raises ``TemplateError`` when ``path`` does not exist.

    Args:
        path: a directory or one template file.
        pattern: file name pattern the files must match. Default: ``*.json``.
    """
    root = Path(path)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise TemplateError(f"{root}: no such file or directory")
    return [file for file in sorted(root.rglob(pattern)) if file.is_file() and _is_template(file)]


def _is_template(file: Path) -> bool:
    if file.name.endswith(".template.json"):
        return True
    return file.suffix == ".json" and (
        bool(_SNAPSHOT_NAME.search(file.stem)) or "__snapshots__" in file.parts
    )


def _read(file: Path) -> Template:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise TemplateError(f"{file}: cannot be read ({error.strerror})") from error
    except UnicodeDecodeError as error:
        raise TemplateError(f"{file}: not UTF-8 text") from error
    except json.JSONDecodeError as error:
        raise TemplateError(
            f"{file}: not valid JSON (line {error.lineno}, column {error.colno})"
        ) from error
    resources = data.get("Resources") if isinstance(data, dict) else None
    if not isinstance(resources, dict):
        raise TemplateError(f"{file}: not a CloudFormation template (no Resources object)")
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or "Type" not in resource:
            raise TemplateError(
                f"{file}: not a CloudFormation template (resource {logical_id!r} has no Type)"
            )
    return data


def _stack_name(file: Path, display_names: Mapping[str, str]) -> str:
    stem = file.name.removesuffix(".json").removesuffix(".template")
    match = _SNAPSHOT_NAME.search(stem)
    if match:
        return match.group("name")
    return display_names.get(file.name, stem)


def _display_names(assembly: Path) -> dict[str, str]:
    """Template file name -> stack name, from the cloud assembly's manifest (if readable)."""
    try:
        stacks = assembly_stacks(assembly, nested=False)
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        return {}
    return {stack.template.name: name for name, stack in stacks.items()}


@dataclass(frozen=True)
class AssemblyStack:
    """A stack of a cloud assembly: its template file and its CloudFormation stack name."""

    template: Path
    stack_name: str


def assembly_stacks(assembly: Path, *, nested: bool = True) -> dict[str, AssemblyStack]:
    """Each stack of the cloud assembly in ``assembly`` (with ``nested``, its stages' too) by
    name: its path in the app with ``-`` for ``/``, ``Network`` at the top of an app and
    ``Prod-Network`` in the stage ``Prod`` (as its snapshot ``test_example_stack[Prod-Network]``
    is named). Reads ``manifest.json``; raises ``OSError`` without one."""
    manifest = json.loads((assembly / "manifest.json").read_text(encoding="utf-8"))
    stacks: dict[str, AssemblyStack] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == "aws:cloudformation:stack":
            name = str(artifact.get("displayName", artifact_id)).replace("/", "-")
            stacks[name] = AssemblyStack(
                assembly / properties["templateFile"], properties.get("stackName", artifact_id)
            )
        elif artifact.get("type") == "cdk:cloud-assembly" and nested:
            stacks.update(assembly_stacks(assembly / properties["directoryName"]))
    return stacks


def resources(template: Template) -> dict[str, Resource]:
    """The template's resources by logical id, without CDK's own bookkeeping resources."""
    return {
        logical_id: resource
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") not in SKIPPED_TYPES
    }


def short_id(logical_id: str) -> str:
    """A logical id without the 8-character hash CDK appends (``ExecKey23F71EB8`` -> ``ExecKey``)."""
    stripped = _LOGICAL_ID_HASH.sub("", logical_id)
    return stripped or logical_id


def cdk_path(resource: Mapping[str, Any]) -> str | None:
    """The construct path CDK recorded in the resource's metadata, if any."""
    path = resource.get("Metadata", {}).get("aws:cdk:path")
    return path if isinstance(path, str) else None


# --- Intrinsic functions -------------------------------------------------------------------


def calls(value: Any, functions: Collection[str]) -> Iterator[tuple[str, Any]]:
    """Every ``(function, argument)`` where ``value`` calls one of the intrinsic ``functions``.

    The argument of a call found is not searched further.
    """
    if isinstance(value, dict):
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key in functions:
                yield key, argument
                return
        for item in value.values():
            yield from calls(item, functions)
    elif isinstance(value, list):
        for item in value:
            yield from calls(item, functions)


def references(value: Any) -> Iterator[tuple[str, str | None]]:
    """Every ``(logical id, attribute or None)`` that ``value`` refers to via Ref, GetAtt or Sub.

    Pseudo parameters (``AWS::Region``, ...) are not references to resources.
    """
    for function, argument in calls(value, ("Ref", "Fn::GetAtt", "Fn::Sub")):
        if function == "Fn::GetAtt":
            target = _getatt(argument)
            if target:
                yield target
        elif function == "Fn::Sub":
            yield from _sub_references(argument)
        elif not isinstance(argument, str):
            yield from references(argument)
        elif not argument.startswith("AWS::"):
            yield argument, None


def _getatt(argument: Any) -> tuple[str, str | None] | None:
    if isinstance(argument, list) and argument and isinstance(argument[0], str):
        attribute = argument[1] if len(argument) > 1 and isinstance(argument[1], str) else None
        return argument[0], attribute
    if isinstance(argument, str) and "." in argument:
        logical_id, attribute = argument.split(".", 1)
        return logical_id, attribute
    return None


def _sub_references(argument: Any) -> Iterator[tuple[str, str | None]]:
    text, variables = (argument, {}) if isinstance(argument, str) else (None, {})
    if isinstance(argument, list) and argument and isinstance(argument[0], str):
        text = argument[0]
        variables = argument[1] if len(argument) > 1 and isinstance(argument[1], dict) else {}
        yield from references(variables)
    if text is None:
        return
    for name in _SUB_VARIABLE.findall(text):
        target, _, attribute = name.partition(".")
        if target in variables or target.startswith("AWS::"):
            continue
        yield target, attribute or None


def rename_references(value: Any, renamed: Mapping[str, str]) -> Any:
    """A copy of ``value`` whose Ref/GetAtt/Sub targets are renamed by ``renamed`` (old -> new)."""
    if not renamed:
        return value
    if isinstance(value, list):
        return [rename_references(item, renamed) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, argument), *_ = value.items()
        if key == "Ref" and isinstance(argument, str):
            return {"Ref": renamed.get(argument, argument)}
        if key == "Fn::GetAtt":
            if isinstance(argument, list) and argument and isinstance(argument[0], str):
                return {"Fn::GetAtt": [renamed.get(argument[0], argument[0]), *argument[1:]]}
            if isinstance(argument, str) and "." in argument:
                target, attribute = argument.split(".", 1)
                return {"Fn::GetAtt": f"{renamed.get(target, target)}.{attribute}"}
        if key == "Fn::Sub":
            return {"Fn::Sub": _rename_sub(argument, renamed)}
    return {key: rename_references(item, renamed) for key, item in value.items()}


def _rename_sub(argument: Any, renamed: Mapping[str, str]) -> Any:
    def replace(match: re.Match[str]) -> str:
        target, dot, attribute = match.group(1).partition(".")
        return "${" + renamed.get(target, target) + dot + attribute + "}"

    if isinstance(argument, str):
        return _SUB_VARIABLE.sub(replace, argument)
    if isinstance(argument, list) and argument and isinstance(argument[0], str):
        variables = argument[1] if len(argument) > 1 else {}
        return [_SUB_VARIABLE.sub(replace, argument[0]), rename_references(variables, renamed)]
    return rename_references(argument, renamed)


def render(value: Any) -> str:
    """A short, readable form of a template value: ``${Id}`` for Ref, ``${Id.Attr}`` for GetAtt.

    Fn::Join and Fn::Sub become the string they build, ``Fn::ImportValue`` ``import(name)``,
    ``Fn::GetStackOutput`` ``output(stack.output)``; other intrinsics and structures fall
    back to compact JSON.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        (key, argument), *_ = value.items()
        if key == "Ref" and isinstance(argument, str):
            return "${" + argument + "}"
        if key == "Fn::GetAtt":
            target = _getatt(argument)
            if target:
                return "${" + target[0] + (f".{target[1]}" if target[1] else "") + "}"
        if (
            key == "Fn::Join"
            and isinstance(argument, list)
            and len(argument) == 2
            and isinstance(argument[0], str)
            and isinstance(argument[1], list)
        ):
            return argument[0].join(render(item) for item in argument[1])
        if key == "Fn::Sub":
            return argument if isinstance(argument, str) else render(argument[0])
        if key == "Fn::ImportValue":
            return f"import({render(argument)})"
        if key == "Fn::GetStackOutput" and isinstance(argument, dict):
            return (
                f"output({render(argument.get('StackName'))}.{render(argument.get('OutputName'))})"
            )
    if isinstance(value, list):
        return ", ".join(render(item) for item in value)
    return canonical(value)


def canonical(value: Any) -> str:
    """Compact JSON with sorted keys: equal values give equal strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every ``(path, canonical value)`` of the scalars and intrinsics inside ``value``."""
    if isinstance(value, dict) and not _is_intrinsic(value):
        for key, item in value.items():
            yield from leaves(item, f"{prefix}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from leaves(item, f"{prefix}/{index}")
    else:
        yield prefix, canonical(value)


def _is_intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Ref", "Fn::"))


RULE_TYPES = {  # standalone security group rules, by direction
    "AWS::EC2::SecurityGroupIngress": "ingress",
    "AWS::EC2::SecurityGroupEgress": "egress",
}


def security_group_rules(
    resources_by_id: Mapping[str, Resource],
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Group -> [(direction, rule without its description)], inline and standalone rules."""
    result: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for logical_id, resource in resources_by_id.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            result.setdefault(logical_id, [])
            for key, direction in (
                ("SecurityGroupIngress", "ingress"),
                ("SecurityGroupEgress", "egress"),
            ):
                for rule in properties.get(key, []):
                    result[logical_id].append((direction, _rule(rule)))
        elif resource["Type"] in RULE_TYPES:
            group_ref = properties.get("GroupId")
            targets = [target for target, _ in references(group_ref)]
            group = targets[0] if len(targets) == 1 else render(group_ref)
            result.setdefault(group, []).append((RULE_TYPES[resource["Type"]], _rule(properties)))
    return result


def _rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in rule.items() if key not in ("Description", "GroupId")}
