"""Export fixtures: an untrained card checkpoint pair written like `pocketocr train card` writes them,
and one export of it to every format (session-scoped: the export takes ~40 s on two cores)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def card_run(tmp_path_factory) -> Path:
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    from dataclasses import asdict

    from pocketocr.tasks.card.pre import PreSpec
    from pocketocr.training.card.models import CardDet, CardRec

    run = tmp_path_factory.mktemp("card_run")
    torch.manual_seed(0)
    spec = PreSpec()
    recipe = {"seed": 11, "n_val": 6, "det_epochs": 1, "rec_epochs": 1}
    for arch, model in (("card_det", CardDet()), ("card_rec", CardRec(n_classes=len(spec.vocab) + 1))):
        torch.save({"model": model.state_dict(), "arch": arch, "recipe": recipe, "recipe_hash": "0123456789ab",
                    "spec": asdict(spec), "history": []}, run / f"{arch}.pt")
    return run


@pytest.fixture(scope="session")
def card_export(card_run) -> tuple[Path, dict]:
    pytest.importorskip("litert_torch")
    pytest.importorskip("ai_edge_litert")
    from pocketocr.export.pipeline import export_checkpoint

    out = card_run / "export"
    summary = export_checkpoint(card_run, out, to="onnx,ort,tflite", int8=True, calib=4, val_n=6, log=lambda m: None)
    return out, summary
