"""`pocketocr formula IMAGE... [--json] [--draw OUT_DIR] [--coco out.json]`: box math formulas on pages."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._common import (
    add_backend,
    add_max_side,
    add_no_snap,
    add_threads,
    err,
    formula_config,
    max_side_kwargs,
    report_input_error,
    short_path,
)

__all__ = ["add_parser", "run"]

_COLOURS = {"embedded": (220, 0, 0), "isolated": (0, 60, 230)}


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("formula", help="detect math-formula regions in page photos")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    p.add_argument("--draw", type=Path, default=None, metavar="OUT_DIR",
                   help="write each image with its boxes drawn (red: embedded, blue: isolated) to OUT_DIR")
    p.add_argument("--coco", type=Path, default=None, metavar="OUT_JSON", help="also write all results as COCO JSON")
    p.add_argument("--det-model", default=None, help="detector model file (default: shipped)")
    add_backend(p)
    add_threads(p)
    add_max_side(p)
    add_no_snap(p)
    return p


def _row(file: str, r) -> dict:
    return {"file": file, "width": r.width, "height": r.height,
            "boxes": [{"box": list(f.box), "kind": f.kind, "score": f.score} for f in r.formulas],
            "timings_ms": {"total": r.timings_ms["total"]}}


def _draw(path: str, r, out_dir: Path, index: int) -> Path:
    from PIL import ImageDraw

    from ..io import load_image

    img = load_image(path)
    d = ImageDraw.Draw(img)
    lw = max(2, img.width // 600)
    for f in r.formulas:
        d.rectangle(f.box, outline=_COLOURS.get(f.kind, (0, 160, 0)), width=lw)
    out_dir.mkdir(parents=True, exist_ok=True)
    dst = out_dir / f"{index:04d}_{Path(path).stem}.jpg"
    img.save(dst, quality=90)
    return dst


def _coco(rows: list[tuple[str, object]]) -> dict:
    """COCO detection-format JSON: images, categories, annotations (bbox = x, y, w, h; with score)."""
    cats = [{"id": 1, "name": "embedded"}, {"id": 2, "name": "isolated"}]
    cat_id = {c["name"]: c["id"] for c in cats}
    images, anns = [], []
    for i, (file, r) in enumerate(rows, 1):
        images.append({"id": i, "file_name": file, "width": r.width, "height": r.height})  # type: ignore[attr-defined]
        for f in r.formulas:  # type: ignore[attr-defined]
            x1, y1, x2, y2 = f.box
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": cat_id[f.kind],
                         "bbox": [x1, y1, round(x2 - x1, 1), round(y2 - y1, 1)],
                         "area": round((x2 - x1) * (y2 - y1), 1), "iscrowd": 0, "score": f.score})
    return {"images": images, "annotations": anns, "categories": cats}


def run(args) -> int:
    from ..errors import PocketOCRError
    from ..tasks.formula.predictor import FormulaDetector

    try:
        side = max_side_kwargs(args)
    except ValueError as exc:
        err(str(exc))
        return 2
    try:
        det = FormulaDetector(args.det_model, backend=args.backend, threads=args.threads, config=formula_config(args),
                              **side)
    except PocketOCRError as exc:
        err(str(exc))
        return 2
    failed = 0
    done: list[tuple[str, object]] = []
    if not args.json:
        print(f"{'file':40} {'embedded':>8} {'isolated':>8} {'ms':>7}")
    for i, path in enumerate(args.images):
        try:
            r = det.detect(path)
        except PocketOCRError as exc:
            failed += 1
            report_input_error(path, exc, args.json)
            continue
        done.append((path, r))
        if args.draw is not None:
            _draw(path, r, args.draw, i)
        if args.json:
            print(json.dumps(_row(path, r)), flush=True)
        else:
            n_emb = sum(f.kind == "embedded" for f in r.formulas)
            print(f"{short_path(path):40} {n_emb:8d} {len(r.formulas) - n_emb:8d} {r.timings_ms['total']:7.1f}")
    if args.coco is not None:
        args.coco.parent.mkdir(parents=True, exist_ok=True)
        args.coco.write_text(json.dumps(_coco(done)))
    sys.stdout.flush()
    return 1 if failed else 0
