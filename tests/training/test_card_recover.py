"""training/card/recover.py: a float recogniser rebuilt from an int8 ONNX file computes what the file does."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def int8_rec(tmp_path_factory):
    """A recogniser with non-trivial BatchNorm statistics, exported and quantized as `pocketocr export card` does."""
    from pocketocr.export.card import _export_onnx, _quantize, _RecProbs
    from pocketocr.export.onnx_tools import CalibrationReader
    from pocketocr.tasks.card.pre import PreSpec
    from pocketocr.training.card.models import CardRec

    out, spec = tmp_path_factory.mktemp("recover"), PreSpec()
    torch.manual_seed(3)
    rec = CardRec(n_classes=len(spec.vocab) + 1, top=48, top_layers=1)
    with torch.no_grad():
        for m in rec.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5), m.bias.uniform_(-0.2, 0.2)
        rec.cls.weight.mul_(20.0)  # sharper outputs than a random init's near-uniform ones
    rec.eval()
    g = np.random.default_rng(0)
    x = g.standard_normal((6, 1, spec.rec_height, spec.rec_width)).astype(np.float32)
    _export_onnx(_RecProbs(rec), torch.from_numpy(x[:2]), out / "rec.fp32.onnx", "crop", "probs")
    _quantize(out / "rec.fp32.onnx", out / "rec.int8.onnx", CalibrationReader("crop", [x[i:i + 1] for i in range(6)]))
    return rec, out / "rec.int8.onnx", x, {"rec_top": 48, "rec_top_layers": 1}


def test_recovered_recogniser_computes_what_the_int8_file_computes(int8_rec):
    from pocketocr.training.card.recover import recogniser_from_int8

    original, path, x, recipe = int8_rec
    rec = recogniser_from_int8(path, recipe, n_classes=12)
    with torch.no_grad():
        recovered = rec(torch.from_numpy(x)).exp().numpy()
        float_probs = original(torch.from_numpy(x)).exp().numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    int8_probs = sess.run(None, {"crop": x})[0]
    fresh = type(original)(n_classes=12, top=48, top_layers=1).eval()  # same shape, other weights
    with torch.no_grad():
        other = fresh(torch.from_numpy(x)).exp().numpy()

    def gap(a, b):  # mean absolute difference of log-probabilities
        return float(np.abs(np.log(a) - np.log(b)).mean())

    # the recovered float net sits between the original float net (weights rounded to int8 steps) and the int8
    # file (activations rounded as well): far closer to both than a net of the same shape with other weights
    assert gap(recovered, float_probs) < 0.1 * gap(other, float_probs)
    assert gap(recovered, int8_probs) < 0.25 * gap(other, int8_probs)


def test_a_recipe_of_another_shape_is_an_error(int8_rec):
    from pocketocr.training.card.recover import recogniser_from_int8

    _, path, _, _ = int8_rec
    with pytest.raises(ValueError, match="convolution"):
        recogniser_from_int8(path, {}, n_classes=12)  # the default shape has two frame-level layers, not one
