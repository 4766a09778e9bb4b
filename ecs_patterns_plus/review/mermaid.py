"""Mermaid architecture diagrams drawn from synthesized templates.

A diagram shows what a reader needs to picture the stack (load balancers, listeners,
target groups, services, task definitions, the cluster and its Cloud Map namespace, the VPC
and its endpoints, log groups, keys, buckets, alarms) and the Refs/GetAtts between them.
Plumbing (subnets, routes, security group rules, IAM) is left out; endpoints, NAT gateways
and alarms are drawn as one node each.

Service Connect calls are drawn too, as labelled edges from each client service to each
server it calls (``-- "Service Connect orders:8080" -->``): a call is a server's published
port that one of its security groups admits from one of the client's.

``python -m ecs_patterns_plus.review.diagrams DIR [--readme README.md]`` prints the diagrams
of every template under DIR, or rewrites the README's diagrams block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .markdown import replace_block
from .templates import (
    Resource,
    Template,
    cdk_path,
    references,
    render,
    resources,
    security_group_rules,
    short_id,
)

README_START = "<!-- diagrams:start -->"
README_END = "<!-- diagrams:end -->"


@dataclass(frozen=True)
class Kind:
    """How one resource type appears: its group (subgraph), label, rank and whether it folds."""

    group: str
    label: str
    rank: float
    """Edges run from lower to higher rank, roughly the way a request travels."""
    folded: bool = False
    """All resources of the type become one node (``VPC endpoints``, ``Alarms``)."""


KINDS: dict[str, Kind] = {
    "AWS::WAFv2::WebACL": Kind("Load balancing", "WAF web ACL", 0),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": Kind("Load balancing", "Load balancer", 1),
    "AWS::ElasticLoadBalancingV2::Listener": Kind("Load balancing", "Listener", 2),
    "AWS::ElasticLoadBalancingV2::TargetGroup": Kind("Load balancing", "Target group", 3),
    "AWS::ECS::Service": Kind("ECS", "Service", 4),
    "AWS::Scheduler::Schedule": Kind("Jobs", "Schedule", 4),
    "AWS::Events::Rule": Kind("Jobs", "EventBridge rule", 4),
    "AWS::CodeDeploy::DeploymentGroup": Kind("Deployment", "CodeDeploy group", 4),
    "AWS::ApplicationAutoScaling::ScalableTarget": Kind("ECS", "Auto scaling", 4.5),
    "AWS::ECS::TaskDefinition": Kind("ECS", "Task definition", 5),
    "AWS::ECS::Cluster": Kind("ECS", "Cluster", 6),
    "AWS::ServiceDiscovery::HttpNamespace": Kind("ECS", "Cloud Map namespace", 6.1),
    "AWS::ServiceDiscovery::PrivateDnsNamespace": Kind("ECS", "Cloud Map namespace", 6.1),
    "AWS::EC2::VPC": Kind("Network", "VPC", 7),
    "AWS::EC2::NatGateway": Kind("Network", "NAT gateways", 7.1, folded=True),
    "AWS::EC2::VPCEndpoint": Kind("Network", "VPC endpoints", 7.2, folded=True),
    "AWS::EC2::FlowLog": Kind("Network", "Flow log", 7.5),
    "AWS::SQS::Queue": Kind("Data", "Queue", 8),
    "AWS::SecretsManager::Secret": Kind("Data", "Secret", 8),
    "AWS::S3::Bucket": Kind("Data", "Bucket", 8),
    "AWS::Logs::LogGroup": Kind("Data", "Log group", 8),
    "AWS::KMS::Key": Kind("Data", "KMS key", 9),
    "AWS::CloudWatch::Alarm": Kind("Monitoring", "Alarms", 6.5, folded=True),
    "AWS::CloudWatch::CompositeAlarm": Kind("Monitoring", "Composite alarm", 6.6),
    "AWS::SNS::Topic": Kind("Monitoring", "Topic", 6.7),
    "AWS::CloudWatch::Dashboard": Kind("Monitoring", "Dashboard", 6.8),
}
"""The resource types drawn; every other type is plumbing and left out."""

EVENT_RULES = Kind("Monitoring", "Event rules", 6.5, folded=True)
"""EventBridge rules that match events (rather than run on a schedule) notify: monitoring."""

UNLINKED = frozenset({"AWS::CloudWatch::Dashboard"})
"""Types drawn without edges: a dashboard shows everything and drives nothing."""

LINKS = frozenset(
    {
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        "AWS::WAFv2::LoggingConfiguration",
        "AWS::WAFv2::WebACLAssociation",
    }
)
"""Types drawn as an edge between the resources they join, not as a node."""

QUIET_PROPERTIES = frozenset({"VpcId", "Vpc"})
"""References under these properties are plumbing: drawing them would only add clutter."""

GROUP_ORDER = ("Load balancing", "Jobs", "Deployment", "ECS", "Network", "Data", "Monitoring")


def diagram(template: Template) -> str:
    """The Mermaid ``flowchart`` source of one template's architecture."""
    items = resources(template)
    node_of: dict[str, str] = {}
    nodes: dict[str, tuple[Kind, list[str]]] = {}
    for logical_id, resource in items.items():
        kind = _kind(resource)
        if kind is None:
            continue
        node = _node_id(kind.label) if kind.folded else logical_id
        node_of[logical_id] = node
        nodes.setdefault(node, (kind, []))[1].append(logical_id)

    edges: set[tuple[str, str]] = set()
    for logical_id, resource in items.items():
        targets = sorted({node_of[target] for target in _references(resource) if target in node_of})
        if resource["Type"] in LINKS:
            edges.update((a, b) for a in targets for b in targets if a < b)
        elif logical_id in node_of and resource["Type"] not in UNLINKED:
            edges.update(
                (node_of[logical_id], target)
                for target in targets
                if _type_of(items, nodes[target][1][0]) not in UNLINKED
            )

    calls = _service_connect_calls(items)

    lines = ["flowchart LR"]
    groups = sorted(
        {kind.group for kind, _ in nodes.values()},
        key=lambda group: (GROUP_ORDER.index(group) if group in GROUP_ORDER else 99, group),
    )
    for group in groups:
        lines.append(f'  subgraph {_node_id(group)}["{group}"]')
        members = sorted(
            (node for node, (kind, _) in nodes.items() if kind.group == group),
            key=lambda node: (nodes[node][0].rank, node),
        )
        for node in members:
            kind, logical_ids = nodes[node]
            label = _label(kind, [(lid, items[lid]) for lid in logical_ids])
            lines.append(f'    {node}["{_escape(label)}"]')
        lines.append("  end")
    for source, target in sorted({_orient(edge, nodes) for edge in edges if edge[0] != edge[1]}):
        if (source, target) in calls or (target, source) in calls:
            continue
        groups_of = {nodes[source][0].group, nodes[target][0].group}
        arrow = "-.->" if "Monitoring" in groups_of else "-->"
        lines.append(f"  {source} {arrow} {target}")
    for (client, server), label in sorted(calls.items()):
        lines.append(f'  {client} -- "{_escape(label)}" --> {server}')
    return "\n".join(lines) + "\n"


def _kind(resource: dict[str, Any]) -> Kind | None:
    if resource["Type"] == "AWS::Events::Rule" and "EventPattern" in resource.get("Properties", {}):
        return EVENT_RULES
    return KINDS.get(resource["Type"])


def _type_of(items: Mapping[str, dict[str, Any]], logical_id: str) -> str:
    return str(items[logical_id]["Type"])


def _references(resource: dict[str, Any]) -> set[str]:
    properties = resource.get("Properties", {})
    if not isinstance(properties, dict):
        return set()
    return {
        target
        for key, value in properties.items()
        if key not in QUIET_PROPERTIES
        for target, _ in references(value)
    }


def _service_connect_calls(items: Mapping[str, Resource]) -> dict[tuple[str, str], str]:
    """(client service, server service) -> edge label, for each server port a client may call.

    A server publishes ports (``ServiceConnectConfiguration.Services``); the client is any
    other Service Connect service whose security group an ingress rule of the server's group
    admits on the port its proxy listens on (the container port of the named port mapping,
    or ``IngressPortOverride``); ports that are not literal numbers are not compared.
    """
    groups = {
        logical_id: {group for group, _ in references(_awsvpc(resource).get("SecurityGroups"))}
        for logical_id, resource in items.items()
        if resource["Type"] == "AWS::ECS::Service"
        and render(_connect(resource).get("Enabled")) == "true"
    }
    rules = security_group_rules(items)
    calls: dict[tuple[str, str], set[str]] = {}
    for server in groups:
        for published in _connect(items[server]).get("Services", []):
            if not isinstance(published, dict):
                continue
            port = published.get("IngressPortOverride", _container_port(items, server, published))
            admitted = {
                source
                for group in groups[server]
                for direction, rule in rules.get(group, [])
                if direction == "ingress" and _covers(rule, port)
                for source, _ in references(rule.get("SourceSecurityGroupId"))
            }
            for client, client_groups in groups.items():
                if client != server and client_groups & admitted:
                    calls.setdefault((client, server), set()).add(_published_name(published))
    return {pair: "Service Connect " + ", ".join(sorted(names)) for pair, names in calls.items()}


def _connect(service: Resource) -> dict[str, Any]:
    config = service.get("Properties", {}).get("ServiceConnectConfiguration")
    return config if isinstance(config, dict) else {}


def _awsvpc(service: Resource) -> dict[str, Any]:
    network = service.get("Properties", {}).get("NetworkConfiguration", {})
    config = network.get("AwsvpcConfiguration") if isinstance(network, dict) else None
    return config if isinstance(config, dict) else {}


def _container_port(
    items: Mapping[str, Resource], service: str, published: Mapping[str, Any]
) -> Any:
    """The container port of the port mapping the published entry names, or None."""
    task_definition = items[service].get("Properties", {}).get("TaskDefinition")
    for target, _ in references(task_definition):
        properties = items.get(target, {}).get("Properties", {})
        for container in properties.get("ContainerDefinitions", []):
            for mapping in container.get("PortMappings", []):
                if mapping.get("Name") == published.get("PortName"):
                    return mapping.get("ContainerPort")
    return None


def _covers(rule: Mapping[str, Any], port: Any) -> bool:
    """Whether ``rule`` admits TCP ``port``."""
    protocol = str(rule.get("IpProtocol", "-1")).lower()
    if protocol in ("-1", "all"):
        return True
    low, high = rule.get("FromPort"), rule.get("ToPort")
    literal = all(isinstance(value, int) for value in (port, low, high))
    return protocol in ("tcp", "6") and (not literal or low <= port <= high)


def _published_name(published: Mapping[str, Any]) -> str:
    """How clients call a published port: the first client alias's ``name:port``."""
    alias = (published.get("ClientAliases") or [{}])[0]
    name = render(
        alias.get("DnsName") or published.get("DiscoveryName") or published.get("PortName")
    )
    return f"{name}:{render(alias['Port'])}" if "Port" in alias else name


def _orient(edge: tuple[str, str], nodes: Mapping[str, tuple[Kind, list[str]]]) -> tuple[str, str]:
    source, target = edge
    if nodes[target][0].rank < nodes[source][0].rank:
        return target, source
    return source, target


def _label(kind: Kind, members: Sequence[tuple[str, dict[str, Any]]]) -> str:
    if kind.folded:
        if members[0][1]["Type"] == "AWS::EC2::VPCEndpoint":
            services = sorted(_endpoint_service(resource) for _, resource in members)
            return f"{kind.label}<br/>{', '.join(services)}"
        if len(members) == 1:
            logical_id, resource = members[0]
            return f"{kind.label.removesuffix('s')}<br/>{_name(logical_id, resource)}"
        return f"{kind.label} x{len(members)}"
    logical_id, resource = members[0]
    detail = _detail(resource)
    name = _name(logical_id, resource)
    parts = [kind.label] + ([name] if name != kind.label else []) + ([detail] if detail else [])
    return "<br/>".join(parts)


def _name(logical_id: str, resource: dict[str, Any]) -> str:
    path = cdk_path(resource)
    if path:
        parts = [part for part in path.split("/")[1:] if part not in ("Resource", "Default")]
        if parts:
            return "/".join(parts)
    return short_id(logical_id)


def _detail(resource: dict[str, Any]) -> str:
    properties = resource.get("Properties", {})
    kind = resource["Type"]
    if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
        return str(properties.get("Scheme", "internet-facing"))
    if kind == "AWS::ElasticLoadBalancingV2::Listener":
        return f"{properties.get('Protocol', '')}:{properties.get('Port', '')}"
    if kind == "AWS::ElasticLoadBalancingV2::TargetGroup":
        return f"{properties.get('Protocol', '')}:{properties.get('Port', '')}"
    if kind == "AWS::ECS::TaskDefinition" and "Cpu" in properties:
        return f"{properties['Cpu']} CPU / {properties.get('Memory', '?')} MiB"
    if kind == "AWS::Logs::LogGroup" and isinstance(properties.get("LogGroupName"), str):
        return str(properties["LogGroupName"])
    if kind.startswith("AWS::ServiceDiscovery::") and isinstance(properties.get("Name"), str):
        return str(properties["Name"])
    return ""


def _endpoint_service(resource: dict[str, Any]) -> str:
    name = render(resource.get("Properties", {}).get("ServiceName", ""))
    match = re.search(r"\.(?:[a-z]{2}(?:-[a-z]+)+-\d|\$\{AWS::Region\})\.(.+)$", name)
    return match.group(1) if match else name.rsplit(".", 1)[-1]


def _node_id(text: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9]", "_", text)


def _escape(label: str) -> str:
    return label.replace('"', "#quot;")


# --- README block --------------------------------------------------------------------------


def readme_block(diagrams: Mapping[str, str]) -> str:
    """The Markdown between the README's diagram markers: one diagram per stack."""
    parts = []
    for name, source in diagrams.items():
        parts += [f"**{name}**", "", "```mermaid", source.rstrip(), "```", ""]
    return "\n".join(parts)


def update_readme(readme: Path, diagrams: Mapping[str, str]) -> bool:
    """Rewrite the block between the diagram markers of ``readme``; True if it changed."""
    return replace_block(readme, README_START, README_END, readme_block(diagrams))
