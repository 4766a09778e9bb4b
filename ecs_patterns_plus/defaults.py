"""Every hardened default of the library, named, with its reason and the rules it satisfies.

Precedence: a default here < an explicit argument < what a construct requires to work.
Rule ids: cdk-nag (``AwsSolutions-*``, ``NIST.800.53.R5-*``, ...), Control Tower (``CT.*``),
checkov (``CKV_*``).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_efs as efs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_logs as logs

# --- Data ------------------------------------------------------------------------------------

DATA_REMOVAL_POLICY = RemovalPolicy.RETAIN
"""Log groups, log buckets and KMS keys outlive the stack: deleting a stack must lose no
logs and leave nothing encrypted with a deleted key. (NIST.800.53.R5-CloudWatchLogGroupRetentionPeriod
needs retention; checkov CKV_AWS_338 wants >= 1 year.)"""

LOG_RETENTION = logs.RetentionDays.ONE_YEAR
"""One year of logs: audit trails (flow logs, ECS Exec, applications) for incident review.
Satisfies NIST/HIPAA/PCI CloudWatchLogGroupRetentionPeriod, checkov CKV_AWS_338."""

KMS_KEY_ROTATION = True
"""Yearly automatic rotation of customer managed keys. AwsSolutions-KMS5, CT.KMS.PR.1."""

# --- Network ---------------------------------------------------------------------------------

VPC_CIDR = "10.0.0.0/16"
"""Room for large awsvpc fleets: every task has its own ENI and private address."""

MAX_AZS = 2
"""Two AZs: the ALB minimum and the cheapest highly available layout. Use 3 for production."""

PUBLIC_SUBNET_MASK = 24
"""Public subnets hold only load balancers and NAT gateways: /24 each is plenty."""

PRIVATE_SUBNET_MASK = 20
"""Private (task) subnets: 4,091 usable addresses each, one per awsvpc task."""

FLOW_LOG_TRAFFIC = ec2.FlowLogTrafficType.ALL
"""Accepted and rejected traffic. AwsSolutions-VPC7, NIST/HIPAA/PCI VPCFlowLogsEnabled,
checkov CKV2_AWS_11."""

ENDPOINT_PORT = 443
"""Interface endpoints speak HTTPS only."""

INTERFACE_ENDPOINTS: dict[str, ec2.InterfaceVpcEndpointAwsService] = {
    "ecr_api": ec2.InterfaceVpcEndpointAwsService.ECR,
    "ecr_dkr": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "secretsmanager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "ssm": ec2.InterfaceVpcEndpointAwsService.SSM,
    "kms": ec2.InterfaceVpcEndpointAwsService.KMS,
    "ssmmessages": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    "sts": ec2.InterfaceVpcEndpointAwsService.STS,
    "monitoring": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
    "ecs": ec2.InterfaceVpcEndpointAwsService.ECS,
    "ecs_agent": ec2.InterfaceVpcEndpointAwsService.ECS_AGENT,
    "ecs_telemetry": ec2.InterfaceVpcEndpointAwsService.ECS_TELEMETRY,
    "sqs": ec2.InterfaceVpcEndpointAwsService.SQS,
    "sns": ec2.InterfaceVpcEndpointAwsService.SNS,
    "events": ec2.InterfaceVpcEndpointAwsService.EVENTBRIDGE,
    "xray": ec2.InterfaceVpcEndpointAwsService.XRAY,
}
"""Every interface endpoint ``VpcEndpoints`` knows, by the name its ``services`` argument takes."""

GATEWAY_ENDPOINTS: dict[str, ec2.GatewayVpcEndpointAwsService] = {
    "s3": ec2.GatewayVpcEndpointAwsService.S3,
    "dynamodb": ec2.GatewayVpcEndpointAwsService.DYNAMODB,
}
"""Gateway endpoints (route-table entries, free of charge)."""

FARGATE_ENDPOINTS = ("ecr_api", "ecr_dkr", "s3", "logs", "secretsmanager", "ssm", "kms")
"""What a Fargate task needs with no internet route: pull from ECR (api, dkr, S3 layers),
ship logs, read secrets and parameters, decrypt them."""

EXEC_ENDPOINTS = ("ssmmessages",)
"""Added when ECS Exec is used: the SSM agent's session channels."""

# --- Egress by domain (Route 53 Resolver DNS Firewall) ---------------------------------------
# Relied on: "Route 53 Resolver DNS Firewall" (walled garden example, rule actions, domain
# lists) in the Route 53 developer guide, and the CreateFirewallRule / AssociateFirewallRuleGroup
# API references.

EGRESS_AWS_DOMAINS = (
    "*.{region}.{suffix}",
    "sts.{suffix}",
    "prod-{region}-starport-layer-bucket.s3.{suffix}",
    "public.ecr.aws",
    "d2glxqk2uabbnd.cloudfront.net",
    "d5l0dvt14r5h8.cloudfront.net",
    "*.compute.internal",
    "*.ec2.internal",
)
"""Names the library's tasks and instances resolve whatever the application does, always
allowed by ``EgressFirewall`` (``{region}`` and ``{suffix}`` are the stack's region and URL
suffix, ``amazonaws.com`` or ``amazonaws.com.cn``, so other partitions work too):

- ``*.<region>.amazonaws.com``: every regional AWS API and its VPC endpoint name: ECR
  (``api.ecr.*``, ``<account>.dkr.ecr.*``), image layers (``prod-<region>-starport-layer-bucket
  .s3.<region>.*``), Logs, Secrets Manager, SSM, KMS, STS, SQS, SNS, EventBridge, X-Ray,
  CloudWatch, ``ssmmessages`` (ECS Exec), the ECS agent and telemetry (``ecs-a-*``, ``ecs-t-*``)
  and the EC2 instances' package repositories. It also admits other accounts' resources under
  those names (an S3 bucket, an API): limit them with VPC endpoint policies.
- ``sts.amazonaws.com``: the global STS endpoint older SDKs still call.
- ``prod-<region>-starport-layer-bucket.s3.amazonaws.com``: the same ECR layer bucket by its
  global S3 name (only that bucket, not every ``*.s3.amazonaws.com``).
- ``public.ecr.aws`` and its two CloudFront distributions (``d2glxqk2uabbnd``,
  ``d5l0dvt14r5h8``), which serve the layers of ECR Public images (sidecars such as the
  OpenTelemetry collector come from there); not ``*.cloudfront.net``, which anyone can host on.
- ``*.compute.internal`` / ``*.ec2.internal``: the VPC's own host names (a task or instance
  resolving its host name), answered by the VPC resolver itself.
"""

EGRESS_ACTION = "BLOCK"
"""Every name not allowed is blocked; ``ALERT`` only logs it (the way to try a list first)."""

EGRESS_BLOCK_RESPONSE = "NODATA"
"""A blocked name gets an empty answer: DNS Firewall's default, and the response of AWS's own
walled-garden example; ``NXDOMAIN`` says the name does not exist."""

EGRESS_RULE_GROUP_PRIORITY = 9900
"""The egress rule group ends with a rule that matches every name, which stops DNS Firewall's
evaluation: it goes last of the 100-9900 range AWS allows, so that any other rule group of the
VPC (a threat list, an organisation's own) is evaluated before it."""

EGRESS_REDIRECTION = "TRUST_REDIRECTION_DOMAIN"
"""An allowed name's CNAME chain is trusted: an allowed API behind a CDN resolves without
listing the CDN's names (DNS Firewall's default would inspect every name of the chain)."""

EGRESS_LOG_GROUP_PREFIX = "/aws/vendedlogs/route53resolver/"
"""Query logs are vended logs, admitted by the account's CloudWatch Logs resource policy: once
that policy nears its 5,120 characters, CloudWatch Logs admits every ``/aws/vendedlogs/`` group
at once, and a group named otherwise could no longer receive logs."""

# --- Cluster ---------------------------------------------------------------------------------

CONTAINER_INSIGHTS = ecs.ContainerInsights.ENABLED
"""Task- and service-level metrics. checkov CKV_AWS_65 accepts only ``enabled``;
CT.ECS.PR.? / AwsSolutions-ECS4."""

EXEC_LOGGING = ecs.ExecuteCommandLogging.OVERRIDE
"""ECS Exec sessions are audited to an encrypted log group of the cluster's own."""

CAPACITY_PROVIDER_STRATEGY = (ecs.CapacityProviderStrategy(capacity_provider="FARGATE", weight=1),)
"""Cluster default: on-demand Fargate. Services opt into FARGATE_SPOT weights explicitly."""

# --- Network Load Balancer -------------------------------------------------------------------

NLB_LISTENER_PROTOCOL = "TLS"
"""A listener terminates TLS (ACM certificate, ``TLS_POLICY``) unless asked for TCP or UDP:
the regulatory packs want encryption in transit at the load balancer (ELBv2ACMCertificateRequired)."""

NLB_CROSS_ZONE = True
"""Spread connections over the targets of every AZ: with two tasks in two AZs, one unhealthy
task would otherwise leave its AZ's share of clients without a target."""

NLB_HEALTH_INTERVAL = Duration.seconds(10)
"""Probe every 10 s (AWS default 30 s): with 2 healthy probes a new task takes traffic in 20 s."""

NLB_HEALTH_TIMEOUT = Duration.seconds(5)
"""A probe that takes 5 s fails (AWS: 10 s for TCP and HTTP)."""

NLB_HEALTHY_THRESHOLD = 2
"""Two good probes turn a task healthy (AWS default 5: 150 s per rollout batch)."""

NLB_UNHEALTHY_THRESHOLD = 2
"""Two failed probes take a task out (20 s)."""

NLB_HEALTH_SUCCESS_CODES = "200-399"
"""HTTP(S) health checks: a redirect counts as alive, as AWS's NLB default says."""

NLB_CONNECTION_TERMINATION = True
"""Close the connections of a deregistered task when its deregistration delay ends, so that
long-lived connections (MQTT, gRPC streams) move to the new tasks instead of pinning the old."""

# --- Service Connect -------------------------------------------------------------------------
# Relied on: "Amazon ECS Service Connect" and "Service Connect configuration" in the ECS
# developer guide, and the TimeoutConfiguration API reference.

NAMESPACE_PRIVATE_DNS = False
"""The cluster's Cloud Map namespace for Service Connect is an HTTP (API-calls) namespace. Service
Connect resolves names in its proxy, so it needs no DNS; AWS charges nothing for Cloud Map used
by Service Connect, while a private DNS namespace adds a Route 53 private hosted zone."""

SERVICE_CONNECT_IDLE_TIMEOUT = Duration.minutes(5)
"""How long the proxy keeps an idle connection: AWS's own default for HTTP, HTTP/2 and gRPC,
written down so that it shows in the template and the review (TCP's AWS default is 1 hour)."""

SERVICE_CONNECT_PER_REQUEST_TIMEOUT = Duration.seconds(15)
"""How long a request may take before the proxy answers 504: AWS's default, made explicit."""

SERVICE_CONNECT_APP_PROTOCOL: ecs.AppProtocol = ecs.AppProtocol.http  # type: ignore[assignment]
"""A named port speaks HTTP unless told otherwise: Service Connect then measures requests, 5xx
and response time per service (TCP gets connection counts only), which the rollback alarm,
autoscaling on requests and monitoring read."""

SERVICE_CONNECT_PROXY_MEMORY_MIB = 64
"""Task memory left to the Service Connect proxy, which ECS adds to every task of a service that
joins Service Connect (AWS recommends adding 256 CPU units and at least 64 MiB for it)."""

SERVICE_CONNECT_LOG_PREFIX = "service-connect"
"""Log stream prefix of the proxy's logs and access logs in the service's own log group."""

SERVICE_CONNECT_ACCESS_LOG_FORMAT = ecs.ServiceConnectAccessLogFormat.JSON
"""Proxy access logs as JSON lines: Logs Insights reads their fields without parsing."""

# --- Load balancer ---------------------------------------------------------------------------

HTTPS_PORT = 443
"""The only listener port unless a port-80 redirect is asked for."""

HTTP_REDIRECT_PORT = 80
"""The plain-HTTP port of the opt-in redirect listener, which only answers 301 to HTTPS; never
a production or test listener port otherwise."""

INTERNET_FACING = False
"""Load balancers are internal unless asked: nothing is reachable from the internet by default."""

LOAD_BALANCER_DELETION_PROTECTION = True
"""A stack update or deletion cannot remove the load balancer and its DNS name (turning it off
warns: ``ecs-patterns-plus:deletion-protection-off``)."""

TLS_POLICY = elbv2.SslPolicy.RECOMMENDED_TLS
"""TLS 1.3 (with 1.2 fallback) recommended policy. checkov CKV_AWS_103."""

ALB_IDLE_TIMEOUT = Duration.seconds(60)
"""ELB default; raise it for long polling, lower it to shed idle connections."""

ACCESS_LOG_EXPIRATION = Duration.days(365)
"""Access logs kept one year (the log-retention bar), then expired by lifecycle."""

SERVER_ACCESS_LOG_PREFIX = "s3/"
"""Where an access-log bucket's own S3 server access logs go in the second log bucket."""

NONCURRENT_LOG_EXPIRATION = Duration.days(30)
"""Overwritten or deleted log objects (versioning) are kept 30 days."""

PIPELINE_BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
"""The CodeBuild image of a pipeline's steps: Ubuntu 22.04 with Python 3.11+, Node.js and the
AWS CLI, what `make test` and `cdk synth` need."""

PIPELINE_COMPUTE_TYPE = codebuild.ComputeType.MEDIUM
"""A pipeline step's CodeBuild size: up to 8 GiB and 4 vCPUs (CodeBuild API reference,
``ProjectEnvironment.computeType``), room for the test suite's synthesis workers, which take
every core but one, and their Node.js processes (SMALL, CDK Pipelines' default: 4 GiB, 2 vCPUs)."""

PIPELINE_STEP_TIMEOUT = Duration.minutes(60)
"""A pipeline's CodeBuild step (the synth step runs the whole test suite) is stopped after an
hour: a hung build stops costing money and holding the pipeline."""

PIPELINE_ARTIFACT_EXPIRATION = Duration.days(90)
"""Pipeline artifacts (source zips, cloud assemblies) expire after 90 days: a pipeline
execution reads only its own, and a release older than that is rebuilt from its commit."""

INCOMPLETE_UPLOAD_EXPIRATION = Duration.days(7)
"""Log-bucket multipart uploads left incomplete are aborted after a week: no storage is billed
for parts nobody sees."""

LOG_BUCKET_MINIMUM_TLS_VERSION = 1.2
"""Log buckets refuse requests over TLS older than 1.2 (plain HTTP is refused by ``enforce_ssl``)."""

WAF_MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
)
"""AWS managed WAF rule groups on internet-facing load balancers (OWASP common, known bad
inputs such as Log4Shell, IP reputation). AwsSolutions-WAF? / NIST ALBWAFEnabled, CKV2_AWS_28."""

# --- Autoscaling -----------------------------------------------------------------------------

SCALING_CPU_TARGET = 50
"""Average CPU held by target tracking: headroom for a traffic spike while new tasks start."""

SCALING_MAX_CAPACITY = 10
"""Upper bound on tasks: caps the bill when a bug or attack drives the metrics."""

SCALING_CAPACITY_LIMIT = 5000
"""The ECS service quota on tasks per service."""

SCALE_OUT_COOLDOWN = Duration.seconds(60)
"""React to load within a minute."""

SCALE_IN_COOLDOWN = Duration.seconds(300)
"""Shrink slowly so a brief dip does not drop capacity a returning peak needs."""

STEP_SCALING_ADJUSTMENT = appscaling.AdjustmentType.CHANGE_IN_CAPACITY
"""A step's change counts tasks to add or remove."""

STEP_SCALING_EVALUATION_PERIODS = 1
"""A step reacts to one breaching period of its metric (the metric's period sets the pace)."""

# --- Persistent storage (EFS) ----------------------------------------------------------------

EFS_LIFECYCLE_POLICY = efs.LifecyclePolicy.AFTER_30_DAYS
"""Files unread for 30 days move to EFS Infrequent Access (about 92 % cheaper per GB-month);
reading one moves it back."""

EFS_BACKUP_RETENTION = Duration.days(35)
"""Daily EFS recovery points are kept 35 days: a month of restore points, plus a margin to
notice a slow corruption."""

EFS_DIRECTORY_PERMISSIONS = "750"
"""An access point's new directory: the container's user reads and writes, its group reads,
nobody else."""

# --- Managed EBS volumes (one per task) ------------------------------------------------------

EBS_VOLUME_TYPE = ec2.EbsDeviceVolumeType.GP3
"""gp3: 3,000 IOPS and 125 MiB/s are included at any size, priced about 20 % below gp2 per
GiB; more IOPS and throughput are provisioned (and paid) separately."""

EBS_FILE_SYSTEM_TYPE = ecs.FileSystemType.XFS
"""ECS's own default for a managed volume's file system. A volume made from a snapshot needs
the file system the snapshot has."""

EBS_VOLUME_NAME = "ebs"
"""The task volume's name: no hyphen, so it cannot equal a writable path's volume
(``<container>-<path>``) or an EFS volume (``efs<n>``)."""

EBS_PROPAGATE_TAGS = "SERVICE"
"""Each volume gets the service's tags (cost allocation per service)."""

EBS_INFRASTRUCTURE_ROLE_REMOVAL_POLICY = RemovalPolicy.RETAIN
"""The role ECS uses to delete the volumes outlives the stack: deleted while tasks are still
stopping, it would leave them in DEPROVISIONING and their volumes (still billed) undeleted
("Amazon ECS infrastructure IAM role", ECS developer guide)."""

# --- Workers (queue processing) --------------------------------------------------------------

WORKER_MESSAGES_PER_TASK = 10
"""Backlog each worker task may hold (visible messages per task) before the service scales out:
acceptable latency / processing time per message, e.g. 10 for 50 seconds at 5 s a message."""

WORKER_MAX_RECEIVE_COUNT = 5
"""Receives before a message moves to the dead-letter queue: a Spot interruption, a scale-in or
a deployment costs a message one receive, so a healthy message survives several of them."""

WORKER_QUEUE_RETENTION = Duration.days(4)
"""Unprocessed messages wait 4 days (SQS's own default): a weekend-long outage loses nothing."""

WORKER_DEAD_LETTER_RETENTION = Duration.days(14)
"""Failed messages stay 14 days (the SQS maximum) for inspection and redrive."""

WORKER_VISIBILITY_TIMEOUT_FACTOR = 2
"""A received message stays hidden for twice the task's stop timeout (60 s with the 30 s
default): a message received just before SIGTERM can finish in the stop timeout, with as
much again as margin, before another task may receive it."""

WORKER_QUEUE_URL_VARIABLE = "QUEUE_URL"
"""The environment variable that carries the queue's URL to the worker container."""

WORKER_WAKE_UP_TASKS = 1
"""A service scaled to zero starts one task when a message arrives; backlog tracking adds
the rest."""

ALARM_OLDEST_MESSAGE_AGE = Duration.minutes(15)
"""A message waiting 15 minutes means the workers are stuck, failing or too few."""

ALARM_QUEUE_BACKLOG = 1000
"""Visible messages that, held for ``ALARM_QUEUE_BACKLOG_MINUTES``, mean the workers do not
keep up (at the maximum task count, or not scaling)."""

ALARM_QUEUE_BACKLOG_MINUTES = 15
"""Minutes the backlog must stay above its threshold: bursts are what the queue is for."""

ALARM_DEAD_LETTERS = 1
"""One message in the dead-letter queue alarms: each is work that failed every retry."""

# --- Service ---------------------------------------------------------------------------------

DESIRED_COUNT = 2
"""Two tasks: one per AZ, so losing an AZ or a task never takes the service down."""

MIN_HEALTHY_PERCENT = 100
"""Never run fewer than the desired tasks during a deployment."""

MAX_HEALTHY_PERCENT = 200
"""Start a full new set before stopping the old: one batch per rollout."""

DAEMON_MAX_HEALTHY_PERCENT = 100
"""ECS requires maximumPercent 100 for DAEMON services (one task per instance, never two): a
deployment stops a daemon task before it starts the new one on that instance."""

DAEMON_MIN_HEALTHY_PERCENT = 50
"""A daemon deployment replaces half of the instances' agents at a time, the other half keeps
running (the ECS console's default for daemons; the API's, 0 %, replaces them all at once).
Used when the named capacity keeps at least ``DAEMON_MIN_INSTANCES_FOR_BATCHES`` instances."""

DAEMON_MIN_INSTANCES_FOR_BATCHES = 2
"""ECS rounds the minimum healthy tasks up: with one instance, 50 % keeps its only task and the
deployment can never stop it. Below two guaranteed instances (the sum of the named
capacities' ``min_capacity``) a daemon deploys with 0 % minimum healthy instead."""

CATCH_ALL_PRIORITY = 50000
"""A service without routing gets every path at the lowest rule priority."""

TARGET_HEALTH_INTERVAL = Duration.seconds(10)
"""Probe every 10 s (ELB default 30 s): a new task turns healthy in 20 s, not 150 s."""

TARGET_HEALTH_TIMEOUT = Duration.seconds(5)
"""A health endpoint that needs more than 5 s is unhealthy."""

TARGET_HEALTHY_THRESHOLD = 2
"""Two passes to turn healthy (ELB default 5)."""

TARGET_UNHEALTHY_THRESHOLD = 3
"""Three failures (30 s) to take a task out: tolerates one slow response."""

TARGET_HEALTH_PATH = "/"
"""The load balancer probes the root path unless the application names its health endpoint."""

TARGET_SUCCESS_CODES = "200-299"
"""Any 2xx answer is healthy; a redirect (3xx) to a login page is not."""

DEREGISTRATION_DELAY = Duration.seconds(30)
"""Drain in-flight requests for 30 s (ELB default 300 s holds every rollout batch 5 minutes)."""

# --- ALB target protocol: end-to-end TLS, HTTP/2, gRPC --------------------------------------

TARGET_PROTOCOL = "HTTP"
"""The listener terminates TLS and forwards HTTP inside the VPC; ``"HTTPS"`` re-encrypts to the
task (end-to-end TLS), which the ALB does not validate, so a self-signed certificate works."""

TARGET_PROTOCOL_VERSION = "HTTP1"
"""HTTP/1.1 to the tasks (the ELB default): every web framework speaks it, and the listener
still serves HTTP/2 clients. ``"HTTP2"`` and ``"GRPC"`` need the HTTPS listener, which every
``SecureLoadBalancer`` has."""

TARGET_GRPC_HEALTH_PATH = "/AWS.ALB/healthcheck"
"""The ELB default gRPC health method: no server implements it, so any gRPC server answers."""

TARGET_GRPC_DEFAULT_METHOD_CODES = "12"
"""UNIMPLEMENTED, what a live gRPC server answers to the default method (the ELB default)."""

TARGET_GRPC_SUCCESS_CODES = "0"
"""OK from a health method the application names (e.g. ``/grpc.health.v1.Health/Check``)."""

# --- Task definition -------------------------------------------------------------------------

TASK_CPU = 256
"""0.25 vCPU: the smallest Fargate size, enough for a small web service (the brief's example)."""

TASK_MEMORY_MIB = 512
"""512 MiB: the smallest memory Fargate pairs with 256 CPU units."""

TASK_COMPATIBILITY = ecs.Compatibility.FARGATE
"""Fargate: no instances to patch or scale; EC2 capacity is for GPUs and EC2-only features."""

TASK_ARCHITECTURE = ecs.CpuArchitecture.X86_64
"""x86_64, what most images are built for; ARM64 (Graviton) costs less but needs an arm64 image."""

CONTAINER_NAME = "app"
"""The application container's name (the brief's example); its log streams start with it."""

CONTAINER_USER = "1000:1000"
"""Containers run as an unprivileged uid:gid, never root. CT.ECS.PR.3 (non-root user),
Security Hub ECS.20. Pass the uid your image expects (``user=``)."""

WRITABLE_PATHS = ("/tmp",)
"""The only writable paths of a read-only root filesystem: task volumes, one per path and
container. The image should own them (or declare them as ``VOLUME``) for the container user."""

READONLY_ROOT_FILESYSTEM = True
"""Containers cannot modify their image at run time. CT.ECS.PR.6, checkov CKV_AWS_336,
Security Hub ECS.5."""

DROPPED_CAPABILITIES = (ecs.Capability.ALL,)
"""Every Linux capability is dropped: a web application needs none of them, and binding a
port below 1024 uses ``UNPRIVILEGED_PORT_SYSCTL`` instead of NET_BIND_SERVICE."""

INIT_PROCESS_ENABLED = True
"""An init process (tini) reaps zombies and forwards SIGTERM, so stop_timeout is honoured."""

EC2_SECURITY_OPTIONS = ("no-new-privileges",)
"""setuid binaries cannot raise privileges. Docker security options exist on EC2 only;
Fargate rejects them (and blocks privilege escalation itself)."""

STOP_TIMEOUT = Duration.seconds(30)
"""Time between SIGTERM and SIGKILL: enough to finish in-flight requests after the load
balancer stops sending (deregistration delay). Fargate allows up to 120 s."""

UNPRIVILEGED_PORT_SYSCTL = "net.ipv4.ip_unprivileged_port_start"
"""Namespaced sysctl (awsvpc mode, Fargate platform 1.4+) that lets a non-root container bind
a port below 1024; set to the lowest such port, only when one is used."""

LOG_GROUP_PREFIX = "/ecs/"
"""Application log groups are named ``/ecs/<service>`` (the brief's convention)."""

LOG_DRIVER_MODE = ecs.AwsLogDriverMode.NON_BLOCKING
"""A CloudWatch Logs slowdown must never block the application's stdout writes."""

LOG_MAX_BUFFER_SIZE_MIB = 25
"""Non-blocking buffer: absorbs bursts and short throttling before lines are dropped."""

HEALTH_CHECK_INTERVAL = Duration.seconds(30)
"""Container health check every 30 s (the ECS default and the brief's value)."""

HEALTH_CHECK_TIMEOUT = Duration.seconds(5)
"""A health command that needs more than 5 s counts as a failure."""

HEALTH_CHECK_RETRIES = 3
"""Three consecutive failures mark the container unhealthy (about 90 s)."""

HEALTH_CHECK_START_PERIOD = Duration.seconds(60)
"""Failures in the first 60 s do not count: time for a JVM or migrations to start. Also the
base of the service's health-check grace period."""

SIDECAR_MEMORY_MIB = 128
"""Hard memory limit of a sidecar (log router, agent, proxy); the app gets the rest."""

SIDECAR_APP_WAITS_FOR = ecs.ContainerDependencyCondition.START
"""The application starts once its sidecars have started, so a proxy or log router is there
for its first request or line."""

EXEC_WRITABLE_PATHS = ("/managed-agents", "/var/lib/amazon/ssm", "/var/log/amazon/ssm")
"""Where the ECS Exec (SSM) agent writes: mounted as task volumes when exec is enabled, so a
read-only root filesystem and ECS Exec work together."""

SECRET_LIKE_NAMES = (
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "APIKEY",
    "PRIVATEKEY",
    "ACCESSKEY",
    "CREDENTIAL",
    "AUTHDATA",
    "CLIENTSECRET",
)
"""Environment variable names containing one of these (ignoring ``_`` and case) are refused:
secrets go through ``secrets=``. AwsSolutions-ECS2, CT.ECS.PR.12 (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, ECS_ENGINE_AUTH_DATA)."""

SECRET_REFERENCE_SUFFIXES = ("_ARN", "_NAME", "_URL", "_URI", "_ENDPOINT", "_PATH", "_FILE")
"""Names ending like this point to a secret rather than hold one (``DB_SECRET_ARN``)."""

# --- Observability sidecars (FireLens log router, OpenTelemetry collector) -------------------

LOG_ROUTER_NAME = "log-router"
"""The FireLens log router's container name; its own logs go to the task's log group under
this stream prefix."""

LOG_ROUTER_MEMORY_MIB = 128
"""Hard limit of the Fluent Bit log router: AWS's FireLens examples reserve 50 MiB for it, and
the FireLens team reports it usually stays below 100 MiB; a destination outage makes it buffer
more (raise the limit for chatty applications)."""

LOG_ROUTER_MIN_MEMORY_MIB = 50
"""The smallest log router limit accepted: the 50 MiB AWS's FireLens task definitions give it."""

OTEL_COLLECTOR_NAME = "otel-collector"
"""The AWS Distro for OpenTelemetry collector's container name (and its log stream prefix)."""

OTEL_COLLECTOR_MEMORY_MIB = 128
"""Hard limit of the collector; its memory limiter starts refusing data at 80% of it, so a
burst slows the application's exports instead of killing the task."""

OTEL_COLLECTOR_USER = "4317:4317"
"""The unprivileged ``aoc`` user the aws-otel-collector image is built to run as."""

OTEL_METRICS_NAMESPACE = "ECS/AWSOTel/Application"
"""The CloudWatch namespace of the application's metrics: the one AWS's ECS collector
configurations use."""

OTEL_PROTOCOL = "grpc"
"""OTLP over gRPC (port 4317), the OpenTelemetry SDKs' default; ``http/protobuf`` uses 4318."""

OTEL_TRACES = False
"""The collector takes metrics only unless ``traces=True``: traces to X-Ray need X-Ray's
actions on ``Resource: *`` (the stack's shared, acknowledged ``XRayPolicy``), an ``xray``
endpoint in a VPC without NAT, and X-Ray bills every trace recorded, so they are asked for."""

LOG_ROUTER_S3_STORE_DIR = "/var/fluent-bit/s3"
"""Where Fluent Bit's s3 output buffers before each upload (``store_dir``): a writable path
of its own on the router (a task volume), which the image can declare (``VOLUME``) owned by
the router's user."""

LOG_ROUTER_S3_KEY_FORMAT = "%Y/%m/%d/$TAG/%H%M%S-$UUID.gz"
"""Object keys under the prefix: the day first (lifecycle rules, Athena partitions), then the
FireLens tag (``<container>-firelens-<task id>``), the first record's time and a random
``$UUID``, so uploads never overwrite each other and ``.gz`` stays the suffix."""

LOG_ROUTER_S3_OUTPUT = {
    "total_file_size": "10M",
    "upload_timeout": "1m",
    "use_put_object": "On",
    "compression": "gzip",
    "store_dir_limit_size": "1G",
    "retry_limit": "5",
}
"""Fluent Bit s3 output settings: task storage is not kept (Fargate), so whole objects go up
with PutObject (no multipart state to lose, and s3:PutObject is the only grant) once 10 MB
are buffered or after a minute, gzip-compressed; at most 1 GB waits on disk during an outage
(beyond it Fluent Bit discards data instead of filling the task's storage); five upload
attempts, as Fluent Bit made before 1.9.10 (since then one unless ``retry_limit`` is set)."""

# --- EC2 capacity ----------------------------------------------------------------------------

EC2_INSTANCE_TYPES = ("m6i.large", "m6a.large", "m7i.large")
"""General-purpose x86 capacity: three interchangeable Nitro types with encryption in transit,
so Spot has several pools and On-Demand a fallback. CT.AUTOSCALING.PR.6 (multiple types),
CT.AUTOSCALING.PR.10/.11 and CT.EC2.PR.15 (Nitro, encryption in transit)."""

GPU_INSTANCE_TYPES = ("g5.xlarge", "g4dn.xlarge")
"""NVIDIA GPU capacity (one GPU each) the ECS GPU AMI supports, both Nitro with encryption
in transit. CT.AUTOSCALING.PR.6/.10/.11."""

GPU_INSTANCE_FAMILIES = (
    "g4dn",
    "g5",
    "g5g",
    "g6",
    "g6e",
    "gr6",
    "p3",
    "p3dn",
    "p4d",
    "p4de",
    "p5",
    "p5e",
    "p5en",
)
"""Instance families with NVIDIA GPUs (the ECS GPU AMI and Bottlerocket NVIDIA variants).
``gpu=True`` capacity accepts only these."""

ENCRYPTION_IN_TRANSIT_FAMILIES = (
    *("c5a", "c5ad", "c5n", "c6a", "c6gn", "c6i", "c6id", "c6in", "c7a", "c7g", "c7gd", "c7gn"),
    *("c7i", "d3", "d3en", "dl1", "dl2q", "g4ad", "g4dn", "g5", "hpc6a", "hpc6id", "hpc7a"),
    *("hpc7g", "i3en", "i4g", "i4i", "im4gn", "inf1", "inf2", "is4gen", "m5dn", "m5n", "m5zn"),
    *("m6a", "m6i", "m6id", "m6idn", "m6in", "m7a", "m7g", "m7gd", "m7i-flex", "m7i", "p3dn"),
    *("p4d", "p4de", "p5", "r5dn", "r5n", "r6a", "r6i", "r6id", "r6idn", "r6in", "r7a", "r7g"),
    *("r7gd", "r7i", "r7iz", "trn1", "trn1n", "u-12tb1", "u-18tb1", "u-24tb1", "u-3tb1"),
    *("u-6tb1", "u-9tb1", "vt1", "x2idn", "x2iedn", "x2iezn"),
)
"""Nitro families that encrypt traffic between instances: the list of the Control Tower controls
CT.AUTOSCALING.PR.10/.11. Other types work, with a warning (``ecs-patterns-plus:instance-types``)."""

EC2_MIN_CAPACITY = 0
"""Scale to zero: managed scaling launches instances when tasks are waiting for capacity."""

EC2_MAX_CAPACITY = 10
"""Upper bound on instances: caps the bill when a bug or a burst of jobs asks for capacity."""

EC2_TARGET_CAPACITY_PERCENT = 100
"""Managed scaling keeps instances fully used (no idle spare); lower it for faster task starts."""

EC2_MANAGED_TERMINATION_PROTECTION = True
"""ECS protects instances that run tasks from scale-in (turning it off warns:
``ecs-patterns-plus:managed-termination-protection``)."""

EC2_ROOT_VOLUME_GIB = 30
"""Container storage: the ECS-optimized AMI's minimum root volume (images, writable layers)."""

EC2_VOLUME_TYPE = ec2.EbsDeviceVolumeType.GP3
"""gp3: 3,000 IOPS and 125 MiB/s baseline at a lower price than gp2."""

EC2_METADATA_HOP_LIMIT = 1
"""IMDSv2 tokens cannot cross a network hop: containers cannot reach the instance role. awsvpc
tasks get credentials from the ECS agent, not IMDS, so 1 is enough. CT.EC2.PR.2, CKV_AWS_341;
IMDSv2 itself: CT.EC2.PR.1, CKV_AWS_79, NIST/HIPAA EC2IMDSv2Enabled."""

EC2_SPOT_ALLOCATION = autoscaling.SpotAllocationStrategy.CAPACITY_OPTIMIZED
"""Spot instances come from the pools with the most spare capacity: fewest interruptions."""

EC2_ON_DEMAND_ALLOCATION = autoscaling.OnDemandAllocationStrategy.PRIORITIZED
"""On-Demand instances follow the order of ``instance_types`` (first = preferred)."""

EC2_EGRESS_PORT = 443
"""Container instances have no inbound rules and reach the ECS, ECR, S3 and CloudWatch APIs and
image registries over HTTPS only."""

ECS_AGENT_CONFIG = {
    "ECS_AWSVPC_BLOCK_IMDS": "true",
    "ECS_DISABLE_PRIVILEGED": "true",
    "ECS_ENABLE_AWSLOGS_EXECUTIONROLE_OVERRIDE": "true",
}
"""/etc/ecs/ecs.config on the ECS-optimized AMI: awsvpc tasks cannot reach instance metadata,
privileged containers are refused, and awslogs writes with the task execution role (so the
instance role needs no CloudWatch Logs rights). Spot capacity adds
``ECS_ENABLE_SPOT_INSTANCE_DRAINING``."""

BOTTLEROCKET_ECS_SETTINGS = {
    "awsvpc-block-imds": "true",
    "allow-privileged-containers": "false",
}
"""The same hardening as ``ECS_AGENT_CONFIG`` in Bottlerocket's ``[settings.ecs]``. Spot capacity
adds ``enable-spot-instance-draining``."""

# --- Monitoring ------------------------------------------------------------------------------

ALARM_PERIOD = Duration.minutes(1)
"""Alarms look at 1-minute data (ECS, Container Insights and ALB publish every minute), so a
bad rollout is caught, and rolled back, within minutes."""

ALARM_EVALUATION_PERIODS = 5
"""Alarms judge the last 5 minutes."""

ALARM_DATAPOINTS_TO_ALARM = 3
"""An alarm fires when 3 of the last 5 minutes breach: fast enough for deployment rollback,
immune to a single noisy minute (CloudWatch's "M out of N" recommendation)."""

ALARM_CPU_PERCENT = 80.0
"""Average service CPU above 80%: target tracking (50%) is not keeping up, or the service is
at its maximum task count."""

ALARM_MEMORY_PERCENT = 80.0
"""Average service memory above 80%: the next step is the hard limit and an OOM kill."""

ALARM_RUNNING_BELOW_DESIRED_MINUTES = 5
"""Fewer tasks running than desired for 5 consecutive minutes (Container Insights): tasks
crash, fail health checks, cannot be placed, or cannot pull their image."""

ALARM_LOAD_BALANCER_5XX_PERCENT = 5.0
"""5xx answered by the load balancer itself (502/503/504: no healthy target, target reset or
timed out) above 5% of requests."""

ALARM_TARGET_5XX_PERCENT = 5.0
"""5xx answered by the service above 5% of requests: a golden signal, used for rollback."""

ALARM_LATENCY_P99 = Duration.seconds(2)
"""p99 target response time above 2 s: a golden signal, used for rollback."""

ALARM_UNHEALTHY_HOSTS = 1
"""Any unhealthy target: a golden signal, used for rollback (a new revision failing the ALB
health check is caught before the old tasks are gone)."""

ALARM_REJECTED_CONNECTIONS = 1
"""Any connection rejected because the load balancer hit its connection limit."""

ALARM_TARGET_RESETS = 10
"""TCP resets sent by a Network Load Balancer's targets per minute: a new revision that
crashes or refuses connections resets them, while a few a minute are normal client churn."""

ALARM_TASK_FAILURES = 3
"""3 abnormal task stops (non-zero exit, failed health check, failed to start) within the
window: a restart loop."""

ALARM_TASK_FAILURE_WINDOW = Duration.minutes(15)
"""The restart-loop window: long enough to see a crash-restart cycle repeat."""

ALARM_MIN_REQUESTS = 10
"""5xx rates are judged only in minutes with at least 10 requests: one error in two requests
at 3 a.m. is not an outage."""

NOTIFICATION_RETENTION = Duration.days(14)
"""Undeliverable notifications wait 14 days (the SQS maximum) in the encrypted dead-letter
queue. Serverless-EventBusDLQ."""

UNDELIVERED_ALARM_PERIOD = Duration.minutes(5)
"""The undelivered-notifications alarm reads the dead-letter queue's depth over 5 minutes; one
waiting message alarms."""

LOG_ERROR_TERMS = ("ERROR", "Error", "error", "Exception", "FATAL", "Fatal", "panic", "Traceback")
"""Log lines containing any of these terms count as errors (metric filter terms are
case-sensitive)."""

LOG_METRIC_NAMESPACE = "EcsPatternsPlus/Services"
"""Namespace of the metrics the library's log metric filters publish."""

DASHBOARD_INTERVAL = Duration.hours(3)
"""The dashboard opens on the last 3 hours: a deployment and the traffic around it."""

DASHBOARD_EVENT_PERIOD = Duration.minutes(5)
"""The dashboard counts deployment and task events per 5 minutes: rare events read as counts,
not as one-minute spikes."""

# --- Jobs ------------------------------------------------------------------------------------

JOB_CAPACITY_PROVIDER_STRATEGY = (
    ecs.CapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=1),
)
"""Scheduled batch work runs on Fargate Spot: up to 70% cheaper, and a job can be retried if
Spot reclaims its capacity. One-off tasks (migrations) default to on-demand Fargate instead."""

ONE_OFF_CAPACITY_PROVIDER_STRATEGY: tuple[ecs.CapacityProviderStrategy, ...] = ()
"""One-off tasks run with ``--launch-type FARGATE``, on-demand: a migration must not be
interrupted by Spot."""

JOB_TASK_COUNT = 1
"""One task per scheduled invocation: a job that fans out says so."""

JOB_RETRY_ATTEMPTS = 3
"""EventBridge Scheduler retries a failed RunTask (throttling, capacity) three times, with
backoff, before the invocation goes to the dead-letter queue."""

JOB_MAX_EVENT_AGE = Duration.hours(1)
"""An invocation still failing after an hour goes to the dead-letter queue: a nightly job
that starts hours late is rarely what anyone wants (the scheduler's default is 24 hours)."""

JOB_DEAD_LETTER_RETENTION = Duration.days(14)
"""Failed invocations stay 14 days (the SQS maximum) for inspection and redrive."""

JOB_ALARM_PERIOD = Duration.minutes(5)
"""Job alarms sum 5 minutes of EventBridge Scheduler and SQS metrics; one failure alarms.
NIST/HIPAA CloudWatchAlarmAction and CT.CLOUDWATCH.PR.1/.4: every alarm has actions."""

JOB_EGRESS_PORT = 443
"""Job security groups allow HTTPS out only (AWS APIs through endpoints or NAT); open a
database port with ``connections.allow_to``. No inbound rules."""

JOB_MIN_RUN_TIME = Duration.minutes(1)
"""The shortest maximum run time a job accepts: the limit counts from RunTask, so it includes
placement, the image pull and start-up, which alone take tens of seconds on Fargate."""

JOB_MAX_RUN_TIME_LIMIT = Duration.days(365)
"""The longest maximum run time: a Standard Step Functions execution lasts one year at most."""

JOB_MAX_RETRIES = 10
"""At most 10 re-runs per kind (Spot interruption, failure): each is a full run of the task."""

JOB_START_RETRY_INTERVAL = Duration.seconds(30)
"""With a state machine, RunTask failures (``AmazonECS.Unknown``: no capacity, placement)
are retried after 30 s, doubling (``JOB_START_RETRY_BACKOFF``) up to
``JOB_START_RETRY_MAX_DELAY``, ``retry_attempts`` times: what EventBridge Scheduler does
when it calls RunTask itself."""

JOB_START_RETRY_BACKOFF = 2
"""Each RunTask retry of a job's state machine waits twice as long as the one before."""

JOB_START_RETRY_MAX_DELAY = Duration.minutes(5)
"""No RunTask retry of a job's state machine waits longer than 5 minutes."""

JOB_STATE_MACHINE_LOG_LEVEL = "ALL"
"""A job's state machine logs every execution event (AwsSolutions-SF1, CT.STEPFUNCTIONS.PR.1,
checkov CKV_AWS_285), without execution data: inputs, outputs and the described task stay
out of the logs (``includeExecutionData`` false)."""

JOB_STATE_MACHINE_LOG_GROUP_PREFIX = "/aws/vendedlogs/states/"
"""State machine logs are vended logs, admitted by the account's CloudWatch Logs resource
policy: under ``/aws/vendedlogs/`` one policy statement admits them all once the policy nears
its size limit (as ``EGRESS_LOG_GROUP_PREFIX``)."""

# --- Deployment ------------------------------------------------------------------------------

BAKE_TIME = Duration.minutes(10)
"""Blue and green both run this long after the full traffic shift: rollback stays instant."""

CANARY_PERCENT = 10
"""The brief's canary: 10 % of traffic to the new version first."""

CANARY_BAKE_TIME = Duration.minutes(10)
"""The canary serves real traffic this long before the rest shifts."""

LINEAR_STEP_PERCENT = 10
"""Linear: 10 % more traffic per step (10 steps)."""

LINEAR_STEP_BAKE_TIME = Duration.minutes(6)
"""Linear: wait between steps (the ECS default)."""

TEST_LISTENER_PORT = 9443
"""HTTPS test listener port for traffic-shifting strategies; never open to the internet."""

LIFECYCLE_HOOK_STAGES = (ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT,)
"""A lifecycle hook (e.g. a smoke test) runs after test traffic reaches the new tasks and
before production traffic shifts: a failure rolls back before users see the new version."""

CODE_DEPLOY_CONFIG = codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_5_MINUTES
"""CodeDeploy: the brief's canary (10 %, then the rest after 5 minutes)."""

# --- Route authentication --------------------------------------------------------------------
# Relied on: "Authenticate users using an Application Load Balancer" in the ELB user guide
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html)
# and the AuthenticateOidcActionConfig / AuthenticateCognitoActionConfig API reference.

AUTHENTICATION_SESSION_TIMEOUT = Duration.hours(1)
"""An authenticated session lasts one hour (AWS default: 7 days). The session cookie is a bearer
credential: with an IdP that issues no refresh token, a disabled account or a stolen cookie keeps
working until the session times out. After an hour the load balancer sends the user back to the
IdP, which signs a user with a live IdP session in again without a prompt."""

AUTHENTICATION_SCOPE = "openid"
"""The claims requested from the IdP: ``openid``, the one scope with which an IdP returns the ID
token the load balancer validates (AWS's default too). Add ``email`` or ``profile`` as needed."""

AUTHENTICATION_ON_UNAUTHENTICATED = elbv2.UnauthenticatedAction.AUTHENTICATE
"""A request without a session is redirected to the IdP's sign-in page (AWS's default); APIs
called by scripts and single-page apps pass ``UnauthenticatedAction.DENY`` to get HTTP 401."""

IDP_EGRESS_PORT = 443
"""The load balancer calls the IdP's token and user info endpoints over HTTPS (IPv4 only), from
its own security group, which otherwise sends only to its targets."""
