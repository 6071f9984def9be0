"""The shipped models name the recipes in training/recipes/: `pocketocr train <task>` with the committed recipe
reproduces what is shipped, so a recipe edited without retraining (or a model shipped from a one-off run) fails."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from pocketocr.zoo import MODELS_DIR  # noqa: E402


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_card_models_name_the_committed_recipe(fmt):
    from pocketocr.training.card.train import RECIPE_PATH, load_recipe

    recipe = load_recipe(RECIPE_PATH)
    want = f"det:{recipe.digest('det')},rec:{recipe.digest('rec')}"
    for role in ("det", "rec"):
        card = json.loads((MODELS_DIR / f"card_{role}.int8.{fmt}.json").read_text())
        assert card["metadata"]["recipe_hash"] == want, (role, fmt)


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_formula_model_names_the_committed_recipe(fmt):
    from pocketocr.training.formula.train import RECIPE_PATH, load_recipe

    card = json.loads((MODELS_DIR / f"formula_det.int8.{fmt}.json").read_text())
    assert card["training"]["recipe_hash"] == load_recipe(RECIPE_PATH).digest()
