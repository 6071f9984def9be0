"""training/formula/recover.py: a float formula detector rebuilt from an int8 ONNX file computes what the file does."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def int8_det(tmp_path_factory):
    """A small detector with non-trivial BatchNorm statistics, exported and quantized as `pocketocr export
    formula` does (percentile calibration, the output convolutions float)."""
    from pocketocr.export.formula import _export_onnx
    from pocketocr.export.onnx_tools import CalibrationReader, quantize_qdq
    from pocketocr.tasks.formula.pre import PreSpec
    from pocketocr.training.formula.models import FormulaDet

    out = tmp_path_factory.mktemp("recover_formula")
    torch.manual_seed(5)
    det = FormulaDet(width=0.5)
    with torch.no_grad():
        for m in det.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
        det.prob.weight.mul_(10.0)  # probabilities that differ from page to page, not a flat 0.02
    det.eval()
    x = np.random.default_rng(1).standard_normal((4, 1, 128, 96)).astype(np.float32)
    _export_onnx(det, out / "det.fp32.onnx", PreSpec(long_side=128))
    quantize_qdq(out / "det.fp32.onnx", out / "det.int8.onnx", CalibrationReader("image", [x[i:i + 1] for i in range(4)]),
                 percentile=99.999)
    return det, out / "det.int8.onnx", x


def test_recovered_detector_computes_what_the_int8_file_computes(int8_det):
    from pocketocr.training.formula.models import FormulaDet
    from pocketocr.training.formula.recover import detector_from_int8

    original, path, x = int8_det
    det = detector_from_int8(path, width=0.5)
    with torch.no_grad():
        recovered = det(torch.from_numpy(x))[0].numpy()
        float_prob = original(torch.from_numpy(x))[0].numpy()
        other = FormulaDet(width=0.5).eval()(torch.from_numpy(x))[0].numpy()  # same shape, other weights
    int8_prob = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]

    def gap(a, b):
        return float(np.abs(a - b).mean())

    assert gap(recovered, float_prob) < 0.1 * gap(other, float_prob)
    assert gap(recovered, int8_prob) < 0.25 * gap(other, int8_prob)


def test_a_detector_of_another_width_is_an_error(int8_det):
    from pocketocr.training.formula.recover import detector_from_int8

    with pytest.raises(ValueError, match="convolution"):
        detector_from_int8(int8_det[1], width=1.0)


def test_the_committed_checkpoints_are_the_chain_and_the_shipped_detector():
    """training/checkpoints/formula: formula_det.pt is v4 rebuilt from its int8 file; formula_det_v5.pt and
    formula_det_v6.pt were fine-tuned from it in turn (`init`); formula_det_v7.pt, trained from scratch by the
    committed recipe (no `init`), is the float detector the shipped int8 files were exported from."""
    from pathlib import Path

    from pocketocr.training.formula.models import FormulaDet
    from pocketocr.training.formula.train import RECIPE_PATH, load_recipe

    root = Path(__file__).resolve().parents[2]
    ckpts = root / "training/checkpoints/formula"
    recipe = load_recipe(RECIPE_PATH)
    v4 = torch.load(ckpts / "formula_det.pt", map_location="cpu", weights_only=False)
    assert v4["recovered_from"]["version"] == "formula-2026.11.26-c1f2e68" and v4["recipe_hash"] == "c1f2e683e73f"
    v5 = torch.load(ckpts / "formula_det_v5.pt", map_location="cpu", weights_only=False)
    assert v5["init"] == "training/checkpoints/formula/formula_det.pt" and v5["recipe_hash"] == "3c3019247492"
    v6 = torch.load(ckpts / "formula_det_v6.pt", map_location="cpu", weights_only=False)
    assert v6["init"] == "training/checkpoints/formula/formula_det_v5.pt" and v6["recipe_hash"] == "8865cf563ea0"
    shipped = torch.load(ckpts / "formula_det_v7.pt", map_location="cpu", weights_only=False)
    card = json.loads((root / "sdk/pocketocr/models/formula_det.int8.onnx.json").read_text())
    assert shipped["recipe_hash"] == card["training"]["recipe_hash"] == recipe.digest()
    assert not shipped["init"] and not recipe.init and shipped["width"] == recipe.width == 3.0
    for ck in (v4, v5, v6, shipped):
        FormulaDet(ck["width"]).load_state_dict(ck["model"])  # every tensor of the network, and nothing else


def test_reopened_batchnorms_keep_the_function_and_train_from_it(int8_det):
    """A recovered net's BatchNorms only add a bias: in train mode they would normalise by the batch and compute
    something else. Reopened, eval mode computes what it did, and train mode about the same."""
    import copy

    from pocketocr.training.formula.recover import detector_from_int8
    from pocketocr.training.int8_weights import reopen_batchnorm

    det = detector_from_int8(int8_det[1], width=0.5)
    x = torch.from_numpy(int8_det[2])
    with torch.no_grad():
        before = det(x)[0]
        closed = copy.deepcopy(det).train()(x)[0]  # train mode, not reopened
    reopen_batchnorm(det, [x[:2], x[2:]])
    assert not det.training
    with torch.no_grad():
        after = det(x)[0]
        opened = copy.deepcopy(det).train()(x)[0]
    assert torch.allclose(after, before, atol=1e-4)
    assert (opened - before).abs().mean() < 0.05 * (closed - before).abs().mean()
