"""Training: recipes and the runner that drives them, the fit loop, configs, optimisers and schedules, checkpoints.

    seqlab.training.runner.train(config, run_dir)   one run of any task (``seqlab train``)
    seqlab.training.runner.load_run(run_dir)        a saved run back as a usable model
    seqlab.training.fit(model, task, train, val, FitConfig(...), run_dir)   the loop itself
"""

from seqlab.training.config import FitConfig
from seqlab.training.fit import Callback, History, Plan, StopTraining, fit
from seqlab.training.recipe import Ability, LoadedRun, Recipe, TaskData
from seqlab.training.task import Task

__all__ = ["Ability", "Callback", "FitConfig", "History", "LoadedRun", "Plan", "Recipe", "StopTraining", "Task",
           "TaskData", "fit"]
