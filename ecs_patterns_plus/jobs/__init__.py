"""Batch and cron work as ECS RunTask, on Fargate or EC2 capacity: ScheduledTask and OneOffTask."""

from .limits import JobRetries
from .one_off import OneOffTask
from .scheduled import ScheduledTask

__all__ = ["JobRetries", "OneOffTask", "ScheduledTask"]
