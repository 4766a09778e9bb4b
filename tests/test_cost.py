"""The monthly estimate: exact figures for small hand-written templates, the price table, the
command, the Fargate/EC2 comparison and the cost section of the review report.

Most figures use a small price table with round prices (``TABLE``), so that every expected
number can be checked by hand; the arithmetic is in the comment beside it. Nothing here
synthesizes.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ecs_patterns_plus import defaults
from ecs_patterns_plus.cost import (
    Assumptions,
    compare,
    cost_delta,
    estimate,
    load_prices,
    resolve_region,
    runs_per_month,
)
from ecs_patterns_plus.cost.__main__ import main
from ecs_patterns_plus.cost.prices import parse_table
from ecs_patterns_plus.money import money_range
from ecs_patterns_plus.review import Report, load_templates, render_markdown, review
from ecs_patterns_plus.review.__main__ import main as review_main
from ecs_patterns_plus.review.schemas import SCHEMA_REGIONS

SNAPSHOTS = Path(__file__).parent / "__snapshots__" / "test_snapshots"
README = Path(__file__).parent.parent / "README.md"
REGION = "test-region-1"


def _price(usd: float, per: str = "unit") -> dict[str, Any]:
    return {"usd": usd, "per": per, "date": "2026-11-30", "source": "https://example.com/"}


TABLE = parse_table(
    {
        "regions": {
            REGION: {
                "fargate_vcpu_hour": _price(0.04),
                "fargate_gb_hour": _price(0.004),
                "fargate_arm_vcpu_hour": _price(0.03),
                "fargate_arm_gb_hour": _price(0.003),
                "alb_hour": _price(0.02),
                "alb_lcu_hour": _price(0.01),
                "nlb_hour": _price(0.02),
                "nlb_lcu_hour": _price(0.005),
                "nat_gateway_hour": _price(0.05),
                "nat_gateway_gb": _price(0.05),
                "interface_endpoint_az_hour": _price(0.01),
                "interface_endpoint_gb": _price(0.01),
                "public_ipv4_hour": _price(0.005),
                "kms_key_month": _price(1.0),
                "kms_request": _price(0.000003),
                "secret_month": _price(0.4),
                "waf_web_acl_month": _price(5.0),
                "waf_rule_month": _price(1.0),
                "waf_million_requests": _price(0.6),
                "alarm_metric_month": _price(0.1),
                "high_resolution_alarm_metric_month": _price(0.3),
                "composite_alarm_month": _price(0.5),
                "dashboard_month": _price(3.0),
                "custom_metric_month": _price(0.3),
                "logs_ingest_gb": _price(0.5),
                "logs_storage_gb_month": _price(0.03),
                "ebs_gp3_gb_month": _price(0.08),
                "ec2:m6i.large": _price(0.05),
            }
        },
        "instance_types": {
            "m6i.large": {
                "vcpu": 2,
                "memory_gib": 8,
                "enis": 3,
                "trunk_enis": 10,
                "architecture": "x86_64",
                "gpus": 0,
            }
        },
    }
)


def task_definition(cpu: int, memory: int, *, arm: bool = False, log_group: str = "") -> dict:
    container: dict[str, Any] = {"Name": "app", "Image": "app@sha256:0"}
    if log_group:
        container["LogConfiguration"] = {
            "LogDriver": "awslogs",
            "Options": {"awslogs-group": {"Ref": log_group}},
        }
    props: dict[str, Any] = {
        "Cpu": str(cpu),
        "Memory": str(memory),
        "ContainerDefinitions": [container],
        "RequiresCompatibilities": ["FARGATE"],
    }
    if arm:
        props["RuntimePlatform"] = {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}
    return {"Type": "AWS::ECS::TaskDefinition", "Properties": props}


def service(definition: str, **props: Any) -> dict:
    return {
        "Type": "AWS::ECS::Service",
        "Properties": {
            "Cluster": {"Ref": "Cluster"},
            "TaskDefinition": {"Ref": definition},
            **props,
        },
    }


def scalable_target(service_id: str, low: int, high: int) -> dict:
    return {
        "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
        "Properties": {
            "MinCapacity": low,
            "MaxCapacity": high,
            "ScalableDimension": "ecs:service:DesiredCount",
            "ServiceNamespace": "ecs",
            "ResourceId": {"Fn::Join": ["", ["service/", {"Fn::GetAtt": [service_id, "Name"]}]]},
        },
    }


def compute_template() -> dict:
    """A cluster with Container Insights, an ARM web service on Fargate and Fargate Spot
    (2 to 6 tasks), a daily job on Fargate Spot and a service on EC2 Spot capacity."""
    return {
        "Resources": {
            "Cluster": {
                "Type": "AWS::ECS::Cluster",
                "Properties": {
                    "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]
                },
            },
            "WebTask": task_definition(512, 1024, arm=True, log_group="WebLogs"),
            "WebLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
            "Web": service(
                "WebTask",
                CapacityProviderStrategy=[
                    {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
                    {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
                ],
            ),
            "WebTarget": scalable_target("Web", 2, 6),
            "ReportTask": task_definition(256, 512),
            "Report": {
                "Type": "AWS::Scheduler::Schedule",
                "Properties": {
                    "ScheduleExpression": "cron(0 3 * * ? *)",
                    "State": "ENABLED",
                    "FlexibleTimeWindow": {"Mode": "OFF"},
                    "Target": {
                        "Arn": {"Fn::GetAtt": ["Cluster", "Arn"]},
                        "RoleArn": "arn:aws:iam::111122223333:role/scheduler",
                        "EcsParameters": {
                            "TaskDefinitionArn": {"Ref": "ReportTask"},
                            "TaskCount": 2,
                            "CapacityProviderStrategy": [
                                {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}
                            ],
                        },
                    },
                },
            },
            "Template": {
                "Type": "AWS::EC2::LaunchTemplate",
                "Properties": {
                    "LaunchTemplateData": {
                        "BlockDeviceMappings": [
                            {
                                "DeviceName": "/dev/xvda",
                                "Ebs": {"VolumeSize": 30, "VolumeType": "gp3"},
                            }
                        ]
                    }
                },
            },
            "Group": {
                "Type": "AWS::AutoScaling::AutoScalingGroup",
                "Properties": {
                    "MinSize": "0",
                    "MaxSize": "4",
                    "MixedInstancesPolicy": {
                        "InstancesDistribution": {
                            "OnDemandBaseCapacity": 0,
                            "OnDemandPercentageAboveBaseCapacity": 0,
                        },
                        "LaunchTemplate": {
                            "LaunchTemplateSpecification": {
                                "LaunchTemplateId": {"Ref": "Template"}
                            },
                            "Overrides": [{"InstanceType": "m6i.large"}],
                        },
                    },
                },
            },
            "Provider": {
                "Type": "AWS::ECS::CapacityProvider",
                "Properties": {
                    "AutoScalingGroupProvider": {"AutoScalingGroupArn": {"Ref": "Group"}}
                },
            },
            "WorkerTask": {
                **task_definition(512, 1024),
                "Properties": {
                    **task_definition(512, 1024)["Properties"],
                    "RequiresCompatibilities": ["EC2"],
                },
            },
            "Worker": service(
                "WorkerTask",
                DesiredCount=3,
                CapacityProviderStrategy=[{"CapacityProvider": {"Ref": "Provider"}, "Weight": 1}],
            ),
        }
    }


def line(result: Any, resource: str, resource_class: str | None = None) -> tuple[float, float]:
    (item,) = [
        i
        for i in result.items
        if i.resource == resource and (resource_class is None or i.resource_class == resource_class)
    ]
    return (item.monthly_min, item.monthly_max)


def approx(low: float, high: float | None = None) -> Any:
    return pytest.approx((low, low if high is None else high), abs=1e-6)


# --- Compute ---------------------------------------------------------------------------------


def test_fargate_service_costs_at_min_and_max_tasks_with_arm_and_spot_rates() -> None:
    result = estimate({"App": compute_template()}, region=REGION, table=TABLE)
    # ARM task: 0.5 vCPU x 0.03 + 1 GB x 0.003 = 0.018 an hour; x 730 h = 13.14 a task-month.
    # 2 tasks: base 1 on FARGATE, the other split 1:3 -> FARGATE 1.25, SPOT 0.75;
    #   1.25 + 0.75 x (1 - 0.7) = 1.475 task-months x 13.14 = 19.3815
    # 6 tasks: FARGATE 1 + 5/4 = 2.25, SPOT 3.75 -> 2.25 + 1.125 = 3.375 x 13.14 = 44.3475
    assert line(result, "Web", "Fargate tasks") == approx(19.3815, 44.3475)


def test_scheduled_job_costs_its_runs() -> None:
    result = estimate({"App": compute_template()}, region=REGION, table=TABLE)
    # x86 task: 0.25 x 0.04 + 0.5 x 0.004 = 0.012 an hour; daily: 730 / 24 = 30.41667 runs;
    # 2 tasks on Fargate Spot = 0.6 billed; 10 min = 1/6 h:
    # 30.41667 x 0.6 x 1/6 x 0.012 = 0.0365
    assert line(result, "Report", "Fargate tasks") == approx(0.0365)


def test_ec2_capacity_holds_the_tasks_it_is_given_on_spot() -> None:
    result = estimate({"App": compute_template()}, region=REGION, table=TABLE)
    # 0.5 vCPU / 1 GB tasks on m6i.large: by CPU 2048 / 512 = 4, by memory (8192 - 256) / 1024
    # = 7, by network interfaces 3 - 1 = 2 -> 2 a task; 3 tasks -> 2 instances, all Spot:
    # 2 x 0.05 x (1 - 0.7) = 0.03 an hour x 730 = 21.9; root volumes 2 x 30 GiB x 0.08 = 4.8
    assert line(result, "Group", "EC2 capacity") == approx(26.7)
    assert not [
        i for i in result.items if i.resource_class == "Fargate tasks" and i.resource == "Worker"
    ]
    trunking = Assumptions(ec2_eni_trunking=1)
    result = estimate({"App": compute_template()}, region=REGION, table=TABLE, assumptions=trunking)
    # with ENI trunking: min(4, 7, 10) = 4 a instance -> 1 instance: 0.015 x 730 + 2.4 = 13.35
    assert line(result, "Group", "EC2 capacity") == approx(13.35)


def test_container_insights_metrics_and_events() -> None:
    result = estimate({"App": compute_template()}, region=REGION, table=TABLE)
    # cluster: 11 metrics x 0.3 = 3.3
    assert line(result, "Cluster", "Container Insights") == approx(3.3)
    # service: (13 + 8) metrics x 0.3 = 6.3, plus 0.1 GB of events a task x 0.5:
    # 2 tasks -> 6.3 + 0.1 = 6.4; 6 tasks -> 6.3 + 0.3 = 6.6
    assert line(result, "Web", "Container Insights") == approx(6.4, 6.6)
    # job: runs 30.41667 x 10 min = 5.06944 h of 730 -> 8 family metrics x 0.0069444 x 0.3
    # = 0.0166667; events 2 tasks x 0.0069444 x 0.1 GB x 0.5 = 0.00069444 -> 0.0173611
    assert line(result, "Report", "Container Insights") == approx(0.0173611)


def test_task_logs_follow_the_tasks_and_never_expire() -> None:
    result = estimate({"App": compute_template()}, region=REGION, table=TABLE)
    # 1 GB a task-month ingested at 0.5, 12 months kept at 0.03 (no retention):
    # 2 tasks: 2 x 0.5 + 2 x 12 x 0.03 = 1.72; 6 tasks: 3 + 2.16 = 5.16
    assert line(result, "WebLogs", "Logs") == approx(1.72, 5.16)


def test_schedules_run_as_often_as_their_expression_says() -> None:
    day = 730 / 24  # 30.41667 days in a month of 730 hours
    week = day / 7
    assert runs_per_month("cron(0 3 * * ? *)") == pytest.approx(day)
    assert runs_per_month("cron(0 2 ? * SUN *)") == pytest.approx(week)
    assert runs_per_month("cron(0 9 ? * MON-FRI *)") == pytest.approx(5 * week)
    assert runs_per_month("cron(0/15 * * * ? *)") == pytest.approx(4 * 24 * day)
    assert runs_per_month("cron(0 0 1,15 * ? *)") == pytest.approx(2)
    assert runs_per_month("cron(0 0 L * ? *)") == pytest.approx(1)
    assert runs_per_month("cron(0 0 1 JAN,JUL ? *)") == pytest.approx(2 / 12)
    assert runs_per_month("rate(6 hours)") == pytest.approx(730 / 6)
    assert runs_per_month("rate(1 day)") == pytest.approx(day)
    assert runs_per_month("at(2030-01-15T02:30:00)") == 0
    assert runs_per_month("cron(0 3 * *)") is None
    assert runs_per_month("cron(0 99 * * ? *)") is None


# --- Network, security and monitoring ---------------------------------------------------------


def network_template() -> dict:
    subnets = [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]
    return {
        "Resources": {
            "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
            "NatAddress": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
            "EcrApi": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "ServiceName": "com.amazonaws.us-east-1.ecr.api",
                    "VpcEndpointType": "Interface",
                    "SubnetIds": [*subnets, {"Ref": "SubnetC"}],
                },
            },
            "S3": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "ServiceName": "com.amazonaws.us-east-1.s3",
                    "VpcEndpointType": "Gateway",
                },
            },
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            "Secret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
            "Acl": {
                "Type": "AWS::WAFv2::WebACL",
                "Properties": {"Rules": [{"Name": "a"}, {"Name": "b"}, {"Name": "c"}]},
            },
            "Cpu": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"MetricName": "CPUUtilization", "Period": 60},
            },
            "ErrorRate": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "Metrics": [
                        {"Id": "a", "MetricStat": {"Period": 60}},
                        {"Id": "b", "MetricStat": {"Period": 60}},
                        {"Id": "c", "MetricStat": {"Period": 60}},
                        {"Id": "rate", "Expression": "(a + b) / c"},
                    ]
                },
            },
            "Fast": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {"MetricName": "Latency", "Period": 10},
            },
            "Unhealthy": {"Type": "AWS::CloudWatch::CompositeAlarm", "Properties": {}},
            "Board": {"Type": "AWS::CloudWatch::Dashboard", "Properties": {}},
            "Edge": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Scheme": "internet-facing", "Subnets": subnets},
            },
            "Broker": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Type": "network", "Scheme": "internal", "Subnets": subnets},
            },
            "FlowLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
            "Flow": {
                "Type": "AWS::EC2::FlowLog",
                "Properties": {"LogGroupName": {"Ref": "FlowLogs"}, "TrafficType": "ALL"},
            },
        }
    }


@pytest.mark.parametrize(
    ("resource", "resource_class", "expected"),
    [
        ("Nat", "NAT gateways", 37.0),  # 0.05 x 730 + 10 GB x 0.05 = 36.5 + 0.5
        ("NatAddress", "Public IPv4", 3.65),  # 0.005 x 730
        ("ecr.api", "Interface endpoints", 21.91),  # 3 AZ x 730 x 0.01 + 1 GB x 0.01
        ("Key", "KMS keys", 1.3),  # 1 + 100,000 x 0.000003
        ("Secret", "Secrets", 0.4),
        ("Acl", "WAF", 14.0),  # 5 + 3 rules x 1 + 10 M requests x 0.6
        ("Cpu", "Alarms", 0.1),  # one metric
        ("ErrorRate", "Alarms", 0.3),  # metric math: 3 metrics x 0.1
        ("Fast", "Alarms", 0.3),  # high resolution (10 s): 1 x 0.3
        ("Unhealthy", "Alarms", 0.5),  # composite
        ("Board", "Dashboards", 3.0),
        ("Edge", "Load balancers", 21.9),  # 0.02 x 730 + 1 LCU x 0.01 x 730 = 14.6 + 7.3
        ("Edge", "Public IPv4", 7.3),  # 2 subnets x 0.005 x 730
        ("Broker", "Load balancers", 18.25),  # 0.02 x 730 + 1 NLCU x 0.005 x 730 = 14.6 + 3.65
        # 10 GB ingested x 0.5 = 5; kept 30 days = 30 / (365 / 12) = 0.986301 months:
        # 10 x 0.986301 x 0.03 = 0.295890
        ("FlowLogs", "Logs", 5.295890),
    ],
)
def test_network_security_and_monitoring_lines(
    resource: str, resource_class: str, expected: float
) -> None:
    result = estimate({"Network": network_template()}, region=REGION, table=TABLE)
    assert line(result, resource, resource_class) == approx(expected)


def test_gateway_endpoints_and_internal_load_balancers_have_no_address_cost() -> None:
    result = estimate({"Network": network_template()}, region=REGION, table=TABLE)
    assert not [i for i in result.items if i.resource in ("S3", "s3")]
    assert not [
        i for i in result.items if i.resource == "Broker" and i.resource_class == "Public IPv4"
    ]


def test_assumptions_change_the_traffic_lines_and_are_reported() -> None:
    assumptions = Assumptions().with_overrides(
        ["nat_gb_per_gateway=100", "lcu-per-load-balancer=3"]
    )
    result = estimate(
        {"Network": network_template()}, region=REGION, table=TABLE, assumptions=assumptions
    )
    assert line(result, "Nat", "NAT gateways") == approx(41.5)  # 36.5 + 100 x 0.05
    assert line(result, "Edge", "Load balancers") == approx(36.5)  # 14.6 + 3 x 7.3
    assert assumptions.changed() == ["lcu_per_load_balancer", "nat_gb_per_gateway"]
    with pytest.raises(
        ValueError,
        match="assumption 'speed=3': expected key=value with a key of availability_zones, ",
    ):
        Assumptions().with_overrides(["speed=3"])
    with pytest.raises(ValueError, match="assumption log_gb_per_task: 'lots' is not a number"):
        Assumptions().with_overrides(["log_gb_per_task=lots"])
    with pytest.raises(
        ValueError, match=r"fargate_spot_discount: 1.5 is out of range \(0 to below 1\)"
    ):
        Assumptions().with_overrides(["fargate_spot_discount=1.5"])


def test_totals_by_stack_and_resource_class() -> None:
    result = estimate(
        {"App": compute_template(), "Network": network_template()}, region=REGION, table=TABLE
    )
    by_class = result.by_class()
    # Web 19.3815-44.3475 + job 0.0365
    assert by_class["Fargate tasks"] == approx(19.418, 44.384)
    # 0.1 + 0.3 + 0.3 + 0.5
    assert by_class["Alarms"] == approx(1.2)
    low, high = result.total
    assert low == pytest.approx(sum(pair[0] for pair in result.by_stack().values()))
    assert high - low == pytest.approx(
        (44.3475 - 19.3815) + (6.6 - 6.4) + (5.16 - 1.72)  # Fargate, Insights, logs
    )


# --- Regions and the shipped table ------------------------------------------------------------


def test_a_region_without_prices_says_so() -> None:
    result = estimate({"Network": network_template()}, region="eu-west-3", table=TABLE)
    assert not result.region_known
    assert result.missing[0] == f"no prices for region eu-west-3 (the table has {REGION})"
    assert all(item.monthly_min is None for item in result.items)


def test_a_missing_price_is_reported_not_guessed() -> None:
    template = copy.deepcopy(compute_template())
    props = template["Resources"]["Group"]["Properties"]
    props["MixedInstancesPolicy"]["LaunchTemplate"]["Overrides"] = [{"InstanceType": "c7g.large"}]
    result = estimate({"App": template}, region=REGION, table=TABLE)
    assert line(result, "Group") == (None, None)
    assert "no price for c7g.large in test-region-1" in result.missing


def test_shipped_table_has_a_date_and_a_public_source_for_every_price() -> None:
    table = load_prices()
    assert {"us-east-1", "ap-northeast-2"} <= set(table.regions)
    for region in table.regions.values():
        for price in region.prices.values():
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", price.date), price
            assert price.source.startswith("https://"), price
            assert price.usd > 0, price
    for name in (*defaults.EC2_INSTANCE_TYPES, *defaults.GPU_INSTANCE_TYPES):
        assert table.instance_type(name), name
    us_east = table.region("us-east-1")
    assert us_east is not None
    for name in defaults.EC2_INSTANCE_TYPES:
        assert us_east.instance(name), name


CORE_PRICES = (
    "fargate_vcpu_hour",
    "fargate_gb_hour",
    "alb_hour",
    "nat_gateway_hour",
    "interface_endpoint_az_hour",
    "kms_key_month",
)


@pytest.mark.parametrize("region", SCHEMA_REGIONS)
def test_shipped_table_prices_the_core_classes_in_every_supported_region(region: str) -> None:
    prices = load_prices().region(region)
    assert prices is not None, region
    assert [key for key in CORE_PRICES if prices.get(key) is None] == []


def test_an_eu_west_1_template_costs_its_exact_figure_from_the_shipped_table() -> None:
    subnets = [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]
    template = {
        "Resources": {
            "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
            "NatAddress": {"Type": "AWS::EC2::EIP", "Properties": {"Domain": "vpc"}},
            "EcrApi": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "ServiceName": "com.amazonaws.eu-west-1.ecr.api",
                    "VpcEndpointType": "Interface",
                    "SubnetIds": subnets,
                },
            },
            "Edge": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Scheme": "internet-facing", "Subnets": subnets},
            },
            "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
            "ApiTask": task_definition(1024, 2048),
            "Api": service("ApiTask", DesiredCount=2, LaunchType="FARGATE"),
        }
    }
    assert resolve_region([template], None) == ("eu-west-1", "")
    result = estimate({"App": template}, region="eu-west-1", table=load_prices())
    assert result.missing == ()
    # eu-west-1, 730 h, default assumptions:
    # Fargate: 2 tasks x 730 x (1 vCPU x 0.04048 + 2 GB x 0.004445) = 72.0802
    # NAT gateway: 730 x 0.048 + 10 GB x 0.048 = 35.04 + 0.48 = 35.52
    # ALB: 730 x 0.0252 + 1 LCU x 730 x 0.008 = 18.396 + 5.84 = 24.236
    # Interface endpoint: 2 AZ x 730 x 0.011 + 1 GB x 0.01 = 16.06 + 0.01 = 16.07
    # Public IPv4: (1 Elastic IP + 2 ALB subnets) x 730 x 0.005 = 3.65 + 7.3 = 10.95
    # KMS key: 1 + 100,000 requests x 0.000003 = 1.3
    # Total: 72.0802 + 35.52 + 24.236 + 16.07 + 10.95 + 1.3 = 160.1562
    assert line(result, "Api") == approx(72.0802)
    assert line(result, "Nat") == approx(35.52)
    assert line(result, "Edge", "Load balancers") == approx(24.236)
    assert line(result, "ecr.api") == approx(16.07)
    assert result.total == approx(160.1562)


def test_region_is_read_from_the_templates_or_defaults() -> None:
    assert resolve_region([network_template()], None) == ("us-east-1", "")
    assert resolve_region([compute_template()], None) == (
        "us-east-1",
        "the templates name no region: priced as us-east-1",
    )
    assert resolve_region([network_template()], "ap-northeast-2") == ("ap-northeast-2", "")


# --- Fargate or EC2 ---------------------------------------------------------------------------


def comparison_template() -> dict:
    template = compute_template()
    template["Resources"]["ApiTask"] = task_definition(512, 1024)
    template["Resources"]["Api"] = service("ApiTask", DesiredCount=4, LaunchType="FARGATE")
    return template


def test_fargate_and_ec2_cost_of_a_service_with_waste_and_break_even() -> None:
    (api,) = [
        c
        for c in compare({"App": comparison_template()}, region=REGION, table=TABLE)
        if c.workload == "Api"
    ]
    # Fargate: 0.5 x 0.04 + 1 x 0.004 = 0.024 an hour x 730 = 17.52 a task; 4 tasks = 70.08,
    # Spot 30 % of it = 21.024
    assert api.fargate == approx(70.08)
    assert api.fargate_spot == approx(21.024)
    # EC2: 2 tasks an m6i.large (network interfaces) -> 2 instances of 0.05 x 730 + 30 GiB x
    # 0.08 = 38.9 -> 77.8; Spot 30 % = 23.34
    assert (api.tasks_per_instance, api.instances) == (2, (2, 2))
    assert api.ec2 == approx(77.8)
    assert api.ec2_spot == approx(23.34)
    # 4 x 512 of 2 x 2048 CPU units used; 4 x 1024 of 2 x 8192 MiB
    assert api.waste_cpu == approx(0.5)
    assert api.waste_memory == approx(0.75)
    # a full instance (2 tasks, 38.9) costs more than 2 Fargate tasks (35.04)
    assert api.break_even == "never: a full instance (2 tasks) costs more than 2 Fargate tasks"
    trunking = Assumptions(ec2_eni_trunking=1)
    (api,) = [
        c
        for c in compare(
            {"App": comparison_template()}, region=REGION, table=TABLE, assumptions=trunking
        )
        if c.workload == "Api"
    ]
    # 4 tasks an instance: ceil(n / 4) x 38.9 <= n x 17.52 from n = 3 (38.9 <= 52.56) on
    assert api.break_even == "EC2 On-Demand is cheaper from 3 tasks"
    assert api.ec2 == approx(38.9)


def test_fargate_and_ec2_cost_of_a_job() -> None:
    (job,) = [
        c
        for c in compare({"App": comparison_template()}, region=REGION, table=TABLE)
        if c.workload == "Report"
    ]
    # 30.41667 runs x 2 tasks x 10 min = 10.13889 task-hours x 0.012 = 0.121667
    assert job.fargate == approx(0.1216667)
    # 30.41667 runs x 1 instance x (10 + 15) min = 12.67361 h x 38.9 / 730 = 0.675347
    assert job.ec2 == approx(0.675347)
    assert job.break_even.startswith("never")


def test_workloads_that_cannot_run_on_fargate_are_not_compared() -> None:
    names = {
        c.workload for c in compare({"App": comparison_template()}, region=REGION, table=TABLE)
    }
    # Worker is EC2-only; Web is ARM64 and the table has no ARM instance type
    assert names == {"Api", "Report"}


# --- The command ------------------------------------------------------------------------------


def test_command_prints_the_example_app_estimate_with_its_assumptions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([str(SNAPSHOTS), "--pattern", "test_example_stack[[]Prod-*"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Monthly estimate\n\nRegion ap-northeast-2;")
    # NAT gateway in Seoul: 730 x 0.059 + 10 GB x 0.059 = 43.07 + 0.59
    assert (
        "| Prod-Network | NAT gateways | NetworkVpcPublicSubnet1NATGateway | 730 h + 10 GB processed | $43.66 |"
        in out
    )
    # Interface endpoint in Seoul: 2 AZ x 730 x 0.013 + 1 GB x 0.01 = 18.98 + 0.01
    assert "| Prod-Network | Interface endpoints | ecr.api | 2 AZ x 730 h + 1 GB | $18.99 |" in out
    assert "| `log_gb_per_task` | 1 | GB of logs each running task writes a month |" in out
    assert "### Fargate or EC2" in out
    assert "| fargate_vcpu_hour | 0.04656 | vCPU-hour | 2026-10-05 |" in out


def test_command_json_and_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(SNAPSHOTS), "--pattern", "test_example_stack[[]Prod-Network].json", "--json"]
    assert main([*argv, "-a", "nat_gb_per_gateway=110"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["region"] == "ap-northeast-2"
    assert data["assumptions"]["nat_gb_per_gateway"] == 110
    # 2 NAT gateways x (43.07 + 110 x 0.059 = 6.49) = 2 x 49.56
    assert data["stacks"]["Prod-Network"]["classes"]["NAT gateways"]["min"] == pytest.approx(99.12)


def test_command_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == (
        f"cost: no templates in {tmp_path} (looked for *.template.json and snapshot files)\n"
    )
    with pytest.raises(SystemExit) as exit_info:
        main([str(SNAPSHOTS), "-a", "speed=3"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("cost: assumption 'speed=3': expected key=value")


def test_command_says_when_a_region_has_no_prices(capsys: pytest.CaptureFixture[str]) -> None:
    pattern = "test_example_stack[[]Prod-Network].json"
    assert main([str(SNAPSHOTS), "--pattern", pattern, "--region", "eu-west-3"]) == 0
    out = capsys.readouterr().out
    assert (
        "Note: no prices for region eu-west-3 (the table has ap-northeast-2, eu-west-1, us-east-1, us-west-2)."
        in out
    )
    assert (
        "| Prod-Network | NAT gateways | NetworkVpcPublicSubnet1NATGateway | 730 h + 10 GB processed | — |"
        in out
    )


def _cost_section() -> str:
    text = README.read_text()
    start = text.index("## Cost: ")
    return text[start : text.index("\n## ", start)]


def _example_table(section: str) -> dict[str, str]:
    """Label -> figure of the example app's side-by-side stack and resource-class table."""
    lines = section[section.index("**The example app's production stage**") :].splitlines()
    first = next(n for n, line in enumerate(lines) if line.startswith("|"))
    rows: dict[str, str] = {}
    for line in itertools.takewhile(lambda line: line.startswith("|"), lines[first:]):
        cells = [cell.strip().strip("*") for cell in line.strip().strip("|").split("|")]
        rows |= {label: figure for label, figure in (cells[:2], cells[3:]) if figure[:1] == "$"}
    return rows


def test_readme_quotes_the_example_apps_current_estimate() -> None:
    """README's cost section states the estimate of the example app's templates as they are
    (the snapshots): a change that moves the example's cost must update README with it."""
    section = _cost_section()
    prod = load_templates(SNAPSHOTS, pattern="test_example_stack[[]Prod-*")
    region, _ = resolve_region(prod.values(), None)
    assert region == "ap-northeast-2"
    result = estimate(prod, region=region)
    rows = _example_table(section)
    expected = {"Total": money_range(*result.total)}
    expected |= {s.removeprefix("Prod-"): money_range(*f) for s, f in result.by_stack().items()}
    for resource_class, figures in result.by_class().items():
        labels = [label for label in rows if label.split(" (")[0] == resource_class]
        assert len(labels) == 1, f"README needs one row for {resource_class}: {labels}"
        expected[labels[0]] = money_range(*figures)
    assert rows == expected
    us_east_1 = money_range(*estimate(prod, region="us-east-1").total)
    assert f"In `us-east-1` the same templates come to {us_east_1}" in " ".join(section.split())
    for stage in ("Dev", "Staging"):
        templates = load_templates(SNAPSHOTS, pattern=f"test_example_stack[[]{stage}-*")
        assert money_range(*estimate(templates, region=region).total) in section, stage
    quoted = 0
    for item in compare(prod, region=region):
        workload = f"| {item.stack.removeprefix('Prod-')} `{item.workload}` |"
        for line in (line for line in section.splitlines() if line.startswith(workload)):
            quoted_figures = [cell.strip() for cell in line.split("|")[3:7]]
            pairs = (item.fargate, item.fargate_spot, item.ec2, item.ec2_spot)
            assert quoted_figures == [money_range(*(p or (None, None))) for p in pairs], line
            quoted += 1
    assert quoted == 2  # the web service and the nightly report


# --- The review report ------------------------------------------------------------------------


def with_api(template: dict) -> dict:
    template = copy.deepcopy(template)
    template["Resources"]["ApiTask"] = task_definition(512, 1024)
    template["Resources"]["Api"] = service("ApiTask", DesiredCount=4, LaunchType="FARGATE")
    return template


def test_cost_delta_of_a_change_that_adds_a_service() -> None:
    base = {"App": compute_template(), "Network": network_template()}
    new = {**base, "App": with_api(base["App"])}
    delta = cost_delta(base, new, region=REGION, table=TABLE)
    changes = {item.resource_class: item for item in delta.classes}
    assert set(changes) == {"Fargate tasks", "Container Insights"}
    # 4 Fargate tasks x 17.52 = 70.08, over the $50 threshold
    assert changes["Fargate tasks"].change == approx(70.08)
    assert changes["Fargate tasks"].flags == ("change of $50 a month or more",)
    assert changes["Fargate tasks"].stacks == ("App",)
    # (13 + 8) metrics x 0.3 = 6.3 + 4 tasks x 0.1 GB x 0.5 = 0.2
    assert changes["Container Insights"].change == approx(6.5)
    assert changes["Container Insights"].flags == ()
    assert delta.change == approx(76.58)


def test_review_report_shows_the_cost_of_the_change() -> None:
    base = {"App": compute_template()}
    new = {"App": with_api(base["App"])}
    report = review(base, new)
    delta = cost_delta(base, new, region=REGION, table=TABLE, threshold=10)
    markdown = render_markdown(Report(report.stacks, cost=delta))
    assert "### Monthly cost\n\nList prices in test-region-1, USD a month" in markdown
    assert (
        "| Fargate tasks | App | $19.42 to $44.38 | $89.50 to $114.46 | +$70.08 | "
        "⚠️ change of $10 a month or more |"
    ) in markdown
    # cluster 3.3 + Web 6.4-6.6 + Report 0.0174 + Worker (21 x 0.3 + 3 x 0.1 x 0.5 = 6.45)
    assert "| Container Insights | App | $16.17 to $16.37 | $22.67 to $22.87 | +$6.50 |  |" in (
        markdown
    )
    assert "- `log_gb_per_task` = 1: GB of logs each running task writes a month" in markdown
    assert "### Monthly cost" not in render_markdown(report)


def test_review_command_prints_the_cost_section_unless_asked_not_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    for folder, template in ((before, network_template()), (after, with_api(compute_template()))):
        folder.mkdir()
        (folder / "App.template.json").write_text(json.dumps(template))
    assert review_main([str(before), str(after), "--no-diagrams", "--cost-threshold", "5"]) == 0
    out = capsys.readouterr().out
    assert "### Monthly cost\n\nList prices in us-east-1, USD a month" in out
    assert "⚠️ change of $5 a month or more" in out
    assert review_main([str(before), str(after), "--no-diagrams", "--no-cost"]) == 0
    assert "### Monthly cost" not in capsys.readouterr().out


def test_review_stops_a_change_that_adds_the_threshold_or_more_with_fail_on_cost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pipeline's gate: exit 4 when the change adds the threshold a month; a saving or a
    smaller increase passes."""
    small, large = tmp_path / "small", tmp_path / "large"
    for folder, template in ((small, compute_template()), (large, with_api(compute_template()))):
        folder.mkdir()
        (folder / "App.template.json").write_text(json.dumps(template))
    args = ["--no-diagrams", "--fail-on-cost", "--region", "us-east-1"]
    assert review_main([str(small), str(large), *args, "--cost-threshold", "60"]) == 4
    assert review_main([str(small), str(large), *args, "--cost-threshold", "1000"]) == 0
    assert review_main([str(large), str(small), *args, "--cost-threshold", "60"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit):
        review_main([str(small), str(large), "--fail-on-cost", "--no-cost"])
    assert "--fail-on-cost needs the cost section" in capsys.readouterr().err
