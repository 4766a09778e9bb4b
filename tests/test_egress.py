"""Egress by domain (EgressFirewall, SecureVpc(egress=...)): each guarantee in the template, and
every class of bad domain refused before anything is built."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest

from ecs_patterns_plus import EgressFirewall, EgressOptions, SecureVpc, ValidationError
from tests.scenarios.common import existing_vpc
from tests.synth import Synthesized
from tests.util import logical_id, resources_of, stack_for_errors

BLOCK = "EgressBlock"
ALERT = "EgressAlert"


def _path_id(synth: Synthesized, stack: str, path: str) -> str:
    """The logical id of the L1 resource whose construct path is ``<stack>/<path>``."""
    (found,) = [
        key
        for key, resource in synth.template_json(stack)["Resources"].items()
        if resource.get("Metadata", {}).get("aws:cdk:path") == f"{stack}/{path}"
    ]
    return found


def _properties(synth: Synthesized, stack: str, path: str) -> dict[str, Any]:
    resources = synth.template_json(stack)["Resources"]
    return resources[_path_id(synth, stack, path)]["Properties"]  # type: ignore[no-any-return]


def _rules(synth: Synthesized, stack: str, firewall: str) -> list[dict[str, Any]]:
    """The rule group's rules in evaluation order (lowest priority first)."""
    rules = _properties(synth, stack, f"{firewall}/RuleGroup")["FirewallRules"]
    return sorted(rules, key=lambda rule: rule["Priority"])


def _list_of(synth: Synthesized, stack: str, rule: dict[str, Any]) -> list[Any]:
    """The domains of the list a rule matches."""
    list_id = rule["FirewallDomainListId"]["Fn::GetAtt"][0]
    return synth.template_json(stack)["Resources"][list_id]["Properties"]["Domains"]  # type: ignore[no-any-return]


@pytest.mark.scenarios(BLOCK)
def test_allowed_names_come_first_then_every_other_name_is_blocked(
    scenarios: Synthesized,
) -> None:
    aws, allowed, others = _rules(scenarios, BLOCK, "Network/Egress")
    assert (aws["Action"], allowed["Action"]) == ("ALLOW", "ALLOW")
    assert _list_of(scenarios, BLOCK, allowed) == ["api.stripe.com", "github.com", "*.github.com"]
    assert _list_of(scenarios, BLOCK, others) == ["*"]
    assert {key: others[key] for key in ("Action", "BlockResponse")} == {
        "Action": "BLOCK",
        "BlockResponse": "NODATA",
    }


@pytest.mark.scenarios(BLOCK)
def test_allowed_names_trust_their_cname_chain(scenarios: Synthesized) -> None:
    """An allowed API behind a CDN resolves: the CDN's names are not inspected again."""
    aws, allowed, others = _rules(scenarios, BLOCK, "Network/Egress")
    assert aws["FirewallDomainRedirectionAction"] == "TRUST_REDIRECTION_DOMAIN"
    assert allowed["FirewallDomainRedirectionAction"] == "TRUST_REDIRECTION_DOMAIN"
    assert "FirewallDomainRedirectionAction" not in others


@pytest.mark.scenarios(BLOCK)
def test_aws_names_the_tasks_need_are_always_allowed(scenarios: Synthesized) -> None:
    aws = _rules(scenarios, BLOCK, "Network/Egress")[0]
    domains = _list_of(scenarios, BLOCK, aws)
    suffix = {"Ref": "AWS::URLSuffix"}
    assert {"Fn::Join": ["", ["*.ap-northeast-2.", suffix]]} in domains  # every regional API
    assert {
        "Fn::Join": ["", ["prod-ap-northeast-2-starport-layer-bucket.s3.", suffix]]
    } in domains  # ECR layers by their global S3 name
    for name in ("public.ecr.aws", "d2glxqk2uabbnd.cloudfront.net", "*.compute.internal"):
        assert name in domains
    assert "*.cloudfront.net" not in domains and "*" not in domains


@pytest.mark.scenarios(BLOCK)
def test_rule_group_is_associated_with_the_vpc_last(scenarios: Synthesized) -> None:
    association = _properties(scenarios, BLOCK, "Network/Egress/Association")
    assert association == {
        "FirewallRuleGroupId": {
            "Fn::GetAtt": [_path_id(scenarios, BLOCK, "Network/Egress/RuleGroup"), "Id"]
        },
        "Priority": 9900,
        "VpcId": {"Ref": logical_id(scenarios, BLOCK, "Network/Vpc")},
    }


@pytest.mark.scenarios(BLOCK)
def test_queries_are_logged_to_an_encrypted_group_kept_as_long_as_flow_logs(
    scenarios: Synthesized,
) -> None:
    groups = resources_of(scenarios, BLOCK, "AWS::Logs::LogGroup")
    query_group = logical_id(scenarios, BLOCK, "Network/Egress/QueryLogGroup")
    flow_group = logical_id(scenarios, BLOCK, "Network/FlowLogGroup")
    group = groups[query_group]
    assert group["DeletionPolicy"] == group["UpdateReplacePolicy"] == "Retain"
    assert group["Properties"]["KmsKeyId"] == {
        "Fn::GetAtt": [logical_id(scenarios, BLOCK, "EcsPatternsPlus/Key"), "Arn"]
    }
    assert group["Properties"]["RetentionInDays"] == 731
    assert groups[flow_group]["Properties"]["RetentionInDays"] == 731
    assert group["Properties"]["LogGroupName"].startswith("/aws/vendedlogs/route53resolver/")
    config = _properties(scenarios, BLOCK, "Network/Egress/QueryLogging")
    assert {"Ref": query_group} in config["DestinationArn"]["Fn::Join"][1]
    association = _properties(scenarios, BLOCK, "Network/Egress/QueryLoggingAssociation")
    assert association == {
        "ResolverQueryLogConfigId": {
            "Fn::GetAtt": [_path_id(scenarios, BLOCK, "Network/Egress/QueryLogging"), "Id"]
        },
        "ResourceId": {"Ref": logical_id(scenarios, BLOCK, "Network/Vpc")},
    }


@pytest.mark.scenarios(ALERT)
def test_alert_resolves_every_name_and_logs_the_others(scenarios: Synthesized) -> None:
    *allowed, others = _rules(scenarios, ALERT, "Egress")
    assert [rule["Action"] for rule in allowed] == ["ALLOW", "ALLOW"]
    assert others["Action"] == "ALERT" and "BlockResponse" not in others
    assert _list_of(scenarios, ALERT, others) == ["*"]
    association = _properties(scenarios, ALERT, "Egress/Association")
    assert (association["VpcId"], association["Priority"]) == ("vpc-0a1b2c3d4e5f67890", 5000)
    group = resources_of(scenarios, ALERT, "AWS::Logs::LogGroup")
    assert [g["Properties"]["RetentionInDays"] for g in group.values()] == [365]


# --- Bad input ---------------------------------------------------------------------------------

BAD_DOMAINS = [
    ("-api.example.com", "none starting or ending with a hyphen"),
    ("api-.example.com", "none starting or ending with a hyphen"),
    ("api_v2.example.com", "letters, digits and hyphens"),
    ("api..example.com", "labels of 1-63"),
    (f"{'a' * 64}.example.com", "labels of 1-63"),
    (".".join(["a" * 60] * 5), "at most 253"),
    ("example.com.", "must not end with a dot"),
    ("*example.com", "'*' only as its whole first label"),
    ("api.*.example.com", "'*' only as its whole first label"),
    ("**.example.com", "'*' only as its whole first label"),
    ("https://api.example.com", "not a URL"),
    ("api.example.com:443", "not a URL or host:port"),
    ("", "without spaces"),
    (" api.example.com", "without spaces"),
    ("10.0.0.1", "is an IP address"),
    ("2001:db8::1", "is an IP address"),
    ("*", "turns the firewall off"),
    ("*.com", "a whole top-level domain"),
]


@pytest.mark.parametrize(("domain", "fragment"), BAD_DOMAINS)
def test_invalid_domains_are_refused(domain: str, fragment: str) -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as error:
        EgressFirewall(
            stack,
            "Egress",
            vpc=existing_vpc(stack),
            options=EgressOptions(allowed_domains=["api.stripe.com", domain]),
        )
    (problem,) = error.value.problems
    assert problem.startswith("options.allowed_domains[1]: ")
    assert fragment in problem
    assert stack.node.try_find_child("Egress") is None


def test_secure_vpc_reports_egress_problems_before_building_anything() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError) as error:
        SecureVpc(
            stack,
            "Network",
            egress=EgressOptions(
                allowed_domains=["api.example.com", "API.example.com"],
                action="DENY",
                block_response="OVERRIDE",
                log_retention=42,
                priority=50,
            ),
        )
    assert sorted(problem.split(":")[0] for problem in error.value.problems) == [
        "egress.action",
        "egress.allowed_domains[1]",
        "egress.block_response",
        "egress.log_retention",
        "egress.priority",
    ]
    message = str(error.value)
    assert "repeats egress.allowed_domains[0] (names are case-insensitive)" in message
    assert "must be between 100 and 9900" in message
    assert stack.node.try_find_child("Network") is None


def test_more_domains_than_one_list_takes_are_refused() -> None:
    stack = stack_for_errors()
    domains = [f"host{index}.example.com" for index in range(1001)]
    with pytest.raises(ValidationError, match=r"allowed_domains: holds more domains than the 1000"):
        EgressFirewall(
            stack, "Egress", vpc=existing_vpc(stack), options=EgressOptions(allowed_domains=domains)
        )


def test_allowed_domains_must_be_a_list() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError, match=r"options.allowed_domains: expected a list of str"):
        EgressFirewall(
            stack,
            "Egress",
            vpc=existing_vpc(stack),
            options=EgressOptions(allowed_domains="api.example.com"),  # type: ignore[arg-type]
        )


def test_valid_edge_cases_are_accepted() -> None:
    """AWS names only (no allowed domain) with BLOCK, the longest label, a single-label name,
    punycode, upper case, NXDOMAIN, the priority bounds and a retention in days."""
    stack = stack_for_errors()
    vpc = existing_vpc(stack)
    only_aws = EgressFirewall(stack, "OnlyAws", vpc=vpc)
    assert only_aws.allowed_domain_list is None
    EgressFirewall(
        stack,
        "Edges",
        vpc=vpc,
        options=EgressOptions(
            allowed_domains=[
                f"{'a' * 63}.example.com",
                "intranet",
                "xn--bcher-kva.example",
                "API.Example.COM",
            ],
            block_response="NXDOMAIN",
            priority=100,
            log_retention=731,
        ),
    )
    SecureVpc(stack, "Vpc", egress=EgressOptions(priority=9900, allowed_domains=[]))


def test_tokens_are_accepted() -> None:
    """A domain from a parameter, a whole list from a parameter, a parameter for the action."""
    stack = stack_for_errors()
    vpc = existing_vpc(stack)
    domain = cdk.CfnParameter(stack, "PartnerDomain").value_as_string
    domains = cdk.CfnParameter(stack, "Domains", type="CommaDelimitedList").value_as_list
    action = cdk.CfnParameter(stack, "Action").value_as_string
    EgressFirewall(
        stack, "One", vpc=vpc, options=EgressOptions(allowed_domains=[domain, "api.example.com"])
    )
    whole = EgressFirewall(
        stack,
        "Whole",
        vpc=vpc,
        options=EgressOptions(allowed_domains=domains, action=action, priority=200),
    )
    resolved = stack.resolve(whole.allowed_domain_list.domains)  # type: ignore[union-attr]
    assert resolved == {"Ref": "Domains"}
    rules = stack.resolve(whole.rule_group.firewall_rules)
    assert rules[-1]["action"] == {"Ref": "Action"}
    assert rules[-1]["blockResponse"] == "NODATA"  # in case the parameter says BLOCK
