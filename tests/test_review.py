"""The pull-request review: exact findings on pairs of real synthesized templates.

One app is synthesized twice (before and after a change), with one small stack per kind of
change: a renamed construct, a property that forces replacement, an IAM statement widened
to ``*``, a security group opened to the internet, and a web service whose listener TLS
policy and task definition change.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager

from ecs_patterns_plus.review import (
    ExportChange,
    IamChange,
    LoadBalancingChange,
    Replacement,
    Report,
    ResourceChange,
    SecurityGroupChange,
    StackReview,
    TaskDefinitionChange,
    diagram,
    load_templates,
    render_markdown,
    review,
)
from ecs_patterns_plus.review.__main__ import EXIT_BAD_INPUT, EXIT_DATA_AT_RISK, main
from ecs_patterns_plus.review.mermaid import README_END, README_START, update_readme
from tests.snapshot import normalise
from tests.synth import new_app, synthesize

VPC = {
    "vpc_id": "vpc-0123456789abcdef0",
    "availability_zones": ["ap-northeast-2a", "ap-northeast-2b"],
    "public_subnet_ids": ["subnet-0a000000000000000", "subnet-0b000000000000000"],
    "public_subnet_route_table_ids": ["rtb-0a000000000000000", "rtb-0b000000000000000"],
    "private_subnet_ids": ["subnet-1a000000000000000", "subnet-1b000000000000000"],
    "private_subnet_route_table_ids": ["rtb-1a000000000000000", "rtb-1b000000000000000"],
}
STACKS = (
    "Exporter",
    "ForceReplace",
    "IamWidening",
    "Importer",
    "Rename",
    "SgOpening",
    "WeakImporter",
    "WebService",
)


def build(app: cdk.App, *, after: bool) -> None:
    """The example stacks, before (``after=False``) or after the change."""
    env = cdk.Environment(region="ap-northeast-2")
    retain = cdk.RemovalPolicy.RETAIN

    # A renamed construct: new logical ids. One log group keeps its fixed name.
    stack = cdk.Stack(app, "Rename", env=env)
    logs.LogGroup(stack, "AppLogs" if after else "Logs", removal_policy=retain)
    logs.LogGroup(
        stack,
        "NamedLogs" if after else "Named",
        log_group_name="/app/named",
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    legacy = logs.LogGroup(
        stack,
        "Legacy",
        retention=logs.RetentionDays.TWO_YEARS if after else logs.RetentionDays.ONE_YEAR,
        removal_policy=retain,
    )
    legacy_resource = legacy.node.default_child
    assert isinstance(legacy_resource, cdk.CfnResource)
    legacy_resource.override_logical_id("CurrentLogs" if after else "LegacyLogs")

    # A renamed construct whose ARN another stack imports through a strong reference
    # (CDK's default: Export + Fn::ImportValue): its export goes away.
    exporter = cdk.Stack(app, "Exporter", env=env)
    shared = logs.LogGroup(exporter, "SharedLogs" if after else "Shared", removal_policy=retain)
    importer = cdk.Stack(app, "Importer", env=env)
    cdk.CrossStackReferences.of(importer).consume(cdk.ReferenceStrength.STRONG)
    writer = iam.Role(
        importer, "Writer", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
    )
    writer.add_to_policy(
        iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=[shared.log_group_arn])
    )
    # A weak reference (cdk.json's default: Fn::GetStackOutput) locks nothing.
    reader = cdk.Stack(app, "WeakImporter", env=env)
    iam.Role(
        reader, "Reader", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
    ).add_to_policy(
        iam.PolicyStatement(actions=["logs:GetLogEvents"], resources=[shared.log_group_arn])
    )

    # A create-only property changed, and a metric filter that names the log group.
    stack = cdk.Stack(app, "ForceReplace", env=env)
    audit = logs.LogGroup(
        stack,
        "Audit",
        log_group_name="/app/audit-v2" if after else "/app/audit",
        removal_policy=retain,
    )
    audit.add_metric_filter(
        "Errors",
        filter_pattern=logs.FilterPattern.literal("ERROR"),
        metric_namespace="App",
        metric_name="Errors",
    )

    # An IAM statement widened from one bucket prefix to every resource.
    stack = cdk.Stack(app, "IamWidening", env=env)
    role = iam.Role(stack, "TaskRole", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=["*" if after else "arn:aws:s3:::example-bucket/*"],
        )
    )
    if after:  # no resource-level permissions: "*" is the only resource it takes
        role.add_to_policy(
            iam.PolicyStatement(sid="Pull", actions=["ecr:GetAuthorizationToken"], resources=["*"])
        )

    # A security group rule opened from the VPC to the internet.
    stack = cdk.Stack(app, "SgOpening", env=env)
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", **VPC)
    group = ec2.SecurityGroup(
        stack, "Service", vpc=vpc, allow_all_outbound=False, description="Service"
    )
    peer = ec2.Peer.any_ipv4() if after else ec2.Peer.ipv4("10.0.0.0/16")
    group.add_ingress_rule(peer, ec2.Port.tcp(8080))

    # A web service: TLS policy, image, cpu/memory and environment change.
    stack = cdk.Stack(app, "WebService", env=env)
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", **VPC)
    for name, service in (
        ("EcrApi", ec2.InterfaceVpcEndpointAwsService.ECR),
        ("EcrDkr", ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER),
    ):
        ec2.InterfaceVpcEndpoint(stack, name, vpc=vpc, service=service, open=False)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    task = ecs.FargateTaskDefinition(
        stack, "Task", cpu=512 if after else 256, memory_limit_mib=1024 if after else 512
    )
    environment = {"LOG_LEVEL": "debug" if after else "info"}
    if after:
        environment["FEATURE_X"] = "on"
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "DbSecret", "app/db")
    task.add_container(
        "web",
        image=ecs.ContainerImage.from_registry(
            f"public.ecr.aws/nginx/nginx:{'1.27' if after else '1.26'}"
        ),
        environment=environment,
        secrets={"DB_PASSWORD": ecs.Secret.from_secrets_manager(secret, "password")},
        port_mappings=[ecs.PortMapping(container_port=8080)],
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="web",
            log_group=logs.LogGroup(stack, "WebLogs", removal_policy=retain),
        ),
    )
    service = ecs.FargateService(
        stack,
        "Service",
        cluster=cluster,
        task_definition=task,
        min_healthy_percent=100,
        circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
    )
    load_balancer = elbv2.ApplicationLoadBalancer(stack, "LoadBalancer", vpc=vpc)
    certificate = acm.Certificate.from_certificate_arn(
        stack, "Certificate", "arn:aws:acm:ap-northeast-2:111122223333:certificate/example"
    )
    listener = load_balancer.add_listener(
        "Https",
        port=443,
        certificates=[certificate],
        ssl_policy=elbv2.SslPolicy.TLS12 if after else elbv2.SslPolicy.RECOMMENDED_TLS,
        open=False,
    )
    listener.add_targets("Web", port=8080, targets=[service])
    api = elbv2.ApplicationTargetGroup(
        stack,
        "Api",
        vpc=vpc,
        port=8081,
        protocol=elbv2.ApplicationProtocol.HTTP,
        target_type=elbv2.TargetType.IP,
    )
    cpu = service.metric_cpu_utilization()
    cloudwatch.Alarm(stack, "HighCpu", metric=cpu, threshold=90, evaluation_periods=3)
    cloudwatch.Dashboard(stack, "Dashboard").add_widgets(cloudwatch.GraphWidget(left=[cpu]))
    events.Rule(
        stack,
        "TaskStopped",
        event_pattern=events.EventPattern(
            source=["aws.ecs"], detail={"clusterArn": [cluster.cluster_arn]}
        ),
    )
    listener.add_target_groups(
        "Api",
        priority=10,
        conditions=[elbv2.ListenerCondition.path_patterns(["/api/*"])],
        target_groups=[api],
    )


@pytest.fixture(scope="module")
def outdirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """cdk.out directories of the app before and after the change (with path metadata)."""
    result = {}
    for version in ("before", "after"):
        app = new_app(tmp_path_factory.mktemp(version), **{"aws:cdk:enable-path-metadata": True})
        build(app, after=version == "after")
        result[version] = synthesize(app).outdir
    return result


@pytest.fixture(scope="module")
def report(outdirs: dict[str, Path]) -> Report:
    return review(load_templates(outdirs["before"]), load_templates(outdirs["after"]))


def stack_review(report: Report, name: str) -> StackReview:
    (found,) = [stack for stack in report.stacks if stack.name == name]
    return found


# --- Reading templates ------------------------------------------------------------------------


def test_cdk_out_templates_are_found_by_stack_name(outdirs: dict[str, Path]) -> None:
    assert sorted(load_templates(outdirs["before"])) == list(STACKS)


def test_stacks_in_stages_are_named_after_their_path_as_their_snapshots_are(
    tmp_path: Path,
) -> None:
    app = new_app(tmp_path / "cdk.out", validation=False)
    for stage_id in ("Dev", "Prod"):
        stack = cdk.Stack(cdk.Stage(app, stage_id), "Network")
        logs.CfnLogGroup(stack, "Logs")
    outdir = Path(app.synth().directory)
    assert sorted(load_templates(outdir)) == ["Dev-Network", "Prod-Network"]
    assert list(load_templates(outdir / "assembly-Prod")) == ["Prod-Network"]


def test_snapshot_files_review_like_cdk_out(
    outdirs: dict[str, Path], report: Report, tmp_path: Path
) -> None:
    for version in ("before", "after"):
        folder = tmp_path / version / "test_snapshots"
        folder.mkdir(parents=True)
        for name, template in load_templates(outdirs[version]).items():
            path = folder / f"test_scenario[{name}].json"
            path.write_text(json.dumps(normalise(template), indent=2))
    from_snapshots = review(load_templates(tmp_path / "before"), load_templates(tmp_path / "after"))
    assert from_snapshots == report


def test_json_files_under_snapshots_are_templates_other_json_files_are_not(
    outdirs: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "__snapshots__" / "test_web"
    folder.mkdir(parents=True)
    shutil.copy(outdirs["after"] / "SgOpening.template.json", folder / "test_security_group.json")
    (tmp_path / "notes.json").write_text("not JSON, and not a template either")
    assert list(load_templates(tmp_path)) == ["test_security_group"]


# --- Replacements -----------------------------------------------------------------------------


def test_renamed_construct_is_replaced_and_its_data_flagged(report: Report) -> None:
    assert stack_review(report, "Rename") == StackReview(
        name="Rename",
        status="modified",
        replacements=(
            Replacement(
                stack="Rename",
                logical_id="AppLogsC5DF83A6",
                resource_type="AWS::Logs::LogGroup",
                cause="renamed",
                because=("Logs6819BB44",),
                holds_data=True,
                policy="Retain",
            ),
            Replacement(
                stack="Rename",
                logical_id="CurrentLogs",
                resource_type="AWS::Logs::LogGroup",
                cause="renamed",
                because=("LegacyLogs",),
                holds_data=True,
                policy="Retain",
            ),
            Replacement(
                stack="Rename",
                logical_id="NamedLogs33F7C9D2",
                resource_type="AWS::Logs::LogGroup",
                cause="renamed",
                because=("NamedD2F31604",),
                holds_data=True,
                policy="Delete",
                name_conflict="/app/named",
            ),
        ),
    )


def test_create_only_property_change_replaces_and_cascades(report: Report) -> None:
    assert stack_review(report, "ForceReplace") == StackReview(
        name="ForceReplace",
        status="modified",
        replacements=(
            Replacement(
                stack="ForceReplace",
                logical_id="Audit3D8ADE0A",
                resource_type="AWS::Logs::LogGroup",
                cause="property",
                because=("LogGroupName",),
                holds_data=True,
                policy="Retain",
            ),
            Replacement(
                stack="ForceReplace",
                logical_id="AuditErrorsD8CB56DC",
                resource_type="AWS::Logs::MetricFilter",
                cause="reference",
                because=("Audit3D8ADE0A",),
                holds_data=False,
                policy="Delete",
            ),
        ),
    )


def test_export_in_use_that_goes_away_fails_the_update(report: Report) -> None:
    assert stack_review(report, "Exporter").exports == (
        ExportChange(
            stack="Exporter",
            export="Exporter:ExportsOutputFnGetAttSharedDACC02AAArnC693039C",
            change="removed",
            imported_by=("Importer",),
        ),
    )
    assert stack_review(report, "Importer").exports == ()
    weak = stack_review(report, "WeakImporter")
    assert weak.exports == ()
    assert [(change.change, change.statement) for change in weak.iam] == [
        (
            "-",
            "Allow logs:GetLogEvents on output(Exporter.PublishOutputFnGetAttSharedDACC02AAArnDAA7A996)",
        ),
        (
            "+",
            "Allow logs:GetLogEvents on output(Exporter.PublishOutputFnGetAttSharedLogsF9B7E39DArn471C50CA)",
        ),
    ]


# --- IAM, security groups, load balancing, task definitions ---------------------------------


def test_iam_widening_to_every_resource_is_flagged_where_resources_can_be_named(
    report: Report,
) -> None:
    assert stack_review(report, "IamWidening") == StackReview(
        name="IamWidening",
        status="modified",
        changes=(
            ResourceChange(
                stack="IamWidening",
                logical_id="TaskRoleDefaultPolicy07FC53DE",
                resource_type="AWS::IAM::Policy",
                action="modified",
                properties=("PolicyDocument",),
            ),
        ),
        iam=(
            IamChange(
                stack="IamWidening",
                logical_id="TaskRoleDefaultPolicy07FC53DE",
                resource_type="AWS::IAM::Policy",
                document="policy",
                change="-",
                statement="Allow s3:GetObject on arn:aws:s3:::example-bucket/*",
            ),
            IamChange(
                stack="IamWidening",
                logical_id="TaskRoleDefaultPolicy07FC53DE",
                resource_type="AWS::IAM::Policy",
                document="policy",
                change="+",
                statement="Allow s3:GetObject on *",
                flags=("Resource *",),
            ),
            IamChange(
                stack="IamWidening",
                logical_id="TaskRoleDefaultPolicy07FC53DE",
                resource_type="AWS::IAM::Policy",
                document="policy",
                change="+",
                statement="Allow ecr:GetAuthorizationToken on *",
            ),
        ),
    )


def test_security_group_opened_to_the_internet_is_flagged(report: Report) -> None:
    assert stack_review(report, "SgOpening") == StackReview(
        name="SgOpening",
        status="modified",
        changes=(
            ResourceChange(
                stack="SgOpening",
                logical_id="ServiceDBC79909",
                resource_type="AWS::EC2::SecurityGroup",
                action="modified",
                properties=("SecurityGroupIngress",),
            ),
        ),
        security_groups=(
            SecurityGroupChange(
                stack="SgOpening",
                group="ServiceDBC79909",
                change="-",
                direction="ingress",
                rule="tcp 8080 from 10.0.0.0/16",
            ),
            SecurityGroupChange(
                stack="SgOpening",
                group="ServiceDBC79909",
                change="+",
                direction="ingress",
                rule="tcp 8080 from 0.0.0.0/0",
                flags=("open to the internet",),
            ),
        ),
    )


def test_tls_policy_without_tls13_is_flagged(report: Report) -> None:
    assert stack_review(report, "WebService").load_balancing == (
        LoadBalancingChange(
            stack="WebService",
            logical_id="LoadBalancerHttps0C5C99D2",
            resource_type="AWS::ElasticLoadBalancingV2::Listener",
            setting="SslPolicy",
            old="ELBSecurityPolicy-TLS13-1-2-2021-06",
            new="ELBSecurityPolicy-TLS-1-2-2017-01",
            flags=("no TLS 1.3",),
        ),
    )


def test_new_load_balancer_flags_only_what_weakens_it(outdirs: dict[str, Path]) -> None:
    web = load_templates(outdirs["after"])["WebService"]
    changes = review({}, {"WebService": web}).load_balancing
    assert ("Protocol", "HTTP", ()) in [(c.setting, c.new, c.flags) for c in changes]  # targets
    assert [(c.logical_id, c.setting, c.flags) for c in changes if c.flags] == [
        ("LoadBalancerBE9EEC3A", "deletion_protection.enabled", ("deletion protection off",)),
        ("LoadBalancerHttps0C5C99D2", "SslPolicy", ("no TLS 1.3",)),
    ]


def test_task_definition_image_cpu_memory_and_environment_names(report: Report) -> None:
    def change(
        container: str, setting: str, old: str, new: str, *flags: str
    ) -> TaskDefinitionChange:
        return TaskDefinitionChange(
            "WebService", "Task79114B6B", container, setting, old, new, tuple(flags)
        )

    assert stack_review(report, "WebService").task_definitions == (
        change("", "cpu", "256", "512"),
        change("", "memory", "512", "1024"),
        change(
            "web", "image", "public.ecr.aws/nginx/nginx:1.26", "public.ecr.aws/nginx/nginx:1.27"
        ),
        change("web", "environment", "", "FEATURE_X"),
        change("web", "environment", "LOG_LEVEL", "LOG_LEVEL", "value changed"),
    )


def test_task_definition_is_a_new_revision_and_the_service_follows(report: Report) -> None:
    web = stack_review(report, "WebService")
    assert web.replacements == (
        Replacement(
            stack="WebService",
            logical_id="Task79114B6B",
            resource_type="AWS::ECS::TaskDefinition",
            cause="property",
            because=("ContainerDefinitions", "Cpu", "Memory"),
            holds_data=False,
            policy="Delete",
        ),
    )
    assert web.changes == (
        ResourceChange(
            stack="WebService",
            logical_id="LoadBalancerHttps0C5C99D2",
            resource_type="AWS::ElasticLoadBalancingV2::Listener",
            action="modified",
            properties=("SslPolicy",),
        ),
        ResourceChange(
            stack="WebService",
            logical_id="ServiceD69D759B",
            resource_type="AWS::ECS::Service",
            action="modified",
            properties=("TaskDefinition",),
        ),
    )
    assert web.iam == () and web.security_groups == ()


def test_identical_templates_report_no_change(outdirs: dict[str, Path]) -> None:
    templates = load_templates(outdirs["after"])
    same = review(templates, templates)
    assert [stack.status for stack in same.stacks] == ["unchanged"] * len(STACKS)
    assert render_markdown(same) == "## Template review\n\nNo changes in 8 templates.\n"


def test_added_and_removed_stacks(outdirs: dict[str, Path]) -> None:
    templates = load_templates(outdirs["after"])
    only_new = review({}, {"IamWidening": templates["IamWidening"]})
    assert [(s.name, s.status, s.count("added")) for s in only_new.stacks] == [
        ("IamWidening", "added", 2)
    ]
    assert [(item.logical_id, item.document, item.change) for item in only_new.iam] == [
        ("TaskRole30FC0FBB", "trust policy", "+"),
        ("TaskRoleDefaultPolicy07FC53DE", "policy", "+"),
        ("TaskRoleDefaultPolicy07FC53DE", "policy", "+"),
    ]
    gone = review({"Rename": templates["Rename"]}, {})
    assert [(item.logical_id, item.policy) for item in gone.data_removed] == [
        ("AppLogsC5DF83A6", "Retain"),
        ("CurrentLogs", "Retain"),
        ("NamedLogs33F7C9D2", "Delete"),
    ]


# --- The command ------------------------------------------------------------------------------


def test_command_prints_markdown_and_exits_zero(
    outdirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(outdirs["before"]), str(outdirs["after"])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Template review\n\n8 stacks changed of 8.\n")
    assert "> **5 resources holding data will be replaced**: the new one starts empty." in out
    assert (
        "| Rename | `NamedLogs33F7C9D2` | Logs::LogGroup | logical id changed, was "
        "`NamedD2F31604` | **holds data**, deleted; **fails: name `/app/named` is taken** |"
    ) in out
    assert (
        "| IamWidening | `TaskRoleDefaultPolicy07FC53DE` | policy | added | "
        "`Allow s3:GetObject on *` | ⚠️ Resource * |"
    ) in out
    assert "```mermaid\nflowchart LR\n" in out


def test_command_prints_the_monthly_cost_of_the_change(
    outdirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = str(outdirs["before"]), str(outdirs["after"])
    assert main([before, after, "--no-diagrams", "--region", "ap-northeast-2"]) == 0
    out = capsys.readouterr().out
    assert "\n### Monthly cost\n\nList prices in ap-northeast-2, USD a month" in out
    assert "<summary>Assumptions</summary>" in out
    assert main([before, after, "--no-diagrams", "--no-cost"]) == 0
    assert "### Monthly cost" not in capsys.readouterr().out


def test_long_report_is_shortened_to_fit_one_comment(report: Report) -> None:
    note = "\n\n_Shortened to fit one comment: run the review locally for every row._\n"
    full = render_markdown(report)
    assert "<details>" in full and note not in full
    short = render_markdown(report, max_chars=len(full) - 1)
    assert short.endswith(note) and "<details>" not in short
    assert "\n6 resources added, removed or modified in place.\n" in short
    assert "| Rename | `NamedLogs33F7C9D2` | Logs::LogGroup |" in short
    tiny = render_markdown(report, max_chars=400)
    assert len(tiny) <= 400 and tiny.endswith(note)


def test_fail_on_replace_data_exits_3_only_when_data_is_at_risk(
    outdirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = str(outdirs["before"]), str(outdirs["after"])
    assert main([before, after, "--fail-on-replace-data"]) == EXIT_DATA_AT_RISK == 3
    only_iam = ["--pattern", "IamWidening.template.json", "--fail-on-replace-data"]
    assert main([before, after, *only_iam]) == 0
    capsys.readouterr()


def copy_stacks(source: Path, target: Path, *stacks: str) -> Path:
    """``target``, a new directory holding the templates of ``stacks`` from ``source``."""
    target.mkdir(parents=True)
    for stack in stacks:
        shutil.copy(source / f"{stack}.template.json", target)
    return target


def one_side(side: str, path: Path | str, outdirs: dict[str, Path]) -> list[str]:
    """The command's arguments: ``path`` as ``side`` (base or new), the test app as the other."""
    if side == "base":
        return [str(path), str(outdirs["after"])]
    return [str(outdirs["before"]), str(path)]


def refusal(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    """(exit status, stderr, stdout) of a command that stops before the report."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.err, captured.out


@pytest.mark.parametrize("side", ["base", "new"])
def test_command_refuses_a_missing_directory(
    side: str, outdirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # Allowing an empty base does not excuse a base that is not there.
    argv = [*one_side(side, "no-such-dir", outdirs), "--allow-empty-base"]
    assert refusal(argv, capsys) == (
        EXIT_BAD_INPUT,
        f"review: {side}: no-such-dir: no such file or directory\n",
        "",
    )
    assert EXIT_BAD_INPUT == 2


@pytest.mark.parametrize("side", ["base", "new"])
@pytest.mark.parametrize("content", ["empty", "assembly files only"])
def test_command_refuses_a_directory_without_templates(
    side: str,
    content: str,
    outdirs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = tmp_path / "cdk.out"
    empty.mkdir()
    if content == "assembly files only":  # a synthesis that failed before writing templates
        for name in ("manifest.json", "tree.json", "cdk.out"):
            shutil.copy(outdirs["before"] / name, empty)
    assert refusal(one_side(side, empty, outdirs), capsys) == (
        2,
        f"review: {side}: no templates in {empty} "
        "(looked for *.template.json and snapshot files)\n",
        "",
    )


@pytest.mark.parametrize("side", ["base", "new"])
def test_command_refuses_a_template_that_is_not_valid_json(
    side: str, outdirs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    version = "before" if side == "base" else "after"
    corrupt = copy_stacks(outdirs[version], tmp_path / version, "Rename", "SgOpening")
    (corrupt / "SgOpening.template.json").write_text('{\n  "Resources": {\n    oops\n  }\n}\n')
    assert refusal(one_side(side, corrupt, outdirs), capsys) == (
        2,
        f"review: {side}: {corrupt / 'SgOpening.template.json'}: "
        "not valid JSON (line 3, column 5)\n",
        "",
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"AWSTemplateFormatVersion": "2010-09-09"}', "no Resources object"),
        ('{"Resources": ["Bucket"]}', "no Resources object"),
        ("[]", "no Resources object"),
        ('{"Resources": {"Bucket": {"Properties": {}}}}', "resource 'Bucket' has no Type"),
    ],
)
def test_command_refuses_json_that_is_not_a_template(
    text: str,
    reason: str,
    outdirs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    snapshots = tmp_path / "test_snapshots"
    snapshots.mkdir()
    for name, template in load_templates(outdirs["before"]).items():
        (snapshots / f"test_scenario[{name}].json").write_text(json.dumps(template))
    odd = snapshots / "test_scenario[Odd].json"
    odd.write_text(text)
    assert refusal([str(tmp_path), str(outdirs["after"])], capsys) == (
        2,
        f"review: base: {odd}: not a CloudFormation template ({reason})\n",
        "",
    )


def test_command_refuses_a_single_file_that_is_not_a_template(
    outdirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = outdirs["after"] / "manifest.json"
    assert refusal([str(outdirs["before"] / "Rename.template.json"), str(manifest)], capsys) == (
        2,
        f"review: new: {manifest}: not a CloudFormation template (no Resources object)\n",
        "",
    )


def test_command_refuses_a_pattern_that_matches_no_stack(
    outdirs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    before, after = str(outdirs["before"]), str(outdirs["after"])
    assert refusal([before, after, "--pattern", "x*"], capsys) == (
        2,
        "review: --pattern 'x*' matches no stack in base or new\n",
        "",
    )


def summary_rows(markdown: str) -> list[str]:
    """The stack rows of the report's summary table, as ``Stack status``."""
    table = markdown.split("| Stack | Status |", 1)[1].split("\n\n", 1)[0]
    return [" ".join(line.split(" | ")[:2]).strip("| ") for line in table.splitlines()[2:]]


def test_command_reviews_a_stack_present_on_one_side_only(
    outdirs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = copy_stacks(outdirs["before"], tmp_path / "before", "Rename", "IamWidening")
    after = copy_stacks(outdirs["after"], tmp_path / "after", "Rename", "SgOpening")
    assert main([str(before), str(after), "--no-diagrams"]) == 0
    assert summary_rows(capsys.readouterr().out) == [
        "IamWidening removed",
        "Rename modified",
        "SgOpening added",
    ]
    assert main([str(before), str(after), "--pattern", "SgOpening*"]) == 0
    assert summary_rows(capsys.readouterr().out) == ["SgOpening added"]
    assert main([str(before), str(after), "--pattern", "IamWidening*"]) == 0
    assert summary_rows(capsys.readouterr().out) == ["IamWidening removed"]


def test_empty_base_is_reviewed_only_when_allowed(
    outdirs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "base"
    empty.mkdir()
    after = str(outdirs["after"])
    assert refusal([str(empty), after], capsys)[:2] == (
        2,
        f"review: base: no templates in {empty} (looked for *.template.json and snapshot files)\n",
    )
    assert main([str(empty), after, "--allow-empty-base", "--no-diagrams"]) == 0
    assert summary_rows(capsys.readouterr().out) == [f"{name} added" for name in STACKS]
    assert refusal([after, str(empty), "--allow-empty-base"], capsys)[:2] == (
        2,
        f"review: new: no templates in {empty} (looked for *.template.json and snapshot files)\n",
    )


# --- Diagrams ---------------------------------------------------------------------------------


def test_diagram_follows_the_request_path(outdirs: dict[str, Path]) -> None:
    source = diagram(load_templates(outdirs["after"])["WebService"])
    for edge in (
        "LoadBalancerBE9EEC3A --> LoadBalancerHttps0C5C99D2",
        "LoadBalancerHttps0C5C99D2 --> LoadBalancerHttpsWebGroupDB4F9BF8",
        "LoadBalancerHttpsWebGroupDB4F9BF8 --> ServiceD69D759B",
        "ServiceD69D759B --> Task79114B6B",
        "ServiceD69D759B --> ClusterEB0386A7",
        "Task79114B6B --> WebLogs48A7C011",
        "LoadBalancerHttps0C5C99D2 --> ApiF70053CD",
    ):
        assert f"  {edge}\n" in source
    assert '["Listener<br/>LoadBalancer/Https<br/>HTTPS:443"]' in source


def test_diagram_leaves_out_plumbing_and_folds_endpoints(outdirs: dict[str, Path]) -> None:
    source = diagram(load_templates(outdirs["after"])["WebService"])
    assert 'n_VPC_endpoints["VPC endpoints<br/>ecr.api, ecr.dkr"]' in source
    for plumbing in ("TaskRole", "ExecutionRole", "SecurityGroup", "EcrApi"):
        assert plumbing not in source


def test_diagram_draws_monitoring_apart_and_dashboards_without_edges(
    outdirs: dict[str, Path],
) -> None:
    source = diagram(load_templates(outdirs["after"])["WebService"])
    monitoring = source.split('subgraph n_Monitoring["Monitoring"]\n', 1)[1].split("  end\n")[0]
    assert monitoring.splitlines() == [
        '    n_Alarms["Alarm<br/>HighCpu"]',
        '    n_Event_rules["Event rule<br/>TaskStopped"]',
        '    Dashboard9E4231ED["Dashboard"]',
    ]
    assert "  ServiceD69D759B -.-> n_Alarms\n" in source
    assert "  ClusterEB0386A7 -.-> n_Event_rules\n" in source
    assert not [line for line in source.splitlines() if "Dashboard" in line and "->" in line]


SNAPSHOTS = Path(__file__).parent / "__snapshots__" / "test_snapshots"


def scenario_diagram(name: str) -> str:
    """The diagram of a scenario's snapshot template."""
    return diagram(load_templates(SNAPSHOTS / f"test_scenario[{name}].json")[name])


def connect_service(name: str, *published: Mapping[str, object]) -> dict[str, object]:
    """A Service Connect service (``<name>``, in group ``<name>Sg``, task ``<name>Task``).

    A server when it publishes ports, a client only otherwise.
    """
    connect: dict[str, object] = {"Enabled": True, "Namespace": "shop"}
    if published:
        connect["Services"] = list(published)
    return {
        "Type": "AWS::ECS::Service",
        "Properties": {
            "Cluster": {"Ref": "Cluster"},
            "TaskDefinition": {"Ref": f"{name}Task"},
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    "SecurityGroups": [{"Fn::GetAtt": [f"{name}Sg", "GroupId"]}]
                }
            },
            "ServiceConnectConfiguration": connect,
        },
    }


def connect_template(
    services: dict[str, dict[str, object]], ports: dict[str, int], *admitted: tuple[str, str, int]
) -> dict[str, object]:
    """A stack of ``services`` whose tasks map named ``ports``; ``admitted``: (server, client, port).

    Each (server, client, port) is an ingress rule on the server's group from the client's.
    """
    template: dict[str, dict[str, object]] = {
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "LbSg": {"Type": "AWS::EC2::SecurityGroup"},
    }
    for name, service in services.items():
        template[name] = service
        template[f"{name}Sg"] = {"Type": "AWS::EC2::SecurityGroup"}
        template[f"{name}Task"] = {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "ContainerDefinitions": [
                    {
                        "Name": "app",
                        "PortMappings": [
                            {"Name": port_name, "ContainerPort": port}
                            for port_name, port in ports.items()
                        ],
                    }
                ]
            },
        }
    for server, client, port in admitted:
        template[f"{server}From{client}{port}"] = {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": [f"{server}Sg", "GroupId"]},
                "SourceSecurityGroupId": {"Fn::GetAtt": [f"{client}Sg", "GroupId"]},
                "IpProtocol": "tcp",
                "FromPort": port,
                "ToPort": port,
            },
        }
    return {"Resources": template}


def connect_edges(source: str) -> list[str]:
    return [line.strip() for line in source.splitlines() if "Service Connect" in line]


@pytest.mark.parametrize(
    ("scenario", "name"),
    [("BackendDefaults", "backenddefaults-platform"), ("BackendOptions", "shop.internal")],
)
def test_diagram_draws_the_cloud_map_namespace_with_the_cluster(scenario: str, name: str) -> None:
    source = scenario_diagram(scenario)
    ecs = source.split('subgraph n_ECS["ECS"]\n', 1)[1].split("  end\n")[0]
    assert (
        '    PlatformClusterDefaultServiceDiscoveryNamespaceC5E30653["Cloud Map namespace'
        f'<br/>Platform/Cluster/DefaultServiceDiscoveryNamespace<br/>{name}"]\n'
    ) in ecs
    assert (
        "  PlatformCluster6842C9C4 --> PlatformClusterDefaultServiceDiscoveryNamespaceC5E30653\n"
    ) in source


def test_diagram_leaves_out_the_vpc_of_a_private_dns_namespace() -> None:
    source = diagram(
        {
            "Resources": {
                "Vpc": {"Type": "AWS::EC2::VPC"},
                "Namespace": {
                    "Type": "AWS::ServiceDiscovery::PrivateDnsNamespace",
                    "Properties": {"Name": "shop.internal", "Vpc": {"Ref": "Vpc"}},
                },
            }
        }
    )
    assert '    Namespace["Cloud Map namespace<br/>Namespace<br/>shop.internal"]\n' in source
    assert "-->" not in source


def test_diagram_draws_service_connect_from_the_client_to_the_server() -> None:
    # The web service calls orders; orders calls nobody.
    assert connect_edges(scenario_diagram("BackendDefaults")) == [
        'WebServiceD04B5F3E -- "Service Connect orders:8080" --> OrdersServiceD066556E'
    ]
    # Clients call ledger at ledger.shop:5432; its proxy listens on the container port (8080).
    # Inventory publishes a port too, but admits no client.
    assert connect_edges(scenario_diagram("BackendOptions")) == [
        'InventoryService6EC5EA44 -- "Service Connect ledger.shop:5432" --> LedgerService260746E8'
    ]


def test_diagram_draws_no_service_connect_call_that_no_rule_admits() -> None:
    orders = {"PortName": "orders", "ClientAliases": [{"DnsName": "orders", "Port": 80}]}
    services = {"Web": connect_service("Web"), "Orders": connect_service("Orders", orders)}
    ports = {"orders": 8080, "admin": 9090}
    assert connect_edges(diagram(connect_template(services, ports))) == []
    # Rules from a group that is no client's, and from the client on a port not published.
    assert (
        connect_edges(
            diagram(
                connect_template(services, ports, ("Orders", "Lb", 8080), ("Orders", "Web", 9090))
            )
        )
        == []
    )
    assert connect_edges(diagram(connect_template(services, ports, ("Orders", "Web", 8080)))) == [
        'Web -- "Service Connect orders:80" --> Orders'
    ]


def test_diagram_draws_a_service_connect_call_to_each_server_a_client_may_call() -> None:
    services = {
        "Web": connect_service("Web"),
        "Worker": connect_service("Worker"),
        "Orders": connect_service(
            "Orders", {"PortName": "orders", "ClientAliases": [{"DnsName": "orders", "Port": 80}]}
        ),
        "Ledger": connect_service("Ledger", {"PortName": "ledger"}),  # no alias: its port name
    }
    source = diagram(
        connect_template(
            services,
            {"orders": 8080, "ledger": 8080},
            ("Orders", "Web", 8080),
            ("Ledger", "Web", 8080),
            ("Ledger", "Worker", 8080),
        )
    )
    assert connect_edges(source) == [
        'Web -- "Service Connect ledger" --> Ledger',
        'Web -- "Service Connect orders:80" --> Orders',
        'Worker -- "Service Connect ledger" --> Ledger',
    ]


def test_readme_block_is_rewritten_between_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n{README_START}\nold\n{README_END}\n\nAfter.\n")
    assert update_readme(readme, {"Web": "flowchart LR\n  a --> b\n"}) is True
    assert readme.read_text() == (
        f"# Title\n\n{README_START}\n**Web**\n\n```mermaid\nflowchart LR\n  a --> b\n```\n"
        f"{README_END}\n\nAfter.\n"
    )
    assert update_readme(readme, {"Web": "flowchart LR\n  a --> b\n"}) is False
    (tmp_path / "OTHER.md").write_text("no markers\n")
    with pytest.raises(ValueError, match="no <!-- diagrams:start -->"):
        update_readme(tmp_path / "OTHER.md", {})


# --- Authentication on a route ------------------------------------------------------------------


def _route_template(*, authenticated: bool) -> dict[str, object]:
    """A SecureLoadBalancer with one route to /admin/*, with or without Cognito sign-in."""
    from aws_cdk import aws_cognito as cognito
    from aws_cdk.assertions import Template

    from ecs_patterns_plus import ListenerRouting, RouteAuthentication, SecureLoadBalancer

    stack = cdk.Stack(
        new_app(validation=False), "Web", env=cdk.Environment(region="ap-northeast-2")
    )
    vpc = ec2.Vpc.from_vpc_attributes(stack, "Vpc", **VPC)
    certificate = acm.Certificate.from_certificate_arn(
        stack, "Certificate", "arn:aws:acm:ap-northeast-2:111122223333:certificate/example"
    )
    load_balancer = SecureLoadBalancer(stack, "LoadBalancer", vpc=vpc, certificate=certificate)
    authentication = RouteAuthentication.cognito(
        user_pool=cognito.UserPool.from_user_pool_id(stack, "Pool", "ap-northeast-2_AbCdEfGhI"),
        user_pool_client=cognito.UserPoolClient.from_user_pool_client_id(
            stack, "Client", "1example23456789"
        ),
        user_pool_domain=cognito.UserPoolDomain.from_domain_name(stack, "Domain", "myapp-auth"),
    )
    load_balancer.add_route(
        "AdminRoute",
        target_group=elbv2.ApplicationTargetGroup(
            stack, "Admin", vpc=vpc, port=8080, target_type=elbv2.TargetType.IP
        ),
        routing=ListenerRouting(
            priority=10,
            path_patterns=["/admin/*"],
            authentication=authentication if authenticated else None,
        ),
    )
    return Template.from_stack(stack).to_json()


def test_route_whose_authentication_is_removed_is_flagged() -> None:
    with_sign_in = _route_template(authenticated=True)
    without = _route_template(authenticated=False)
    removed = review({"Web": with_sign_in}, {"Web": without}).stacks[0].load_balancing
    (rule,) = [change for change in removed if change.setting == "Actions"]
    assert rule == LoadBalancingChange(
        stack="Web",
        logical_id="LoadBalancerAdminRouteE63240E1",
        resource_type="AWS::ElasticLoadBalancingV2::ListenerRule",
        setting="Actions",
        old=(
            "authenticate-cognito OnUnauthenticatedRequest=authenticate Scope=openid "
            "SessionTimeout=3600 UserPoolArn=arn:aws:cognito-idp:ap-northeast-2:"
            "${AWS::AccountId}:userpool/ap-northeast-2_AbCdEfGhI "
            "UserPoolClientId=1example23456789 UserPoolDomain=myapp-auth; forward ${AdminC75D2A91}"
        ),
        new="forward ${AdminC75D2A91}",
        flags=("authentication removed",),
    )
    added = review({"Web": without}, {"Web": with_sign_in}).stacks[0].load_balancing
    assert [change.flags for change in added] == [()]


def test_the_report_shows_preflight_findings_the_change_brings() -> None:
    from ecs_patterns_plus.preflight import METADATA_KEY

    def template(*findings: dict[str, object]) -> dict[str, object]:
        return {
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {}}},
            "Metadata": {METADATA_KEY: list(findings)},
        }

    old = {
        "id": "ecs-patterns-plus:preflight-grace-period",
        "path": "Web/Service",
        "message": "grace period too short",
        "error": False,
    }
    new = {
        "id": "ecs-patterns-plus:preflight-subnet-headroom",
        "path": "Web/Orders",
        "message": "the subnets have 22 free addresses",
        "error": True,
    }
    base_template = template(old)
    new_template = template(old, new)
    new_template["Resources"]["Other"] = {"Type": "AWS::SQS::Queue", "Properties": {}}  # type: ignore[index]
    found = review({"Web": base_template}, {"Web": new_template})  # type: ignore[dict-item]
    (finding,) = found.preflight
    assert (finding.check, finding.path, finding.error) == ("subnet-headroom", "Web/Orders", True)
    markdown = render_markdown(found)
    assert "### Preflight" in markdown
    assert (
        "| Web | `Web/Orders` | `subnet-headroom` | the subnets have 22 free addresses "
        "| ⚠️ the deployment would fail |"
    ) in markdown
    assert "grace period too short" not in markdown
