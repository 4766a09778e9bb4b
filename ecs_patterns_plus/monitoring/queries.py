"""The saved CloudWatch Logs Insights queries of a service's log group."""

from __future__ import annotations

from aws_cdk import aws_logs as logs
from constructs import Construct

from .metrics import ERROR_LINES


def saved_queries(
    scope: Construct, name: str, log_group: logs.ILogGroup
) -> dict[str, logs.QueryDefinition]:
    """Errors, errors by task, task starts (restart loops) and each task's last lines, saved
    under ``<name>/...`` in the Logs Insights console."""
    found: dict[str, logs.QueryDefinition] = {}
    queries = {
        "errors": (
            "Errors",
            "Recent error lines",
            logs.QueryString(
                fields=["@timestamp", "@logStream", "@message"],
                filter_statements=[ERROR_LINES],
                sort="@timestamp desc",
                limit=200,
            ),
        ),
        "errors_by_task": (
            "ErrorsByTask",
            "Errors by task",
            logs.QueryString(
                filter_statements=[ERROR_LINES],
                stats_statements=["count(*) as errors by @logStream"],
                sort="errors desc",
                limit=50,
            ),
        ),
        "task_starts": (
            "TaskStarts",
            "Task starts (restart loops)",
            logs.QueryString(
                stats_statements=[
                    "min(@timestamp) as started, max(@timestamp) as last_seen, "
                    "count(*) as lines by @logStream"
                ],
                sort="started desc",
                limit=100,
            ),
        ),
        "last_lines": (
            "LastLines",
            "Last lines of each task",
            logs.QueryString(
                stats_statements=[
                    "latest(@message) as last_line, max(@timestamp) as last_seen by @logStream"
                ],
                sort="last_seen desc",
                limit=100,
            ),
        ),
    }
    for key, (construct_id, title, query) in queries.items():
        found[key] = logs.QueryDefinition(
            scope,
            f"{construct_id}Query",
            query_definition_name=f"{name}/{title}",
            query_string=query,
            log_groups=[log_group],
        )
    return found
