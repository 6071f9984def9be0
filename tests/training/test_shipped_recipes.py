"""The shipped models name the recipes in training/recipes/: `pocketocr train <task>` with the committed recipe
reproduces what is shipped, so a recipe edited without retraining (or a model shipped from a one-off run) fails."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")

from pocketocr.zoo import MODELS_DIR


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


def test_committed_card_checkpoints_are_the_shipped_models():
    """training/checkpoints/card/ holds the float models the shipped int8 files were exported from: the same
    per-model recipe hashes, and state dicts that load into the networks their recipes describe."""
    import torch
    from pocketocr.training.card.models import model_from_checkpoint
    from pocketocr.training.card.train import RECIPE_PATH, load_recipe, recipe_digest

    folder = RECIPE_PATH.parent.parent / "checkpoints" / "card"
    recipe = load_recipe(RECIPE_PATH)
    shipped = json.loads((MODELS_DIR / "card_det.int8.onnx.json").read_text())["metadata"]["recipe_hash"]
    for role in ("det", "rec"):
        ck = torch.load(folder / f"card_{role}.pt", map_location="cpu", weights_only=False)
        assert recipe_digest(ck["recipe"], role) == recipe.digest(role) and f"{role}:{recipe.digest(role)}" in shipped
        model_from_checkpoint(ck)  # strict: every weight present, every shape right
