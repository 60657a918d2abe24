"""A recipe: what one task of ``seqlab train TASK`` is, as an explicit object the runner drives.

A recipe declares its config class and its abilities, and answers the runner's questions:

    resolve(config)                 -> config       what a config names indirectly, filled in (the sizes
                                                    of a ``model.pretrained`` run); run when a config is
                                                    made, so the saved config says what was built
    build_data(config, tokenizers)  -> TaskData     batches, tokenizers (trained, or the run's own),
                                                    and the JSON state the model and its users need
                                                    (label names, sizes the data decided, a scaler)
    build_model(config, state)      -> nn.Module    through ``seqlab.models.make_model``
    initialize(model, config, data)                 training-only starts (word vectors, pretrained weights)
    make_task(config, state)        -> Task         the loss and the metrics
    fit_model(...)                  -> History      ``fit`` once (an ensemble fits each member)
    evaluate(model, config, data)   -> dict         the final evaluation a run reports and ``seqlab eval`` repeats

and, for each ability it declares, the inference half (``generate``, ``classify``, ``translate``,
``tag``, ``forecast``) on a ``LoadedRun``; each is a few lines over the library's own inference
functions (``seqlab.generation``, ``seqlab.models``). The runner (``seqlab.training.runner``) owns
the run folder; the CLI asks ``ability in recipe.abilities`` before it calls.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from seqlab.errors import SeqlabError
from seqlab.generation.config import DecodingConfig
from seqlab.text.tokenizer import Tokenizer
from seqlab.training.fit import Callback, History, fit
from seqlab.training.run_folder import TOKENIZER
from seqlab.training.task import Task


class Ability(enum.StrEnum):
    """What a trained run of a task can be asked to do, besides ``seqlab eval``."""

    GENERATE = "generate"
    CLASSIFY = "classify"
    TRANSLATE = "translate"
    TAG = "tag"
    FORECAST = "forecast"
    EXPORT = "export"  # to ONNX
    CROSS_VALIDATE = "cross_validate"  # seqlab train --folds K


@dataclass
class TaskData:
    """What ``build_data`` gives the runner."""

    train: Iterable  # re-iterable training batches (set_epoch-aware)
    val: Iterable | None  # validation batches
    tokenizers: dict[str, Tokenizer]  # run-folder file name -> tokenizer ("tokenizer.json", ...)
    state: dict  # JSON facts that rebuild and use the model: label names, sizes, a scaler
    test: Any = None  # what the final evaluation reads (test pairs, a test loader, the series)
    extra: dict = field(default_factory=dict)  # figures of the data for the run's summary


@dataclass
class LoadedRun:
    """A trained model with everything needed to use it, rebuilt from one checkpoint."""

    recipe: Recipe
    config: Any
    model: nn.Module
    tokenizers: dict[str, Tokenizer]
    state: dict
    path: Path

    @property
    def tokenizer(self) -> Tokenizer:
        return self.tokenizers[TOKENIZER]

    def require(self, ability: Ability) -> None:
        """A one-line ``SeqlabError`` when this run's task lacks ``ability``."""
        if ability not in self.recipe.abilities:
            can = ", ".join(sorted(a.value for a in self.recipe.abilities)) or "only be evaluated"
            raise SeqlabError(f"{self.path}: a {self.recipe.name!r} run cannot {ability.value}; it can {can}")


class Recipe:
    """Base of the recipes; see the module docstring. Subclasses set the class attributes and the methods."""

    config_class: ClassVar[type]
    abilities: ClassVar[frozenset[Ability]] = frozenset()
    summary: ClassVar[str] = ""  # one line for `seqlab ls`

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    # -- a run -----------------------------------------------------------------------------------------
    def default_config(self) -> Any:
        """The config with the recipe's defaults, ``task`` set to this recipe's name."""
        return self.config_class(task=self.name)

    def resolve(self, config: Any) -> Any:
        """The config with what it names indirectly filled in (a pretrained run's sizes); as it is by default.

        ``load_run_config`` calls it once, before ``check``; a resumed or loaded run's config is already resolved.
        """
        return config

    def check(self, config: Any) -> None:
        """Cross-field checks of a resolved config, run before any work (the fields check themselves)."""

    def build_data(self, config: Any, tokenizers: dict[str, Tokenizer] | None = None) -> TaskData:
        """Batches and tokenizers; ``tokenizers`` given: encode with them (a resumed or evaluated run)."""
        raise NotImplementedError

    def build_model(self, config: Any, state: dict) -> nn.Module:
        raise NotImplementedError

    def initialize(self, model: nn.Module, config: Any, data: TaskData) -> None:
        """What only a new run does to a new model (word vectors, pretrained weights); nothing by default."""

    def make_task(self, config: Any, state: dict) -> Task:
        raise NotImplementedError

    def fit_model(self, model: nn.Module, config: Any, data: TaskData, run_dir: Path | None,
                  callbacks: Sequence[Callback], resume: bool, checkpoint_meta: dict) -> History:
        """Train ``model``: one ``fit`` over the task's batches."""
        return fit(model, self.make_task(config, data.state), data.train, data.val, config.fit, run_dir,
                   callbacks=callbacks, resume=resume, checkpoint_meta=checkpoint_meta)

    def evaluate(self, model: nn.Module, config: Any, data: TaskData) -> dict:
        """The final evaluation of the best weights: the task's metrics on the validation batches."""
        if data.val is None:
            return {}
        return self.make_task(config, data.state).evaluate(model, data.val)

    def sample(self, run: LoadedRun) -> str | None:
        """What a run shows at its end besides its metrics (a language model's sample)."""
        return None

    # -- abilities: the inference half ------------------------------------------------------------------
    def generate(self, run: LoadedRun, prompt: str, max_new_tokens: int, decoding: DecodingConfig,
                 seed: int = 0) -> str:
        run.require(Ability.GENERATE)
        raise NotImplementedError

    def classify(self, run: LoadedRun, texts: Sequence[str]) -> list[tuple[str, float]]:
        run.require(Ability.CLASSIFY)
        raise NotImplementedError

    def translate(self, run: LoadedRun, texts: Sequence[str], decoding: DecodingConfig | None = None) -> list[str]:
        run.require(Ability.TRANSLATE)
        raise NotImplementedError

    def tag(self, run: LoadedRun, text: str) -> list[tuple[str, str]]:
        run.require(Ability.TAG)
        raise NotImplementedError

    def forecast(self, run: LoadedRun, steps: int | None = None) -> dict:
        run.require(Ability.FORECAST)
        raise NotImplementedError


__all__ = ["Ability", "LoadedRun", "Recipe", "TaskData"]
