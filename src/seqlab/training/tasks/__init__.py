"""The recipes of ``seqlab train TASK``, registered by task name (see ``seqlab.training.recipe``).

=========  =============================  =========================================================
task       recipe                         abilities
=========  =============================  =========================================================
sentiment  ``ClassificationRecipe``       classify, export (ONNX), cross-validate (--folds)
classify   ``ClassificationRecipe``       (the same, for a user's labelled file)
lm         ``LanguageModelRecipe``        generate, export
mlm        ``MaskedLanguageModelRecipe``  none: BERT pre-training, its encoder starts a classifier
translate  ``TranslationRecipe``          translate
ner        ``TaggingRecipe``              tag
forecast   ``ForecastingRecipe``          forecast
=========  =============================  =========================================================

A run's weights start another run through ``model.pretrained`` (``seqlab.training.tasks.pretrained``):
an ``mlm`` run's encoder a ``sentiment`` BERT, an ``lm`` run's model a longer ``lm`` training.
"""

from __future__ import annotations

import difflib

from seqlab.errors import SeqlabError
from seqlab.training.recipe import Recipe
from seqlab.training.tasks.classification import ClassificationRecipe
from seqlab.training.tasks.forecasting import ForecastingRecipe
from seqlab.training.tasks.language_model import LanguageModelRecipe
from seqlab.training.tasks.masked_lm import MaskedLanguageModelRecipe
from seqlab.training.tasks.tagging import TaggingRecipe
from seqlab.training.tasks.translation import TranslationRecipe

RECIPES: dict[str, Recipe] = {recipe.name: recipe for recipe in (
    ClassificationRecipe("sentiment"),
    ClassificationRecipe("classify"),
    LanguageModelRecipe("lm"),
    MaskedLanguageModelRecipe("mlm"),
    TranslationRecipe("translate"),
    TaggingRecipe("ner"),
    ForecastingRecipe("forecast"),
)}


def recipe(name: str) -> Recipe:
    """The recipe of task ``name``; a one-line error suggesting the close name otherwise."""
    if not isinstance(name, str) or name not in RECIPES:
        close = difflib.get_close_matches(str(name), RECIPES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SeqlabError(f"task: expected one of {', '.join(sorted(RECIPES))}, got {name!r}{hint}")
    return RECIPES[name]


__all__ = ["RECIPES", "recipe"]
