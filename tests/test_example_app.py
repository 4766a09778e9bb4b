"""The example app's operations outputs: what the brief's checklist asks an operator to have."""

from __future__ import annotations

import json

from tests.synth import Synthesized


def _output(example: Synthesized, name: str) -> str:
    value = example.template_json("Prod-WebService")["Outputs"][name]["Value"]
    return json.dumps(value)


def test_the_web_service_stack_gives_the_rollback_command(example: Synthesized) -> None:
    command = _output(example, "RollbackCommand")
    assert "aws ecs update-service --cluster " in command
    # The previous revision of the web service's own family: the second newest ARN.
    assert "aws ecs list-task-definitions --family-prefix myapp-task --sort DESC" in command
    assert "taskDefinitionArns[1]" in command
    assert "--task-definition" in command


def test_the_web_service_stack_gives_restart_and_shell_commands(example: Synthesized) -> None:
    assert "--force-new-deployment" in _output(example, "ForceNewDeploymentCommand")
    assert "aws ecs execute-command" in _output(example, "ExecuteCommand")
