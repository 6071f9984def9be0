"""The one model-card writer every exporter uses (export/model_card.py)."""

import hashlib
import json

import pytest

torch = pytest.importorskip("torch")


def test_model_card_reads_identity_from_the_file_and_training_from_the_checkpoint(tmp_path):
    from pocketocr.export.model_card import write_model_card
    from pocketocr.zoo import list_models, model_card_path

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.BatchNorm2d(4))
    ck = {"model": model.state_dict(), "recipe": {"seed": 7, "n_train": 24}, "history": [{"epoch": 1}],
          "epoch": 3, "recovered_from": {"file": "card_rec.int8.onnx"}}
    f = tmp_path / "card_rec.int8.tflite"
    f.write_bytes(b"not really a model, but bytes to hash")
    doc = write_model_card(f, task="card", role="rec", precision="int8", version="card-test", checkpoint=ck,
                           recipe_hash="abc", command="pocketocr train card", metrics={"synthetic_val": {"n": 2}},
                           metadata={"version": "card-test"}, runtime="ai-edge-litert")
    assert json.loads(model_card_path(f).read_text()) == doc
    assert doc["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest() and doc["size_bytes"] == f.stat().st_size
    assert (doc["name"], doc["format"], doc["file"]) == ("card_rec", "tflite", f.name)
    assert doc["params"] == 4 * 9 + 4 + 4 + 4   # conv weight and bias, BatchNorm weight and bias; not its statistics
    assert doc["architecture"].startswith("CardRec")
    t = doc["training"]
    assert (t["seed"], t["recipe_hash"], t["best_epoch"], t["history"]) == (7, "abc", 3, [{"epoch": 1}])
    assert t["recovered_from"] == {"file": "card_rec.int8.onnx"} and "no real card images" in t["data"]
    assert doc["runtime"] == "ai-edge-litert" and doc["quantization"] is None
    listed = [m for m in list_models(tmp_path) if m.path.name == f.name]
    assert listed and listed[0].sha256 == doc["sha256"] and listed[0].version == "card-test"


def test_a_checkpoint_without_epoch_or_recovery_leaves_those_keys_out(tmp_path):
    from pocketocr.export.model_card import write_model_card

    ck = {"model": torch.nn.Linear(2, 1).state_dict(), "recipe": {"seed": 1}}
    f = tmp_path / "formula_det.int8.onnx"
    f.write_bytes(b"x")
    doc = write_model_card(f, task="formula", role="det", precision="int8", version="v", checkpoint=ck,
                           recipe_hash="h", command="c", metrics={}, metadata={})
    assert "best_epoch" not in doc["training"] and "recovered_from" not in doc["training"]
    assert doc["training"]["history"] == [] and doc["params"] == 3 and "no real pages" in doc["training"]["data"]
    with pytest.raises(KeyError):  # an unknown model has no architecture to record
        write_model_card(f, task="card", role="cls", precision="int8", version="v", checkpoint=ck,
                         recipe_hash="h", command="c", metrics={}, metadata={})
