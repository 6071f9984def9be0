"""The demo's model latency in headless Chromium (onnxruntime-web, wasm, SIMD) beside Python onnxruntime on the
same images, measured in the same run. The browser runs twice: with the app's default threads (when the page is
cross-origin isolated: half the cores, at least 2, at most 4) and on 1 thread.

    python benchmarks/bench_demo_browser.py [--runs 50] [--models DIR] [--threads 1] [--small-card] [--json]

Card: a synthetic card photo (1280x960, like a camera frame) through the whole `read` (pre-processing,
detector, crops, recogniser, decoding); "model" is detector + recogniser inference alone (cutting the crops
counts as pre-processing), as the events' `latency_ms.model`. With `--small-card` the same card fills 45% of
the frame's width on a grey background: the reader's zoomed second pass runs, so the row shows its cost. Formula: a synthetic page through
pre-processing, the detector and box decoding (when the formula model is shipped). Medians (and p90) over `--runs` runs after 5 warm-up runs. Python runs
`CardReader.read` / `FormulaDetector.detect` with `--threads` onnxruntime threads (default 1, the SDK's
mobile default). No assertion on time: this is a report.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from pocketocr.cli.demo import ensure_built, run_driver
from pocketocr.zoo import MODELS_DIR


def _stats(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"n": len(xs), "median": round(statistics.median(xs), 2), "p90": round(xs[int(0.9 * (len(xs) - 1))], 2)}


def _time_python(fn, image, runs: int, warmup: int = 5) -> dict[str, list[float]]:
    """Whole-call and inference times (ms) of `runs` calls of the SDK's `fn` after `warmup` calls."""
    out: dict[str, list[float]] = {"total": [], "infer": []}
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        r = fn(image)
        t = (time.perf_counter() - t0) * 1000
        if i >= warmup:
            out["total"].append(t)
            out["infer"].append(r.timings_ms["infer"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--models", type=Path, default=MODELS_DIR)
    ap.add_argument("--threads", type=int, default=1, help="Python onnxruntime threads (default 1)")
    ap.add_argument("--small-card", action="store_true", help="the card far from the camera (a zoomed second read)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from pocketocr.tasks.card.predictor import CardReader
    from pocketocr.training.card.synth import make_sample

    card_img = make_sample(503, version=2).image.convert("RGB").resize((1280, 960), Image.BILINEAR)
    if args.small_card:
        frame = Image.fromarray(np.random.default_rng(0).integers(100, 140, (960, 1280, 3), dtype=np.uint8))
        frame.paste(card_img.resize((576, 432), Image.BILINEAR), (352, 264))
        card_img = frame
    card = np.asarray(card_img)
    page = None
    formula_model = args.models / "formula_det.int8.onnx"
    if formula_model.exists():
        from pocketocr.training.formula.bank import build_bank
        from pocketocr.training.formula.synth import make_page

        page = np.asarray(make_page(701, build_bank(seed=3, n_inline=40, n_display=20), photo=True).image.convert("RGB"))
    dist = ensure_built(models=args.models)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "card.rgb").write_bytes(card.tobytes())
        spec = {"dist": str(dist), "card_rgb": str(Path(tmp) / "card.rgb"), "card_w": card.shape[1], "card_h": card.shape[0],
                "runs": args.runs, "warmup": 5}
        if page is not None:
            (Path(tmp) / "page.rgb").write_bytes(page.tobytes())
            spec.update(page_rgb=str(Path(tmp) / "page.rgb"), page_w=page.shape[1], page_h=page.shape[0])
        webs = {}
        for label, query in (("default", "?nosw"), ("1 thread", "?nosw&threads=1")):
            out = run_driver("bench", {**spec, "query": query}, timeout=900)
            if not out["ok"]:
                print(out["error"], file=sys.stderr)
                return 1
            webs[label] = out["result"]
    web, web1 = webs["default"], webs["1 thread"]

    reader = CardReader(args.models / "card_det.int8.onnx", args.models / "card_rec.int8.onnx", threads=args.threads)
    py = _time_python(reader.read, card, args.runs)
    rows = [("card read (pre + models + post)", web["card"]["total"], py["total"]),
            ("card models (det + rec inference)", web["card"]["infer"], py["infer"]),
            ("card read, browser on 1 thread", web1["card"]["total"], py["total"]),
            ("card models, browser on 1 thread", web1["card"]["infer"], py["infer"])]
    if page is not None and web["formula"]["total"]:
        from pocketocr.tasks.formula.predictor import FormulaDetector

        det = FormulaDetector(formula_model, threads=args.threads)
        pf = _time_python(det.detect, page, args.runs)
        rows += [("formula detection (pre + model + post)", web["formula"]["total"], pf["total"]),
                 ("formula model (inference)", web["formula"]["infer"], pf["infer"]),
                 ("formula model, browser on 1 thread", web1["formula"]["infer"], pf["infer"])]
    report = {"browser": {"threads": web["threads"], "cross_origin_isolated": web["cross_origin_isolated"],
                          "user_agent": web["user_agent"]},
              "python": {"threads": args.threads, "machine": platform.machine(), "cpu_count": __import__("os").cpu_count()},
              "rows": [{"what": w, "browser_ms": _stats(b), "python_ort_ms": _stats(p)} for w, b, p in rows]}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"browser: headless Chromium, onnxruntime-web wasm, {web['threads']} thread(s), cross-origin isolated "
          f"{web['cross_origin_isolated']}; Python onnxruntime {args.threads} thread(s); {args.runs} runs, medians (p90) in ms")
    print(f"{'':42s} {'browser':>16s} {'python ORT':>16s}")
    for r in report["rows"]:
        b, p = r["browser_ms"], r["python_ort_ms"]
        print(f"{r['what']:42s} {b['median']:8.1f} ({b['p90']:5.1f}) {p['median']:8.1f} ({p['p90']:5.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
