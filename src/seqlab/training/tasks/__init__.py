"""Tasks: what a batch means, the loss to train and the metrics to report (see ``base.Task``)."""

from seqlab.training.tasks.base import Task

__all__ = ["Task"]
