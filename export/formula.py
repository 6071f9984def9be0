"""Export the formula detector: ONNX fp32 (dynamic height/width) -> static int8 QDQ (per-channel,
calibrated on synthetic pages), the preprocessing spec inside the model; and an int8 TFLite (litert-torch
PT2E, fixed square input: the SDK pads pages to it). A parity gate against fp32 on the fixed synthetic
validation sets, and a model card per shipped file.

`pocketocr export formula --run runs/formula --out sdk/pocketocr/models --percentile 99.999 --calib 16` made v3 and v4.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
from pocketocr.tasks.formula.pre import PreSpec, det_tensor, page_canvas
from pocketocr.training.formula.bank import load_bank
from pocketocr.training.formula.models import FormulaDet
from pocketocr.training.formula.synth import make_page
from pocketocr.training.formula.train import FormulaRecipe, validation_sets

from .model_card import write_model_card
from .onnx_tools import CalibrationReader, quantize_qdq, set_metadata
from .tflite import FloatStem, FloatTail, export_tflite, write_sidecar_metadata

__all__ = ["MAX_F1_DROP", "VAL_KEYS", "FormulaTFLiteDet", "ParityError", "export_formula", "load_checkpoint"]

# The figures a formula model card records per validation set (both exporters)
VAL_KEYS = ("n", "precision_50", "recall_50", "f1_50", "f1_75", "map", "coverage_recall")

MAX_F1_DROP = 0.01  # int8 may lose at most 1 pt of F1@0.5 against fp32 on either synthetic set
DEFAULT_CALIB = 160  # calibration pages asked for (capped at 64; at 16 with a percentile)


class ParityError(RuntimeError):
    pass


def _export_onnx(model: FormulaDet, path: Path, spec: PreSpec) -> None:
    model.eval()
    # Batch, height and width are dynamic: pages come in any aspect (multiples of 32).
    example = torch.zeros(1, 1, spec.long_side, round(spec.long_side * 0.75) // 32 * 32)
    torch.onnx.export(model, (example,), str(path), input_names=["image"], output_names=["prob", "box"],
                      dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                                    "prob": {0: "batch", 2: "h4", 3: "w4"}, "box": {0: "batch", 2: "h4", 3: "w4"}},
                      dynamo=False, opset_version=17)


def load_checkpoint(run: Path, version: str | None = None):
    """`run/formula_det.pt` -> (checkpoint dict, eval-mode FormulaDet, PreSpec, FormulaRecipe, metadata).

    The metadata (version, task, labels, outputs, recipe hash, preprocessing spec) is what every exported
    file carries; `version` defaults to formula-<date>-<recipe hash>.
    """
    ck = torch.load(Path(run) / "formula_det.pt", map_location="cpu", weights_only=False)
    spec = PreSpec(**ck["spec"])
    model = FormulaDet(ck.get("width", 1.0))
    model.load_state_dict(ck["model"])
    meta = {"version": version or f"formula-{dt.date.today():%Y.%m.%d}-{ck['recipe_hash'][:7]}",
            "task": "formula", "role": "det", "name": "formula_det",
            "recipe_hash": ck["recipe_hash"], "labels": json.dumps(list(spec.class_names)),
            "outputs": json.dumps({"prob": "core probability per class (N, 2, H/4, W/4)",
                                   "box": "log(distance / box_unit) to left, top, right, bottom (N, 4, H/4, W/4)"}),
            **spec.to_metadata()}
    return ck, model.eval(), spec, FormulaRecipe(**ck["recipe"]), meta


def _formula_outputs(y):
    # (N, 6, H, W) -> prob (N, 2, H, W) after a sigmoid, box (N, 4, H, W): the ONNX model's two outputs.
    return torch.sigmoid(y)[:, 0:2], y[:, 2:6]


class FormulaTFLiteDet(torch.nn.Module):
    """The detector as shipped to TFLite: the first layer in a `FloatStem`, int8 features; the `prob` and `box`
    convolutions, merged into one 6-channel conv (the same numbers), and the sigmoid run in a `FloatTail`.
    Returns (prob, box)."""

    def __init__(self, m: FormulaDet):
        super().__init__()
        m = copy.deepcopy(m)
        m.stem[0] = FloatStem(m.stem[0])
        conv = torch.nn.Conv2d(m.prob.in_channels, 6, 1)
        with torch.no_grad():
            conv.weight.copy_(torch.cat([m.prob.weight, m.box.weight]))
            conv.bias.copy_(torch.cat([m.prob.bias, m.box.bias]))
        self.m, self.tail = m, FloatTail(conv, _formula_outputs)

    def forward(self, x):
        return self.tail(self.m.features(x))


def _calibration(recipe: FormulaRecipe, run: Path, n: int, spec: PreSpec,
                 size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Detector inputs from synthetic pages (half scans, half photos) of a seed no set uses;
    `size` pads them to a fixed model input."""
    bank = load_bank(run / f"bank_s{recipe.seed}_{recipe.bank_inline}_{recipe.bank_display}.npz")
    out = []
    for i in range(n):
        s = make_page((recipe.seed + 3) * 1_000_003 + i, bank, photo=bool(i % 2))
        canvas, _ = page_canvas(s.image, spec, size)
        out.append(det_tensor(canvas[None], spec))
    return out


def _evaluate(model: Path, dataset: Path) -> dict:
    from pocketocr.eval.formula import evaluate_formulas
    from pocketocr.tasks.formula.predictor import FormulaDetector

    det = FormulaDetector(model)
    rep = evaluate_formulas(det.detect, dataset, progress=True, model_version=det.model_version)
    rep.pop("samples")
    return rep


def export_formula(run: Path, out: Path, *, calib: int = DEFAULT_CALIB, val_n: int | None = None, keep_fp32: bool = False,
                   version: str | None = None, tflite: bool = True, percentile: float | None = None,
                   allow_parity_failure: bool = False) -> dict:
    """Export `run/formula_det.pt` to int8 ONNX (and int8 TFLite) in `out`, with model cards.

    Args:
        run: training run folder (`pocketocr train formula --out RUN`).
        out: where the shipped model and its card go.
        calib: synthetic pages used to calibrate int8 (capped at 64: pages are large).
        val_n: pages of each synthetic validation set for the parity gate (default: the recipe's n_val).
        keep_fp32: also ship the fp32 model.
        version: model version (default formula-<date>-<recipe hash>).
        tflite: also write and gate `formula_det.int8.tflite` (fixed long_side x long_side input).
        percentile: calibrate the ONNX activation ranges to this percentile of |x| instead of min-max, on at
            most 16 pages padded to long_side x long_side (onnxruntime keeps every activation value: 64 pages
            of the width-2 detector took over 18 GB). None: min-max on up to 64 pages as they come.
        allow_parity_failure: ship files that fail the gate anyway, with a warning on stderr; their model
            cards say "passed": false (an explicit, recorded exception, as for the card export).

    Returns:
        {"version", "parity", "synthetic_val_scan", "synthetic_val_photo", "shipped"}.

    Raises:
        ParityError: an int8 file loses more than 1 pt of F1@0.5 against fp32 on either synthetic set.
    """
    run, out = Path(run), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = run / "export"
    work.mkdir(exist_ok=True)
    ck, model, spec, recipe, base_meta = load_checkpoint(run, version)
    version = base_meta["version"]
    fp32, int8 = work / "formula_det.fp32.onnx", work / "formula_det.int8.onnx"
    _export_onnx(model, fp32, spec)
    side = spec.long_side
    # Pages padded to the square input, rendered once: the TFLite calibration, and the percentile one (its
    # first 16 pages; only those are rendered when there is no TFLite twin).
    n_square = min(calib, 64) if tflite else min(calib, 16) if percentile is not None else 0
    square = _calibration(recipe, run, n_square, spec, (side, side)) if n_square else []
    if percentile is None:
        n_calib, calib_note = min(calib, 64), ""
        quantize_qdq(fp32, int8, CalibrationReader("image", _calibration(recipe, run, n_calib, spec)))
    else:
        n_calib, calib_note = min(calib, 16), f", padded to {side}x{side}, percentile {percentile}"
        quantize_qdq(fp32, int8, CalibrationReader("image", square[:n_calib]), percentile=percentile)
    for p, prec in ((fp32, "fp32"), (int8, "int8")):
        set_metadata(p, {**base_meta, "precision": prec})
    files = {"int8": int8}
    if tflite:
        tfl = work / "formula_det.int8.tflite"
        export_tflite(FormulaTFLiteDet(model).eval(), torch.zeros(1, 1, side, side), tfl, int8=True, calib=square)
        write_sidecar_metadata(tfl, {**base_meta, "precision": "int8"})
        files["tflite_int8"] = tfl

    if val_n is not None and val_n != recipe.n_val:
        recipe = FormulaRecipe(**{**ck["recipe"], "n_val": val_n})
    vals = validation_sets(recipe, run)
    metrics = {(k, name): _evaluate(p, vals[k]) for k in ("scan", "photo")
               for name, p in (("fp32", fp32), *files.items())}
    parity: dict = {"max_drop": MAX_F1_DROP}
    failed = []
    for name in files:
        for k in ("scan", "photo"):
            a, b = metrics[(k, "fp32")]["f1_50"] or 0.0, metrics[(k, name)]["f1_50"] or 0.0
            key = k if name == "int8" else f"{k}_{name}"
            parity[key] = {"fp32_f1_50": a, f"{name}_f1_50": b, "drop": round(a - b, 4)}
            if a - b > MAX_F1_DROP:
                failed.append(key)
    if tflite:  # the product bar: TFLite int8 within 1 pt of ONNX int8
        parity["tflite_int8_vs_onnx_int8"] = {
            k: round((metrics[(k, "int8")]["f1_50"] or 0) - (metrics[(k, "tflite_int8")]["f1_50"] or 0), 4)
            for k in ("scan", "photo")}
    parity["passed"] = not failed
    summary = {"version": version, "parity": parity, "synthetic_val_scan": metrics[("scan", "int8")],
               "synthetic_val_photo": metrics[("photo", "int8")]}
    (work / "export_summary.json").write_text(json.dumps(summary, indent=2))
    if failed and allow_parity_failure:
        print(f"WARNING: parity gate FAILED for {', '.join(failed)}; shipping anyway because allow_parity_failure "
              "was set (the model cards say passed: false)", file=sys.stderr)
    elif failed:
        raise ParityError(f"int8 loses more than {MAX_F1_DROP * 100:.0f} pt of F1@0.5 against fp32 on "
                          f"{', '.join(failed)}: {json.dumps({k: parity[k] for k in failed})}; "
                          f"see {work / 'export_summary.json'}")

    keys = (*VAL_KEYS, "needs_correction", "latency_ms")  # the release card also keeps what the eval timed
    shipped = {}
    ships = [(int8, "int8", "int8")] + ([(fp32, "fp32", "fp32")] if keep_fp32 else []) \
        + ([(files["tflite_int8"], "int8", "tflite_int8")] if tflite else [])
    for src, prec, key in ships:
        dst = out / src.name
        if dst.resolve() != src.resolve():  # --out may be the run's own export folder
            shutil.copyfile(src, dst)
        is_tfl = dst.suffix == ".tflite"
        write_model_card(
            dst, task="formula", role="det", precision=prec, version=version, checkpoint=ck,
            recipe_hash=ck["recipe_hash"],
            command="pocketocr train formula && pocketocr export formula"
                    + (f" --percentile {percentile:g}" if percentile is not None else "")
                    + (f" --calib {calib}" if calib != DEFAULT_CALIB else ""),
            quantization=({"format": "PT2E static (litert-torch)", "per_channel": True,
                           "activations": "int8 (the output convolutions and the sigmoid in float)",
                           "weights": "int8", "input": "int8 (the SDK quantizes with the model's scale/zero point)",
                           "input_shape": [1, 1, spec.long_side, spec.long_side],
                           "calibration": f"{min(calib, 64)} synthetic pages (seed {recipe.seed + 3})"}
                          if is_tfl else
                          {"format": "QDQ static", "per_channel": True, "activations": "uint8 (the output "
                           "convolutions in float)", "weights": "int8",
                           "calibration": f"{n_calib} synthetic pages (seed {recipe.seed + 3}){calib_note}"}
                          if prec == "int8" else None),
            metrics={"synthetic_val_scan": {k: metrics[("scan", key)][k] for k in keys},
                     "synthetic_val_photo": {k: metrics[("photo", key)][k] for k in keys},
                     "parity_vs_fp32": parity},
            metadata={**base_meta, "precision": prec},
            **({"runtime": "ai-edge-litert (LiteRT); pages are padded to the fixed square input"} if is_tfl else {}))
        shipped[f"det_{key}"] = str(dst)
    summary["shipped"] = shipped
    return summary
