"""The tasks: each builds train/val/test splits, a model spec, metrics and no-memory baselines."""

from data.adding import AddingTask
from data.base import Split, Task, TaskSpec
from data.context_switch import ContextSwitchTask
from data.copy import CopyTask
from data.digits import DigitsTask
from data.table import TableTask
from data.temporal_order import TemporalOrderTask
from data.text import TextTask

__all__ = [
    "AddingTask",
    "ContextSwitchTask",
    "CopyTask",
    "DigitsTask",
    "Split",
    "TableTask",
    "Task",
    "TaskSpec",
    "TemporalOrderTask",
    "TextTask",
]
