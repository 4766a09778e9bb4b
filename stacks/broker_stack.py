"""BrokerStack: an internal MQTT broker behind a TLS Network Load Balancer."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_route53 as route53
from constructs import Construct

from ecs_patterns_plus import (
    HardenedTaskDefinition,
    LogOptions,
    NlbFargateService,
    NlbListener,
    SecureNetworkLoadBalancer,
    ServiceMonitoring,
    VpcEndpoints,
)
from ecs_patterns_plus.defaults import VPC_CIDR

from .config import Images, StageConfig


class BrokerStack(cdk.Stack):
    """``myapp-broker``: MQTT for the app's devices and workers, TLS 1.3 on 8883 at an internal
    Network Load Balancer, plain MQTT (1883) from it to two tasks in private subnets."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        images: Images,
        cluster: ecs.ICluster,
        endpoints: VpcEndpoints | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=config.hosted_zone_id, zone_name=config.hosted_zone_name
        )
        certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=f"mqtt.{config.domain_name}",
            validation=acm.CertificateValidation.from_dns(zone),
        )
        load_balancer = SecureNetworkLoadBalancer(
            self,
            "LoadBalancer",
            vpc=cluster.vpc,
            certificate=certificate,
            allowed_sources=[ec2.Peer.ipv4(VPC_CIDR)],  # clients in the app's VPC
            deletion_protection=config.deletion_protection,
        )
        repository = images.repository(self)
        task = HardenedTaskDefinition(
            self,
            "Task",
            family="myapp-broker-task",
            container_name="broker",
            image=images.image(repository, "broker"),
            logging=LogOptions(retention=config.log_retention_days),
            container_port=1883,
        )
        self.broker = NlbFargateService(
            self,
            "Broker",
            cluster=cluster,
            task_definition=task,
            load_balancer=load_balancer,
            listener=NlbListener(port=8883),
            service_name="myapp-broker",
            endpoints=endpoints,
        )
        self.monitoring = ServiceMonitoring.for_service(
            self, "Monitoring", service=self.broker, service_name="myapp-broker"
        )
        cdk.CfnOutput(
            self,
            "BrokerEndpoint",
            description="MQTT over TLS (point a CNAME for the certificate's name at it)",
            value=f"{load_balancer.dns_name}:8883",
        )
