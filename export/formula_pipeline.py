"""`pocketocr export runs/formula --to onnx,ort,tflite [--int8]`: every format of the formula detector from
one checkpoint, each scored against the checkpoint on the fixed synthetic validation sets (scans and
photos; F1@0.5 may drop at most 1 pt on either).

Writes into `--out` (default `<run>/export/`):
- `formula_det.fp32.onnx` (dynamic batch/height/width) and, with int8, `formula_det.int8.onnx` (QDQ);
- `formula_det.<prec>.ort` and `required_operators.config`;
- `formula_det.fp32.tflite` / `formula_det.int8.tflite`: a fixed long_side x long_side input (the SDK
  pads pages to it), int8 through litert-torch PT2E with the output convolutions in float;
- a model card `<file>.json` for each file that passes, and `export_summary.json`.

The release files in `sdk/pocketocr/models/` come from `pocketocr export formula --run RUN`
(export/formula.py); this is the engineer's tool for every format and the comparison between them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from pocketocr.zoo import model_card_path

from .formats import Format, FormatSpec
from .formula import VAL_KEYS, FormulaTFLiteDet, _calibration, _export_onnx, load_checkpoint
from .model_card import write_model_card
from .onnx_tools import CalibrationReader, quantize_qdq, set_metadata
from .parity import ParityRow, gate, output_agreement, raise_on_failure

__all__ = ["export_formula_formats"]

SETS = ("scan", "photo")


def _score(model, val_dir: Path) -> tuple[dict, list[list]]:
    """F1 and friends on one validation set (`model`: a file, or the checkpoint as a `TorchBackend`), plus
    the decoded formulas per page (for result agreement)."""
    from pocketocr.eval.formula import evaluate_formulas
    from pocketocr.tasks.formula.predictor import FormulaDetector

    det = FormulaDetector(model)  # a model file, or the checkpoint as an open TorchBackend
    got: list[list] = []

    def detect(p):
        r = det.detect(p)
        got.append(r.formulas)
        return r

    rep = evaluate_formulas(detect, val_dir, progress=False, model_version=det.model_version)
    rep.pop("samples", None)
    return rep, got


def _page_agreement(reference: list[list], pages: list[list], iou: float = 0.7) -> float | None:
    """Fraction of pages whose formulas pair up one-to-one with the checkpoint's (same kind, IoU >= 0.7):
    the formula counterpart of the card's "same (number, expiry)"; exact pixel equality would be too strict."""
    from pocketocr.eval.formula import match_boxes

    if not reference:
        return None
    same = 0
    for a, b in zip(reference, pages):
        ta, pb = np.array([f.box for f in a]).reshape(-1, 4), np.array([f.box for f in b]).reshape(-1, 4)
        ok_a, ok_b = match_boxes(ta, [f.kind for f in a], pb, [f.kind for f in b],
                                 np.array([f.score for f in b]), iou)
        same += bool(ok_a.all() and ok_b.all())
    return same / len(reference)


def export_formula_formats(run: Path, out: Path, specs: list[FormatSpec], *, int8: bool, calib: int,
                           val_n: int | None, version: str | None, verify: bool,
                           log: Callable[[str], None], allow_parity_failure: bool = False) -> dict:
    """See the module doc. Raises `ParityError` (after writing the summary) when a file fails the gate, unless
    `allow_parity_failure`: then those files keep model cards whose parity rows say "passed": false, and a
    warning is logged."""
    from pocketocr.training.common import TorchBackend
    from pocketocr.training.formula.train import FormulaRecipe, validation_sets

    from .ort_format import convert_to_ort
    from .pipeline import _cpu, _median_ms
    from .tflite import export_tflite, write_sidecar_metadata

    ck, model, spec, recipe, meta = load_checkpoint(run, version)
    version = meta["version"]
    wanted = {s.name for s in specs}
    precisions = ["fp32"] + (["int8"] if int8 else [])
    calib = min(calib, 64)  # pages are large: 64 is plenty for min-max ranges
    files: dict[tuple[Format, str], Path] = {}

    if Format.ONNX in wanted:
        fp32 = out / "formula_det.fp32.onnx"
        log(f"onnx: {fp32.name}")
        _export_onnx(model, fp32, spec)
        set_metadata(fp32, {**meta, "precision": "fp32"})
        files[(Format.ONNX, "fp32")] = fp32
        if int8:
            q = out / "formula_det.int8.onnx"
            log(f"onnx: {q.name} (static QDQ, per-channel; calibration: {calib} synthetic pages)")
            quantize_qdq(fp32, q, CalibrationReader("image", _calibration(recipe, run, calib, spec)))
            set_metadata(q, {**meta, "precision": "int8"})
            files[(Format.ONNX, "int8")] = q
    if Format.ORT in wanted:
        srcs = [p for (f, _), p in files.items() if f is Format.ONNX]
        log(f"ort: converting {len(srcs)} ONNX files (+ required_operators.config)")
        made = convert_to_ort(srcs, out)
        for (f, prec), p in list(files.items()):
            if f is Format.ONNX:
                files[(Format.ORT, prec)] = made[p.name]
    if Format.TFLITE in wanted:
        side = spec.long_side
        for prec in precisions:
            path = out / f"formula_det.{prec}.tflite"
            log(f"tflite: {path.name} ({side}x{side} input" + (", PT2E static int8)" if prec == "int8" else ")"))
            cal = _calibration(recipe, run, calib, spec, (side, side)) if prec == "int8" else []
            export_tflite(FormulaTFLiteDet(model).eval(), torch.zeros(1, 1, side, side), path, int8=prec == "int8",
                          calib=cal)
            write_sidecar_metadata(path, {**meta, "precision": prec})
            files[(Format.TFLITE, prec)] = path

    rows: list[ParityRow] = []
    reference: dict[str, dict] = {}
    measured: dict[tuple[str, str], dict] = {}  # (file, set) -> that file's metrics, for its model card
    speed: dict[str, float] = {}
    if verify:
        if val_n is not None and val_n != recipe.n_val:
            recipe = FormulaRecipe(**{**ck["recipe"], "n_val": val_n})
        vals = validation_sets(recipe, run)
        torch_be = TorchBackend(model, "image", meta)
        for name in SETS:
            log(f"parity: scoring the checkpoint on {vals[name].name}")
            ref, ref_got = _score(torch_be, vals[name])
            reference[name] = ref
            scored, agree = {}, {}
            for (fmt, prec), p in files.items():
                log(f"parity: scoring {p.name} on {name}")
                key = f"{p.name} [{name}]"
                scored[key], got = _score(p, vals[name])
                measured[(p.name, name)] = {**{k: scored[key].get(k) for k in VAL_KEYS}, "dataset": vals[name].name}
                agree[key] = _page_agreement(ref_got, got)
            rows += gate("formula", ref, scored, agree, {})
        # raw outputs on one page against the checkpoint, and single-thread time per file
        from pocketocr.backends.base import open_backend
        from pocketocr.io import load_image
        from pocketocr.tasks.formula.pre import prepare

        first = json.loads((vals["scan"] / "annotations.jsonl").read_text().splitlines()[0])["file"]
        page = load_image(vals["scan"] / first)
        for (fmt, prec), p in files.items():
            be = open_backend(p, threads=1)
            hw, nm = be.input_shape()[2:4], be.input_names()[0]
            x, _ = prepare(page, spec, tuple(hw) if None not in hw else None)
            ref_prob = torch_be.run({"image": x})[0]
            agreement = output_agreement([ref_prob], [be.run({nm: x})[0]], "maps")
            rows = [ParityRow(**{**r.to_dict(), "output_agreement": agreement}) if r.file.startswith(p.name + " ")
                    else r for r in rows]
            speed[p.name] = _median_ms(lambda be=be, x=x, nm=nm: be.run({nm: x}), n=5)

    summary = {"task": "formula", "version": version, "checkpoint": str(run), "out": str(out),
               "formats": [s.name.value for s in specs], "int8": int8, "calibration_pages": calib if int8 else 0,
               "val_n": recipe.n_val if verify else 0, "verified": verify,
               "gate": {"metric": "f1_50", "max_drop": 0.01},
               "checkpoint_metrics": {k: {m: v.get(m) for m in ("n", "precision_50", "recall_50", "f1_50")}
                                      for k, v in reference.items()},
               "parity": [r.to_dict() for r in rows], "speed_ms_1thread": {"cpu": _cpu(), **speed}, "files": {}}
    val = {r.file: r.value for r in rows}
    pairs = {k: (val.get(f"formula_det.int8.onnx [{k}]"), val.get(f"formula_det.int8.tflite [{k}]")) for k in SETS}
    if all(a is not None and b is not None for a, b in pairs.values()):
        diffs = {k: round((a - b) * 100, 3) for k, (a, b) in pairs.items()}
        worst = max(diffs.values(), key=abs)
        summary["tflite_int8_vs_onnx_int8"] = {"metric": "f1_50", "diff_pt": worst, "by_set_pt": diffs,
                                               "max_pt": 1.0, "within": abs(worst) <= 1.0 + 1e-9}
    for (fmt, prec), p in files.items():
        mine = [r for r in rows if r.file.startswith(p.name + " ")]
        if verify and not (all(r.passed for r in mine) or allow_parity_failure):
            model_card_path(p).unlink(missing_ok=True)  # no model card: a file that failed the gate is not listed
            continue
        tfl = fmt is Format.TFLITE
        write_model_card(
            p, task="formula", role="det", precision=prec, version=version, checkpoint=ck,
            recipe_hash=ck["recipe_hash"],
            command="pocketocr train formula && pocketocr export runs/formula --to onnx,ort,tflite --int8",
            metrics={**{f"synthetic_val_{name}": measured[(p.name, name)] for name in SETS
                        if (p.name, name) in measured},
                     "parity_vs_checkpoint": [r.to_dict() for r in mine] or "not verified (--no-verify)"},
            metadata={**meta, "precision": prec},
            # how this path quantizes (above): static, per channel, min-max over `calib` synthetic pages
            quantization=({"format": "PT2E static (litert-torch)" if tfl else "QDQ static", "per_channel": True,
                           "weights": "int8", "calibration": f"{calib} synthetic pages (seed {recipe.seed + 3})"}
                          if prec == "int8" else None),
            speed={"median_ms_1thread": speed.get(p.name), "cpu": _cpu()},
            **({"runtime": "ai-edge-litert (LiteRT); pages are padded to the fixed square input",
                "input_shape": [1, 1, spec.long_side, spec.long_side]} if tfl else {}))
        summary["files"][p.name] = str(p)
    if Format.ORT in wanted:
        summary["files"]["required_operators.config"] = str(out / "required_operators.config")
    (out / "export_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if allow_parity_failure and any(not r.passed for r in rows):
        log("WARNING: parity gate FAILED for " + ", ".join(r.file for r in rows if not r.passed)
            + "; written anyway because allow_parity_failure was set (their model cards say passed: false)")
        return summary
    raise_on_failure(rows, str(out / "export_summary.json"))
    return summary
