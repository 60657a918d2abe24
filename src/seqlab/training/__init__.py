"""Training: fit loops, tasks (loss + metrics), optimisers and schedules, checkpoints."""

from seqlab.training.config import FitConfig
from seqlab.training.fit import Callback, History, StopTraining, fit
from seqlab.training.tasks.base import Task

__all__ = ["Callback", "FitConfig", "History", "StopTraining", "Task", "fit"]
