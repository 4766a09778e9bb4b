"""Intent tests: the guarantees of HardenedTaskDefinition, by name, and its bad-input errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Match

from ecs_patterns_plus import (
    HardenedTaskDefinition,
    HealthCheckOptions,
    LogOptions,
    SecretValue,
    SidecarOptions,
    ValidationError,
)
from tests.scenarios import load_all
from tests.synth import Synthesized
from tests.util import resources_of, stack_for_errors

DIGEST = "sha256:" + "ab" * 32
TASK_DEFINITION_SCENARIOS = [name for name in load_all() if name.startswith("TaskDef")]


def _task(synth: Synthesized, stack: str) -> dict[str, Any]:
    (task,) = resources_of(synth, stack, "AWS::ECS::TaskDefinition").values()
    return task["Properties"]


def _containers(synth: Synthesized, stack: str) -> dict[str, dict[str, Any]]:
    return {c["Name"]: c for c in _task(synth, stack)["ContainerDefinitions"]}


def _logical_id(synth: Synthesized, stack: str, resource_type: str, prefix: str) -> str:
    (logical_id,) = [k for k in resources_of(synth, stack, resource_type) if k.startswith(prefix)]
    return logical_id


def _acknowledged(synth: Synthesized, stack: str, path_suffix: str) -> set[str]:
    return {
        rule
        for path, data in synth.metadata_entries(stack, "aws:cdk:acknowledged-rules")
        if path.endswith(path_suffix)
        for rule in (key.removeprefix("Annotation::") for key in data)
    }


# --- Task size and platform ----------------------------------------------------------------------


@pytest.mark.scenarios("TaskDefDefaults")
def test_fargate_awsvpc_task_of_the_smallest_size_by_default(scenarios: Synthesized) -> None:
    task = _task(scenarios, "TaskDefDefaults")
    assert (task["Cpu"], task["Memory"]) == ("256", "512")
    assert task["NetworkMode"] == "awsvpc"
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["RuntimePlatform"] == {
        "CpuArchitecture": "X86_64",
        "OperatingSystemFamily": "LINUX",
    }
    assert "EphemeralStorage" not in task


@pytest.mark.scenarios("TaskDefArm64")
def test_arm64_with_more_ephemeral_storage(scenarios: Synthesized) -> None:
    task = _task(scenarios, "TaskDefArm64")
    assert task["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    assert task["EphemeralStorage"] == {"SizeInGiB": 50}
    assert (task["Cpu"], task["Memory"]) == ("1024", "3072")


@pytest.mark.scenarios("TaskDefEc2")
def test_ec2_task_uses_awsvpc_gpus_and_architecture_placement(scenarios: Synthesized) -> None:
    task = _task(scenarios, "TaskDefEc2")
    assert task["RequiresCompatibilities"] == ["EC2"]
    assert task["NetworkMode"] == "awsvpc"
    assert "RuntimePlatform" not in task
    assert task["PlacementConstraints"] == [
        {"Type": "memberOf", "Expression": "attribute:ecs.cpu-architecture == x86_64"}
    ]
    (app,) = task["ContainerDefinitions"]
    assert app["ResourceRequirements"] == [{"Type": "GPU", "Value": "1"}]


# --- Container hardening -------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["TaskDefDefaults", "TaskDefSidecar", "TaskDefExec"])
@pytest.mark.scenarios(param="stack")
def test_every_container_has_a_read_only_root_filesystem(
    scenarios: Synthesized, stack: str
) -> None:
    for container in _containers(scenarios, stack).values():
        assert container["ReadonlyRootFilesystem"] is True


@pytest.mark.scenarios("TaskDefDefaults")
def test_tmp_is_the_only_writable_path_by_default_as_a_task_volume(scenarios: Synthesized) -> None:
    task = _task(scenarios, "TaskDefDefaults")
    (app,) = task["ContainerDefinitions"]
    assert app["MountPoints"] == [
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "app-tmp"}
    ]
    assert task["Volumes"] == [{"Name": "app-tmp"}]


@pytest.mark.scenarios("TaskDefArm64", "TaskDefSidecar")
def test_writable_paths_become_one_volume_each_per_container(scenarios: Synthesized) -> None:
    task = _task(scenarios, "TaskDefArm64")
    (app,) = task["ContainerDefinitions"]
    assert [m["ContainerPath"] for m in app["MountPoints"]] == ["/tmp", "/var/cache/app"]
    assert task["Volumes"] == [{"Name": "app-tmp"}, {"Name": "app-var-cache-app"}]
    sidecar_task = _task(scenarios, "TaskDefSidecar")
    assert {v["Name"] for v in sidecar_task["Volumes"]} == {"app-tmp", "otel-tmp", "migrate-tmp"}


@pytest.mark.parametrize("stack", ["TaskDefDefaults", "TaskDefSidecar", "TaskDefEc2"])
@pytest.mark.scenarios(param="stack")
def test_every_container_runs_as_a_non_root_user(scenarios: Synthesized, stack: str) -> None:
    for container in _containers(scenarios, stack).values():
        assert container["User"] == "1000:1000"


@pytest.mark.parametrize("stack", ["TaskDefDefaults", "TaskDefSidecar"])
@pytest.mark.scenarios(param="stack")
def test_containers_are_unprivileged_without_capabilities_with_an_init_process(
    scenarios: Synthesized, stack: str
) -> None:
    for container in _containers(scenarios, stack).values():
        assert container["Privileged"] is False
        assert container["LinuxParameters"] == {
            "Capabilities": {"Drop": ["ALL"]},
            "InitProcessEnabled": True,
        }


@pytest.mark.scenarios("TaskDefDefaults", "TaskDefEc2")
def test_no_new_privileges_on_ec2_where_docker_supports_it(scenarios: Synthesized) -> None:
    (ec2_app,) = _containers(scenarios, "TaskDefEc2").values()
    assert ec2_app["DockerSecurityOptions"] == ["no-new-privileges"]
    (fargate_app,) = _containers(scenarios, "TaskDefDefaults").values()
    assert "DockerSecurityOptions" not in fargate_app  # Fargate rejects it


@pytest.mark.scenarios("TaskDefDefaults", "TaskDefSidecar")
def test_app_memory_hard_limit_is_what_the_sidecars_leave(scenarios: Synthesized) -> None:
    containers = _containers(scenarios, "TaskDefSidecar")
    assert {name: c["Memory"] for name, c in containers.items()} == {
        "app": 1024 - 256 - 128,
        "otel": 256,
        "migrate": 128,
    }
    (app,) = _containers(scenarios, "TaskDefDefaults").values()
    assert app["Memory"] == 512


@pytest.mark.parametrize("stack", ["TaskDefDefaults", "TaskDefSidecar"])
@pytest.mark.scenarios(param="stack")
def test_every_container_has_a_stop_timeout(scenarios: Synthesized, stack: str) -> None:
    for container in _containers(scenarios, stack).values():
        assert container["StopTimeout"] == 30


@pytest.mark.scenarios("BriefTaskDefinition", "TaskDefArm64")
def test_port_below_1024_sets_the_unprivileged_port_sysctl(scenarios: Synthesized) -> None:
    (web,) = _containers(scenarios, "BriefTaskDefinition").values()
    assert web["PortMappings"] == [{"ContainerPort": 80, "Protocol": "tcp"}]
    assert web["SystemControls"] == [
        {"Namespace": "net.ipv4.ip_unprivileged_port_start", "Value": "80"}
    ]
    (app,) = _containers(scenarios, "TaskDefArm64").values()
    assert "SystemControls" not in app  # 8080 needs none


@pytest.mark.scenarios("TaskDefOptOuts")
def test_root_container_needs_no_sysctl(scenarios: Synthesized) -> None:
    (app,) = _containers(scenarios, "TaskDefOptOuts").values()
    assert app["User"] == "root"
    assert "SystemControls" not in app


@pytest.mark.scenarios("TaskDefDefaults")
def test_jobs_have_no_port_mapping(scenarios: Synthesized) -> None:
    (app,) = _containers(scenarios, "TaskDefDefaults").values()
    assert "PortMappings" not in app
    assert app["Essential"] is True


# --- Health check ----------------------------------------------------------------------------------


@pytest.mark.scenarios("TaskDefArm64")
def test_health_check_defaults(scenarios: Synthesized) -> None:
    (app,) = _containers(scenarios, "TaskDefArm64").values()
    assert app["HealthCheck"] == {
        "Command": ["CMD", "/app/healthcheck"],
        "Interval": 30,
        "Timeout": 5,
        "Retries": 3,
        "StartPeriod": 60,
    }


def test_health_check_start_period_is_exposed_for_the_grace_period() -> None:
    stack = stack_for_errors()
    repository = ecr.Repository.from_repository_name(stack, "Repository", "myapp")
    image = ecs.ContainerImage.from_ecr_repository(repository, "v1")
    custom = HardenedTaskDefinition(
        stack,
        "Custom",
        image=image,
        health_check=HealthCheckOptions(
            command=["CMD", "/healthcheck"], start_period=cdk.Duration.seconds(120)
        ),
    )
    default = HardenedTaskDefinition(stack, "Default", image=image)
    assert custom.health_check_start_period.to_seconds() == 120
    assert default.health_check_start_period.to_seconds() == 60


# --- Logging ---------------------------------------------------------------------------------------


@pytest.mark.scenarios("BriefTaskDefinition")
def test_logs_go_to_a_named_encrypted_retained_log_group(scenarios: Synthesized) -> None:
    key = _logical_id(scenarios, "BriefTaskDefinition", "AWS::KMS::Key", "EcsPatternsPlusKey")
    scenarios.template("BriefTaskDefinition").has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "LogGroupName": "/ecs/myapp",
                "KmsKeyId": {"Fn::GetAtt": [key, "Arn"]},
                "RetentionInDays": 365,
            },
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )


@pytest.mark.scenarios("TaskDefDefaults")
def test_log_group_is_named_after_the_family_by_default(scenarios: Synthesized) -> None:
    task = _task(scenarios, "TaskDefDefaults")
    (group,) = resources_of(scenarios, "TaskDefDefaults", "AWS::Logs::LogGroup").values()
    assert group["Properties"]["LogGroupName"] == f"/ecs/{task['Family']}"


@pytest.mark.scenarios("TaskDefSidecar")
def test_awslogs_non_blocking_with_a_buffer_and_one_stream_prefix_per_container(
    scenarios: Synthesized,
) -> None:
    group = _logical_id(scenarios, "TaskDefSidecar", "AWS::Logs::LogGroup", "TaskLogGroup")
    for name, container in _containers(scenarios, "TaskDefSidecar").items():
        assert container["LogConfiguration"] == {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": {"Ref": group},
                "awslogs-region": "ap-northeast-2",
                "awslogs-stream-prefix": name,
                "mode": "non-blocking",
                "max-buffer-size": f"{25 * 1024 * 1024}b",
            },
        }


@pytest.mark.scenarios("TaskDefArm64", "TaskDefOptOuts")
def test_buffer_size_is_configurable_and_absent_in_blocking_mode(scenarios: Synthesized) -> None:
    (arm,) = _containers(scenarios, "TaskDefArm64").values()
    assert arm["LogConfiguration"]["Options"]["max-buffer-size"] == f"{64 * 1024 * 1024}b"
    (blocking,) = _containers(scenarios, "TaskDefOptOuts").values()
    assert blocking["LogConfiguration"]["Options"]["mode"] == "blocking"
    assert "max-buffer-size" not in blocking["LogConfiguration"]["Options"]


# --- Roles -----------------------------------------------------------------------------------------


@pytest.mark.scenarios("TaskDefDefaults")
def test_execution_and_task_roles_are_separate(scenarios: Synthesized) -> None:
    task = _task(scenarios, "TaskDefDefaults")
    execution = _logical_id(scenarios, "TaskDefDefaults", "AWS::IAM::Role", "TaskExecutionRole")
    task_role = _logical_id(scenarios, "TaskDefDefaults", "AWS::IAM::Role", "TaskTaskRole")
    assert task["ExecutionRoleArn"] == {"Fn::GetAtt": [execution, "Arn"]}
    assert task["TaskRoleArn"] == {"Fn::GetAtt": [task_role, "Arn"]}


@pytest.mark.scenarios("TaskDefDefaults")
def test_task_role_trust_is_scoped_to_this_account_and_region(scenarios: Synthesized) -> None:
    role = _logical_id(scenarios, "TaskDefDefaults", "AWS::IAM::Role", "TaskTaskRole")
    statements = resources_of(scenarios, "TaskDefDefaults", "AWS::IAM::Role")[role]["Properties"][
        "AssumeRolePolicyDocument"
    ]["Statement"]
    assert statements == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                "ArnLike": {
                    "aws:SourceArn": {
                        "Fn::Join": [
                            "",
                            ["arn:aws:ecs:ap-northeast-2:", {"Ref": "AWS::AccountId"}, ":*"],
                        ]
                    }
                },
            },
        }
    ]


@pytest.mark.scenarios("TaskDefDefaults")
def test_task_role_starts_without_permissions(scenarios: Synthesized) -> None:
    role = _logical_id(scenarios, "TaskDefDefaults", "AWS::IAM::Role", "TaskTaskRole")
    for policy_type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in resources_of(scenarios, "TaskDefDefaults", policy_type).values():
            assert {"Ref": role} not in policy["Properties"].get("Roles", [])
    assert (
        "ManagedPolicyArns"
        not in resources_of(scenarios, "TaskDefDefaults", "AWS::IAM::Role")[role]["Properties"]
    )


@pytest.mark.scenarios("TaskDefDefaults")
def test_execution_role_pulls_its_repository_and_writes_its_log_group_only(
    scenarios: Synthesized,
) -> None:
    policy = _logical_id(
        scenarios, "TaskDefDefaults", "AWS::IAM::Policy", "TaskExecutionRoleDefaultPolicy"
    )
    group = _logical_id(scenarios, "TaskDefDefaults", "AWS::Logs::LogGroup", "TaskLogGroup")
    statements = resources_of(scenarios, "TaskDefDefaults", "AWS::IAM::Policy")[policy][
        "Properties"
    ]["PolicyDocument"]["Statement"]
    assert statements == [
        {
            "Action": [
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            "Effect": "Allow",
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:aws:ecr:ap-northeast-2:",
                        {"Ref": "AWS::AccountId"},
                        ":repository/myapp",
                    ],
                ]
            },
        },
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [group, "Arn"]},
        },
    ]


@pytest.mark.scenarios("TaskDefDefaults")
def test_ecr_auth_token_has_its_own_small_acknowledged_policy(scenarios: Synthesized) -> None:
    role = _logical_id(scenarios, "TaskDefDefaults", "AWS::IAM::Role", "TaskExecutionRole")
    (policy,) = resources_of(scenarios, "TaskDefDefaults", "AWS::IAM::ManagedPolicy").values()
    assert policy["Properties"]["Roles"] == [{"Ref": role}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}
    ]
    assert _acknowledged(scenarios, "TaskDefDefaults", "/EcsPatternsPlus/EcrAuthPolicy") == {
        "AwsSolutions-IAM5[Resource::*]"
    }


@pytest.mark.scenarios("ServiceSharedLoadBalancer")
def test_task_definitions_of_a_stack_share_one_ecr_auth_policy(scenarios: Synthesized) -> None:
    stack = "ServiceSharedLoadBalancer"
    roles = [
        {"Ref": key}
        for key in resources_of(scenarios, stack, "AWS::IAM::Role")
        if "ExecutionRole" in key
    ]
    (policy,) = resources_of(scenarios, stack, "AWS::IAM::ManagedPolicy").values()
    assert len(roles) == 2
    assert sorted(policy["Properties"]["Roles"], key=str) == sorted(roles, key=str)
    # The statement once, whatever the number of roles.
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "ecr:GetAuthorizationToken", "Effect": "Allow", "Resource": "*"}
    ]


@pytest.mark.scenarios("TaskDefSidecar")
def test_public_images_need_no_ecr_auth_policy(scenarios: Synthesized) -> None:
    policies = resources_of(scenarios, "TaskDefSidecar", "AWS::IAM::ManagedPolicy")
    assert len(policies) == 1  # only for the ECR-hosted app image, none for the public sidecar


# --- ECS Exec --------------------------------------------------------------------------------------


@pytest.mark.scenarios("TaskDefExec")
def test_exec_mounts_the_ssm_agent_paths_in_every_container(scenarios: Synthesized) -> None:
    for name, container in _containers(scenarios, "TaskDefExec").items():
        assert container["ReadonlyRootFilesystem"] is True
        assert {m["ContainerPath"]: m["SourceVolume"] for m in container["MountPoints"]} == {
            "/tmp": f"{name}-tmp",
            "/managed-agents": f"{name}-managed-agents",
            "/var/lib/amazon/ssm": f"{name}-var-lib-amazon-ssm",
            "/var/log/amazon/ssm": f"{name}-var-log-amazon-ssm",
        }


@pytest.mark.scenarios("TaskDefExec")
def test_exec_channels_have_their_own_acknowledged_policy(scenarios: Synthesized) -> None:
    role = _logical_id(scenarios, "TaskDefExec", "AWS::IAM::Role", "TaskTaskRole")
    policies = [
        p
        for p in resources_of(scenarios, "TaskDefExec", "AWS::IAM::ManagedPolicy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    assert [p["Properties"]["PolicyDocument"]["Statement"] for p in policies] == [
        [
            {
                "Action": [
                    "logs:DescribeLogGroups",
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                ],
                "Effect": "Allow",
                "Resource": "*",
            }
        ]
    ]
    assert _acknowledged(scenarios, "TaskDefExec", "/EcsPatternsPlus/ExecPolicy") == {
        "AwsSolutions-IAM5[Resource::*]"
    }


@pytest.mark.scenarios("TaskDefExec")
def test_exec_session_logs_are_granted_on_the_log_group_itself(scenarios: Synthesized) -> None:
    group = _logical_id(scenarios, "TaskDefExec", "AWS::Logs::LogGroup", "PlatformExecLogGroup")
    policy = _logical_id(scenarios, "TaskDefExec", "AWS::IAM::Policy", "TaskTaskRoleDefaultPolicy")
    statements = resources_of(scenarios, "TaskDefExec", "AWS::IAM::Policy")[policy]["Properties"][
        "PolicyDocument"
    ]["Statement"]
    assert {
        "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [group, "Arn"]},
    } in statements
    assert all(s["Resource"] != "*" for s in statements)


@pytest.mark.scenarios("TaskDefDefaults")
def test_without_exec_no_agent_paths_and_no_exec_permissions(scenarios: Synthesized) -> None:
    (app,) = _containers(scenarios, "TaskDefDefaults").values()
    assert [m["ContainerPath"] for m in app["MountPoints"]] == ["/tmp"]
    assert _acknowledged(scenarios, "TaskDefDefaults", "/TaskRole/ExecPolicy") == set()


# --- Sidecars --------------------------------------------------------------------------------------


@pytest.mark.scenarios("TaskDefSidecar")
def test_sidecars_start_first_in_the_asked_order(scenarios: Synthesized) -> None:
    containers = _containers(scenarios, "TaskDefSidecar")
    assert containers["app"]["DependsOn"] == [
        {"Condition": "HEALTHY", "ContainerName": "otel"},
        {"Condition": "SUCCESS", "ContainerName": "migrate"},
    ]
    assert containers["migrate"]["Essential"] is False
    assert containers["otel"]["Essential"] is True
    assert containers["otel"]["Cpu"] == 128
    assert containers["otel"]["PortMappings"] == [{"ContainerPort": 4317, "Protocol": "tcp"}]


# --- The brief's example, environment and opt-outs --------------------------------------------


@pytest.mark.scenarios("BriefTaskDefinition")
def test_brief_example_in_hardened_form(scenarios: Synthesized) -> None:
    scenarios.template("BriefTaskDefinition").has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "Family": "myapp-task",
            "Cpu": "256",
            "Memory": "512",
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "Name": "web",
                        "Image": {"Fn::Join": ["", Match.array_with(["/myapp:web-1.0.0"])]},
                        "Environment": [{"Name": "SPRING_PROFILES_ACTIVE", "Value": "prod"}],
                        "Secrets": [
                            {
                                "Name": "DB_PASSWORD",
                                "ValueFrom": {
                                    "Fn::Join": [
                                        "",
                                        Match.array_with([":secret:myapp/db-pass"]),
                                    ]
                                },
                            }
                        ],
                        "LogConfiguration": Match.object_like(
                            {"Options": Match.object_like({"awslogs-stream-prefix": "web"})}
                        ),
                        "HealthCheck": Match.object_like(
                            {
                                "Command": [
                                    "CMD-SHELL",
                                    "curl -fsS http://localhost/actuator/health || exit 1",
                                ],
                                "StartPeriod": 60,
                            }
                        ),
                    }
                )
            ],
        },
    )


@pytest.mark.scenarios("BriefTaskDefinition", "TaskDefDefaults")
def test_plain_environment_is_acknowledged_only_where_present(scenarios: Synthesized) -> None:
    assert _acknowledged(scenarios, "BriefTaskDefinition", "/Task/TaskDefinition") == {
        "AwsSolutions-ECS2"
    }
    assert _acknowledged(scenarios, "TaskDefDefaults", "/Task/TaskDefinition") == set()


@pytest.mark.scenarios("TaskDefOptOuts")
def test_opting_out_warns(scenarios: Synthesized) -> None:
    warnings = " ".join(
        str(data) for _, data in scenarios.metadata_entries("TaskDefOptOuts", "aws:cdk:warning")
    )
    assert "ecs-patterns-plus:root-user" in warnings
    assert "ecs-patterns-plus:writable-root-filesystem" in warnings
    (app,) = _containers(scenarios, "TaskDefOptOuts").values()
    assert app["ReadonlyRootFilesystem"] is False


@pytest.mark.scenarios("BriefTaskDefinition", "TaskDefDefaults", "TaskDefExec", "TaskDefSidecar")
def test_compliant_scenarios_do_not_warn(scenarios: Synthesized) -> None:
    for stack in ("TaskDefDefaults", "TaskDefSidecar", "TaskDefExec", "BriefTaskDefinition"):
        assert scenarios.metadata_entries(stack, "aws:cdk:warning") == []


def test_local_builds_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    stack = stack_for_errors()
    task = HardenedTaskDefinition(
        stack, "Task", image=ecs.ContainerImage.from_asset(str(tmp_path)), container_port=8080
    )
    assert task.container.container_name == "app"


def test_attributes_for_services_and_jobs() -> None:
    stack = stack_for_errors()
    task = HardenedTaskDefinition(
        stack,
        "Task",
        image=ecs.ContainerImage.from_registry(f"public.ecr.aws/nginx/nginx@{DIGEST}"),
        container_name="web",
        container_port=8080,
        enable_exec=True,
        sidecars=[
            SidecarOptions(name="proxy", image=ecs.ContainerImage.from_registry(f"envoy@{DIGEST}"))
        ],
    )
    assert (task.container_name, task.container_port, task.exec_enabled) == ("web", 8080, True)
    assert task.task_definition.default_container.container_name == "web"  # type: ignore[union-attr]
    assert list(task.sidecars) == ["proxy"]
    assert task.task_definition.is_fargate_compatible
    assert task.log_group.node.path == "Errors/Task/LogGroup"
    assert task.execution_role.node.path == "Errors/Task/ExecutionRole"
    assert task.task_role.node.path == "Errors/Task/TaskRole"


# --- Bad input -------------------------------------------------------------------------------------


def _ecr(stack: cdk.Stack, tag: str) -> ecs.ContainerImage:
    repository = ecr.Repository.from_repository_name(stack, "Repository", "myapp")
    return ecs.ContainerImage.from_ecr_repository(repository, tag)


def _build(**kwargs: Any) -> HardenedTaskDefinition:
    stack = stack_for_errors()
    image = kwargs.pop("image", None) or _ecr(stack, "v1")
    if callable(image):
        image = image(stack)
    return HardenedTaskDefinition(stack, "Task", image=image, **kwargs)


def _registry(name: str) -> ecs.ContainerImage:
    return ecs.ContainerImage.from_registry(name)


def _sidecar(**kwargs: Any) -> SidecarOptions:
    return SidecarOptions(**{"name": "proxy", "image": _registry(f"envoy@{DIGEST}"), **kwargs})


_CHECK = ["CMD", "/healthcheck"]


@pytest.mark.parametrize(
    ("kwargs", "argument", "fragment"),
    [
        # sizing
        ({"cpu": 300}, "cpu", "256, 512, 1024, 2048, 4096, 8192, 16384"),
        ({"memory_mib": 4096}, "memory_mib", "for cpu=256 use one of 512, 1024, 2048 MiB"),
        ({"cpu": 16384, "memory_mib": 126976}, "memory_mib", "32768, 40960"),
        ({"cpu": 8192, "memory_mib": 18432}, "memory_mib", "16384, 20480"),
        ({"ephemeral_storage_gib": 20}, "ephemeral_storage_gib", "between 21 and 200"),
        ({"gpu_count": 1}, "gpu_count", "Fargate has no GPUs"),
        (
            {"compatibility": ecs.Compatibility.EC2, "ephemeral_storage_gib": 30},
            "ephemeral_storage_gib",
            "Fargate setting",
        ),
        ({"compatibility": ecs.Compatibility.EC2, "cpu": 64}, "cpu", "between 128 and 196608"),
        ({"compatibility": ecs.Compatibility.EXTERNAL}, "compatibility", "awsvpc"),
        ({"memory_limit_mib": 1024}, "memory_limit_mib", "exceeds the task's 512 MiB"),
        ({"stop_timeout": cdk.Duration.seconds(300)}, "stop_timeout", "between 2 and 120"),
        # names and ports
        ({"family": "my app"}, "family", "letters, digits"),
        ({"container_name": "web app"}, "container_name", "letters, digits"),
        ({"container_port": 0}, "container_port", "between 1 and 65535"),
        ({"container_port": 70000}, "container_port", "between 1 and 65535"),
        ({"user": ""}, "user", "user name, uid or uid:gid"),
        # environment and secrets
        ({"environment": {"DB_PASSWORD": "x"}}, "environment", "secrets={'DB_PASSWORD'"),
        ({"environment": {"AWS_ACCESS_KEY_ID": "x"}}, "environment", "looks like a secret"),
        ({"environment": {"ECS_ENGINE_AUTH_DATA": "x"}}, "environment", "looks like a secret"),
        ({"environment": {"stripeApiKey": "x"}}, "environment", "looks like a secret"),
        (
            {"environment": {"KEY": "AKIAABCDEFGHIJKLMNOP"}},
            "environment",
            "looks like a credential",
        ),
        ({"environment": {"1ST": "x"}}, "environment", "variable names"),
        (
            {"environment": {"WORKERS": 4}},
            "environment['WORKERS']",
            "expected a str; got int 4; use the string '4'",
        ),
        (
            {"environment": {"DB_USER": "x"}, "secrets": {"DB_USER": SecretValue()}},
            "secrets",
            "set twice",
        ),
        ({"secrets": {"DB PASSWORD": SecretValue()}}, "secrets", "variable names"),
        (
            {"secrets": {"DB_PASSWORD": "arn:aws:secretsmanager:..."}},
            "secrets['DB_PASSWORD']",
            "SecretValue",
        ),
        # health check
        (
            {"health_check": HealthCheckOptions(command=_CHECK, timeout=cdk.Duration.seconds(30))},
            "health_check.timeout",
            "shorter than health_check.interval",
        ),
        (
            {"health_check": HealthCheckOptions(command=_CHECK, interval=cdk.Duration.seconds(1))},
            "health_check.interval",
            "between 5 and 300",
        ),
        (
            {"health_check": HealthCheckOptions(command=_CHECK, retries=0)},
            "health_check.retries",
            "between 1 and 10",
        ),
        (
            {
                "health_check": HealthCheckOptions(
                    command=_CHECK, start_period=cdk.Duration.seconds(301)
                )
            },
            "health_check.start_period",
            "between 0 and 300",
        ),
        (
            {"health_check": HealthCheckOptions(command=["CMD-SHELL"])},
            "health_check.command",
            "name a command",
        ),
        (
            {"health_check": HealthCheckOptions(command="curl -f http://localhost/")},
            "health_check.command",
            "expected a list of str; got str 'curl -f http://localhost/'; wrap it in a list",
        ),
        (
            {"health_check": HealthCheckOptions(command=[])},
            "health_check.command",
            "name a command",
        ),
        # logging
        ({"logging": LogOptions(log_group_name="my logs")}, "logging.log_group_name", "letters"),
        (
            {"logging": LogOptions(max_buffer_size_mib=0)},
            "logging.max_buffer_size_mib",
            "between 1 and 1024",
        ),
        # writable paths
        ({"writable_paths": ("tmp",)}, "writable_paths", "absolute"),
        ({"writable_paths": ("/",)}, "writable_paths", "absolute"),
        ({"writable_paths": ("/tmp/../etc",)}, "writable_paths", "absolute"),
        ({"writable_paths": ("/tmp", "/tmp")}, "writable_paths", "twice"),
        ({"writable_paths": "/tmp"}, "writable_paths", "wrap it in a list: ['/tmp']"),
        # sidecars
        ({"sidecars": [_sidecar(memory_limit_mib=512)]}, "sidecars", "leave the application 0"),
        ({"sidecars": [_sidecar(name="app")]}, "sidecars", "unique"),
        ({"container_port": 8080, "sidecars": [_sidecar(port=8080)]}, "sidecars", "[8080]"),
        ({"sidecars": [_sidecar(cpu=256)]}, "sidecars", "leaving the application none"),
        (
            {"sidecars": [_sidecar(memory_limit_mib=4)]},
            "sidecars[0].memory_limit_mib",
            "at least 6 MiB",
        ),
        (
            {"sidecars": [_sidecar(app_waits_for=ecs.ContainerDependencyCondition.HEALTHY)]},
            "sidecars[0].app_waits_for",
            "health check",
        ),
        (
            {"sidecars": [_sidecar(app_waits_for=ecs.ContainerDependencyCondition.SUCCESS)]},
            "sidecars[0].app_waits_for",
            "essential=False",
        ),
        ({"sidecars": [_sidecar(image=_registry("envoy:latest"))]}, "sidecars[0].image", "moves"),
        ({"sidecars": [_sidecar(environment={"TOKEN": "x"})]}, "sidecars[0].environment", "secret"),
        # images
        ({"image": lambda s: _ecr(s, "latest")}, "image", "immutable version tag"),
        ({"image": lambda s: _ecr(s, "sha256:abc")}, "image", "malformed digest"),
        ({"image": _registry("nginx")}, "image", "no tag or digest"),
        ({"image": _registry("nginx:latest")}, "image", "moves"),
        ({"image": _registry("nginx:1.27")}, "image", "only ECR tags may pin"),
        ({"image": _registry("public.ecr.aws/nginx/nginx:1.27")}, "image", "sha256:<digest>"),
        ({"image": _registry("nginx@sha256:123")}, "image", "malformed digest"),
        (
            {"image": _registry("111122223333.dkr.ecr.ap-northeast-2.amazonaws.com/myapp:v1")},
            "image",
            "from_ecr_repository",
        ),
    ],
)
def test_bad_input_names_the_argument(kwargs: dict[str, Any], argument: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as error:
        _build(**kwargs)
    assert any(p.startswith(f"{argument}:") and fragment in p for p in error.value.problems), (
        error.value.problems
    )


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as error:
        _build(cpu=300, container_port=0, environment={"API_TOKEN": "x"})
    arguments = sorted(p.split(":", 1)[0] for p in error.value.problems)
    assert arguments == ["container_port", "cpu", "environment"]
    assert str(error.value).startswith("Errors/Task: 3 invalid arguments:")


def test_bad_input_creates_nothing() -> None:
    stack = stack_for_errors()
    with pytest.raises(ValidationError):
        HardenedTaskDefinition(stack, "Task", image=_registry("nginx"))
    assert stack.node.try_find_child("Task") is None


def test_unresolved_tokens_are_not_checked() -> None:
    stack = stack_for_errors()
    tag = cdk.CfnParameter(stack, "Tag").value_as_string
    repository = ecr.Repository.from_repository_name(stack, "Repository", "myapp")
    HardenedTaskDefinition(
        stack,
        "Task",
        image=ecs.ContainerImage.from_ecr_repository(repository, tag),
        family=cdk.CfnParameter(stack, "Family").value_as_string,
        environment={"GREETING": cdk.CfnParameter(stack, "Greeting").value_as_string},
    )


@pytest.mark.findings
@pytest.mark.scenarios(*TASK_DEFINITION_SCENARIOS)
def test_control_tower_ecs_controls_run_on_the_task_definitions(scenarios: Synthesized) -> None:
    flagged = [line for line in scenarios.rule_pack_violations if "'TaskDefOptOuts/" in line]
    assert any("ecs_task_definition_nonroot_user_check" in line for line in flagged)  # CT.ECS.PR.3
    assert any("ecs_containers_readonly_access_check" in line for line in flagged)  # CT.ECS.PR.6
    hardened = [line for line in scenarios.rule_pack_violations if "'TaskDef" in line]
    assert hardened == flagged  # every other task definition scenario passes them all
