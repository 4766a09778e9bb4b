"""Egress by domain: a Route 53 Resolver DNS Firewall that lets a VPC resolve only the names
its services need, and logs its DNS queries.

Relied on (Route 53 developer guide and API reference): DNS Firewall evaluates a VPC's rule
groups by association priority (100 to 9900) and each group's rules by priority, and stops at the
first rule whose domain list matches; ``*`` matches every name, ``*.example.com`` the names under
``example.com`` (AWS's walled-garden example lists ``example.com`` itself too); a domain
specification is letters, digits and hyphens in dot-separated labels, optionally after a leading
``*``; the API that writes a domain list's domains takes at most 1,000 per request; BLOCK answers
NODATA, NXDOMAIN or an override; an allow rule can trust the CNAME chain of the names it allows;
query logs go to CloudWatch Logs through vended-log delivery; Resolver fails closed by default.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53resolver as resolver
from constructs import Construct

from . import defaults
from .encryption import stack_key
from .errors import Problems, checked, is_token
from .retention import Retention, check_retention, retained_log_group

ACTIONS = ("BLOCK", "ALERT")
"""What happens to a name that is not allowed."""
BLOCK_RESPONSES = ("NODATA", "NXDOMAIN")
"""How a blocked name is answered (OVERRIDE, a CNAME of one's own, is not offered)."""
MAX_DOMAINS = 1000
"""Domains a list may hold here: CloudFormation writes them in one request, and the API that
writes a domain list's domains takes at most 1,000 per request."""
PRIORITY_RANGE = (100, 9900)
"""Rule-group association priorities AWS allows."""

_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
"""One DNS label: 1-63 letters, digits and hyphens, not starting or ending with a hyphen."""
_MAX_NAME = 253
"""A DNS name's length, written without its final dot."""
_LIST_TOKEN = "#{Token["
"""How CDK marks a list token (``CfnParameter.value_as_list``) inside its one-item list."""

_AWS_RULE, _ALLOWED_RULE, _OTHERS_RULE = 100, 200, 300
"""Rule priorities in the group: the AWS names, the allowed names, then every other name."""


@dataclass(frozen=True, kw_only=True)
class EgressOptions:
    """Which names a VPC may resolve: the AWS names its tasks need, plus ``allowed_domains``.

    Args:
        allowed_domains: the names the services need beyond AWS, e.g. ``api.stripe.com`` or
            ``*.github.com`` (a leading ``*.`` matches the names under it; list the name itself
            too, as AWS's own example does). Tokens are accepted, one per item or a whole list
            (``CfnParameter.value_as_list``). At most 1,000. Default: none, which is valid: the
            services then reach AWS only (``defaults.EGRESS_AWS_DOMAINS`` are always allowed).
        action: what happens to every other name: ``"BLOCK"``, or ``"ALERT"`` to resolve and
            only log it (try a list in ALERT first). Default: ``"BLOCK"``.
        block_response: the answer to a blocked name: ``"NODATA"`` or ``"NXDOMAIN"``.
            Default: ``"NODATA"``.
        log_retention: how long the DNS query logs are kept: ``logs.RetentionDays`` or days.
            Default: on ``SecureVpc``, the flow logs' retention; otherwise one year.
        priority: the rule group's association priority among the VPC's rule groups, 100 to
            9900 and unique per VPC; lower runs first. Default: 9900 (last: this group ends
            with a rule matching every name).
    """

    allowed_domains: Sequence[str] = ()
    action: str = defaults.EGRESS_ACTION
    block_response: str = defaults.EGRESS_BLOCK_RESPONSE
    log_retention: Retention | None = None
    priority: int = defaults.EGRESS_RULE_GROUP_PRIORITY

    def validate(self, problems: Problems, argument: str) -> None:
        """Record problems with these options under ``argument`` (e.g. ``egress``)."""
        check_domains(problems, f"{argument}.allowed_domains", self.allowed_domains)
        problems.require(
            is_token(self.action) or self.action in ACTIONS,
            f"{argument}.action",
            f"must be one of {', '.join(ACTIONS)}",
            self.action,
            'pass "BLOCK", or "ALERT" to log the names a block would stop',
        )
        problems.require(
            is_token(self.block_response) or self.block_response in BLOCK_RESPONSES,
            f"{argument}.block_response",
            f"must be one of {', '.join(BLOCK_RESPONSES)}",
            self.block_response,
            'pass "NODATA" (an empty answer) or "NXDOMAIN" (no such name)',
        )
        if self.log_retention is not None:
            check_retention(problems, f"{argument}.log_retention", self.log_retention)
        problems.in_range(f"{argument}.priority", self.priority, *PRIORITY_RANGE)


def is_list_token(domains: Sequence[str]) -> bool:
    """True when ``domains`` is a whole list token (one encoded item)."""
    return len(domains) == 1 and isinstance(domains[0], str) and _LIST_TOKEN in domains[0]


def check_domains(problems: Problems, argument: str, domains: Sequence[str]) -> None:
    """Record a problem for each item of ``domains`` that DNS Firewall would refuse or that
    would defeat the list, for duplicates, and for more than ``MAX_DOMAINS`` (tokens pass)."""
    if is_list_token(domains):
        return
    problems.require(
        len(domains) <= MAX_DOMAINS,
        argument,
        f"holds more domains than the {MAX_DOMAINS} a domain list written by CloudFormation takes",
        len(domains),
        "allow a parent with a wildcard (*.example.com) instead of its names one by one",
    )
    seen: dict[str, int] = {}
    for index, domain in enumerate(domains):
        item = f"{argument}[{index}]"
        if is_token(domain):
            continue
        problem = _domain_problem(domain)
        if problem is not None:
            problems.add(item, problem[0], domain, problem[1])
            continue
        key = domain.lower()
        if key in seen:
            problems.add(
                item,
                f"repeats {argument}[{seen[key]}] (names are case-insensitive)",
                domain,
                "list each name once",
            )
        else:
            seen[key] = index


def _domain_problem(domain: str) -> tuple[str, str] | None:
    """What is wrong with one literal domain specification, and how to fix it, or None."""
    example = "e.g. 'api.example.com' or '*.example.com'"
    if _LIST_TOKEN in domain:
        return "is a list token among other items", "pass the list token as the whole list"
    if not domain or domain != domain.strip():
        return "must be a DNS name without spaces", example
    try:
        ipaddress.ip_address(domain)
    except ValueError:
        pass
    else:
        return (
            "is an IP address: DNS Firewall filters names and cannot allow or block addresses",
            "allow the name the service uses; addresses are reached without DNS",
        )
    if "://" in domain or "/" in domain or ":" in domain:
        return "must be a DNS name, not a URL or host:port", f"write the host name only, {example}"
    if domain == "*":
        return (
            "allows every name, which turns the firewall off",
            'set action="ALERT" to resolve every name and log the ones not allowed',
        )
    name = domain[2:] if domain.startswith("*.") else domain
    if name.endswith("."):
        return "must not end with a dot", f"write {name.rstrip('.')!r}"
    if len(name) > _MAX_NAME:
        return f"is {len(name)} characters long; a DNS name has at most {_MAX_NAME}", example
    labels = name.split(".")
    if "*" in name:
        return "may use '*' only as its whole first label, '*.'", example
    if any(not _LABEL.match(label) for label in labels):
        return (
            "must be dot-separated labels of 1-63 letters, digits and hyphens, none starting "
            "or ending with a hyphen",
            example,
        )
    if domain.startswith("*.") and len(labels) == 1:
        return (
            "allows a whole top-level domain",
            f"allow the names the service uses under it, e.g. '*.example.{name}'",
        )
    return None


def aws_domains(scope: Construct) -> list[str]:
    """``defaults.EGRESS_AWS_DOMAINS`` for the stack of ``scope`` (its region and URL suffix,
    tokens in an environment-agnostic stack)."""
    stack = cdk.Stack.of(scope)
    region, suffix = stack.region, stack.url_suffix
    return [
        template.format(region=region, suffix=suffix) for template in defaults.EGRESS_AWS_DOMAINS
    ]


class EgressFirewall(Construct):
    """A DNS Firewall on ``vpc``: the AWS names and ``allowed_domains`` resolve, every other
    name is blocked (or alerted on), and the VPC's DNS queries are logged.

    One rule group, associated with the VPC, with three rules in order: allow the AWS names
    (``defaults.EGRESS_AWS_DOMAINS``), allow the given names, then BLOCK or ALERT ``*``. Allowed
    names' CNAME chains are trusted. Query logs go to a KMS-encrypted, retained log group.
    Resolver's default fail mode applies: if DNS Firewall does not answer, the query fails.

    Args:
        vpc: the VPC whose DNS queries are filtered.
        options: the allowed names and what happens to the rest. Default: ``EgressOptions()``,
            the AWS names only, every other name blocked.
        encryption_key: KMS key of the query-log group. Default: the stack's shared key.

    Attributes:
        vpc, rule_group, association, log_group, query_log_config, query_log_association;
        aws_domain_list, allowed_domain_list (``None`` without allowed domains),
        other_domain_list (``*``).
    """

    @checked
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        options: EgressOptions | None = None,
        encryption_key: kms.IKey | None = None,
    ) -> None:
        options = EgressOptions() if options is None else options
        problems = Problems(scope, construct_id)
        options.validate(problems, "options")
        problems.raise_if_any()
        super().__init__(scope, construct_id)

        self.vpc = vpc
        self.aws_domain_list = resolver.CfnFirewallDomainList(
            self, "AwsDomains", domains=aws_domains(self)
        )
        self.allowed_domain_list = (
            resolver.CfnFirewallDomainList(
                self, "AllowedDomains", domains=list(options.allowed_domains)
            )
            if options.allowed_domains
            else None
        )
        self.other_domain_list = resolver.CfnFirewallDomainList(self, "OtherDomains", domains=["*"])
        rules = [self._allow(self.aws_domain_list, _AWS_RULE)]
        if self.allowed_domain_list is not None:
            rules.append(self._allow(self.allowed_domain_list, _ALLOWED_RULE))
        rules.append(
            resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
                action=options.action,
                # A token action may turn out BLOCK, which requires a response.
                block_response=None if options.action == "ALERT" else options.block_response,
                firewall_domain_list_id=self.other_domain_list.attr_id,
                priority=_OTHERS_RULE,
            )
        )
        self.rule_group = resolver.CfnFirewallRuleGroup(self, "RuleGroup", firewall_rules=rules)
        self.association = resolver.CfnFirewallRuleGroupAssociation(
            self,
            "Association",
            firewall_rule_group_id=self.rule_group.attr_id,
            vpc_id=vpc.vpc_id,
            priority=options.priority,
        )

        self.log_group = retained_log_group(
            self,
            "QueryLogGroup",
            key=encryption_key or stack_key(self),
            retention=defaults.LOG_RETENTION
            if options.log_retention is None
            else options.log_retention,
            log_group_name=defaults.EGRESS_LOG_GROUP_PREFIX
            + cdk.Names.unique_resource_name(self, max_length=80),
        )
        self.query_log_config = resolver.CfnResolverQueryLoggingConfig(
            self,
            "QueryLogging",
            destination_arn=cdk.Stack.of(self).format_arn(
                service="logs",
                resource="log-group",
                resource_name=self.log_group.log_group_name,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            ),
        )
        self.query_log_association = resolver.CfnResolverQueryLoggingConfigAssociation(
            self,
            "QueryLoggingAssociation",
            resolver_query_log_config_id=self.query_log_config.attr_id,
            resource_id=vpc.vpc_id,
        )

    @staticmethod
    def _allow(
        domains: resolver.CfnFirewallDomainList, priority: int
    ) -> resolver.CfnFirewallRuleGroup.FirewallRuleProperty:
        return resolver.CfnFirewallRuleGroup.FirewallRuleProperty(
            action="ALLOW",
            firewall_domain_list_id=domains.attr_id,
            firewall_domain_redirection_action=defaults.EGRESS_REDIRECTION,
            priority=priority,
        )
