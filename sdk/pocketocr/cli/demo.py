"""`pocketocr demo replay DATASET --collector URL --api-key KEY`: replay a card dataset through the web app.

The Android demo's web app (`android_demo/`, built with `npm run build`) is driven in headless Chromium
(Debian's /usr/bin/chromium through playwright-core, as a Pixel 7). Every labelled image is decoded here with
the SDK's own loader (`pocketocr.io.load_image`, so the app sees the same pixels as `pocketocr eval card`)
and handed to the app as a still photo through its test hook (`window.__pocketocr.injectCardStill`); the
app reads it on the page with onnxruntime-web, shows the editable result, and a simulated user corrects each
wrong field to the truth and taps Confirm. The app uploads its events to the collector, so afterwards
`pocketocr report online --db URL` gives the correction rate, which must equal the `needs_correction` of
`pocketocr eval card` on the same dataset and models.

The collector must allow the app's origin: start it with `--cors-origin http://127.0.0.1:PORT` (PORT is
`--port`, default 5173). Needs Node.js 20+, the demo's npm packages (`make demo-deps`) and Chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ._common import err

__all__ = ["add_parser", "app_dir", "ensure_built", "run", "run_driver"]

CHROMIUM = "/usr/bin/chromium"


def app_dir() -> Path:
    """The demo's folder: $POCKETOCR_DEMO_DIR, else android_demo/ beside the package (editable install)."""
    env = os.environ.get("POCKETOCR_DEMO_DIR")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[3] / "android_demo"


def _models_fingerprint(models: Path) -> dict[str, str]:
    out = {}
    for card in sorted(models.glob("*.onnx.json")):
        try:
            d = json.loads(card.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if d.get("precision") == "int8" and card.with_suffix("").exists():
            out[f"{d.get('task')}_{d.get('role')}"] = d.get("sha256", "")
    return out


def _sources_newer(app: Path, stamp: Path) -> bool:
    """True when a source of the web app changed after the build (`stamp` is the built index.html)."""
    built = stamp.stat().st_mtime
    paths = [app / "index.html", app / "package-lock.json", app / "vite.config.ts"]
    for folder in ("src", "public"):
        root = app / folder
        paths += [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] not in ("models", "ort")]
    return any(p.exists() and p.stat().st_mtime > built for p in paths)


def ensure_built(app: Path | None = None, models: Path | None = None, force: bool = False, timeout: float = 600) -> Path:
    """Build the web app (`npm run build`) unless dist/ is newer than its sources and carries the same models;
    returns dist/.

    Args:
        app: the android_demo folder (default: `app_dir()`).
        models: the model folder to copy in (default: the shipped models, sdk/pocketocr/models).
        force: rebuild even when dist/ looks current.
        timeout: seconds allowed for the build.
    """
    app = app or app_dir()
    from ..zoo import MODELS_DIR

    models = Path(models or MODELS_DIR).resolve()  # the build runs in the app folder
    dist = app / "dist"
    want = _models_fingerprint(models)
    try:
        have = {k: v.get("sha256", "") for k, v in json.loads((dist / "models" / "manifest.json").read_text()).items()}
    except (OSError, json.JSONDecodeError):
        have = None
    if not force and have == want and (dist / "index.html").exists() and not _sources_newer(app, dist / "index.html"):
        return dist
    if not (app / "node_modules").exists():
        raise RuntimeError(f"{app}/node_modules is missing: run `make demo-deps` (npm ci in android_demo)")
    env = {**os.environ, "POCKETOCR_MODELS": str(models)}
    proc = subprocess.run(["npm", "run", "build"], cwd=app, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"npm run build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return dist


def run_driver(scenario: str, spec: dict, app: Path | None = None, timeout: float = 600,
               stdin_on_ready=None) -> dict:
    """Run `node e2e/driver.mjs SCENARIO` with `spec` and return its result object (see the driver).

    `stdin_on_ready`: for the offline scenario, called when the driver prints READY_FOR_COLLECTOR; the driver
    then gets "GO" on stdin.
    """
    app = app or app_dir()
    with tempfile.TemporaryDirectory(prefix="pocketocr-driver-") as tmp:
        spec = {"chromium": CHROMIUM, **spec, "result_file": str(Path(tmp) / "result.json")}
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        cmd = ["node", str(app / "e2e" / "driver.mjs"), scenario, "--spec", str(spec_path)]
        proc = subprocess.Popen(cmd, cwd=app, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        try:
            if stdin_on_ready is not None:
                assert proc.stdout is not None and proc.stdin is not None
                for line in proc.stdout:
                    if line.strip() == "READY_FOR_COLLECTOR":
                        stdin_on_ready()
                        proc.stdin.write("GO\n")
                        proc.stdin.flush()
                        break
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate()
            raise RuntimeError(f"driver {scenario} timed out after {timeout:.0f} s:\n{stderr[-3000:]}") from None
        path = Path(spec["result_file"])
        if not path.exists():
            raise RuntimeError(f"driver {scenario} exited {proc.returncode} without a result:\n{stderr[-3000:]}")
        out = json.loads(path.read_text())
        out["stderr"] = stderr[-5000:]
        return out


def add_parser(sub) -> argparse.ArgumentParser:
    """Register `demo replay`."""
    p = sub.add_parser("demo", help="the Android demo: replay a dataset through the web app")
    dsub = p.add_subparsers(dest="demo_command", metavar="{replay}", required=True)
    r = dsub.add_parser("replay", help="drive the web app over a labelled card dataset; a simulated user corrects "
                                       "wrong fields and confirms; events go to the collector")
    r.add_argument("dataset", type=Path, metavar="DATASET_DIR", help="folder with labels.jsonl (card dataset format)")
    r.add_argument("--collector", required=True, metavar="URL", help="the collector, e.g. http://127.0.0.1:8000")
    r.add_argument("--api-key", required=True, metavar="KEY", help="an API key of the collector")
    r.add_argument("--port", type=int, default=5173,
                   help="port of the app's local web server (the collector needs --cors-origin "
                        "http://127.0.0.1:PORT; default 5173)")
    r.add_argument("--models", type=Path, default=None, help="model folder built into the app (default: shipped)")
    r.add_argument("--screenshots", type=Path, default=None, help="save screenshots of the first images here")
    r.add_argument("--json", action="store_true", help="print a JSON summary")
    return p


def run(args: argparse.Namespace) -> int:
    """Replay the dataset; exit 0 when every image went through the app, 1 on an error."""
    if shutil.which("node") is None:
        err("node (Node.js 20+) is not on PATH")
        return 1
    if not Path(CHROMIUM).exists():
        err(f"{CHROMIUM} is missing (Debian: apt-get install chromium)")
        return 1
    import numpy as np

    from ..errors import PocketOCRError
    from ..eval.card import load_card_labels
    from ..io import load_image

    try:
        labels = load_card_labels(args.dataset)
        dist = ensure_built(models=args.models)
    except (PocketOCRError, RuntimeError) as exc:
        err(str(exc))
        return 1
    with tempfile.TemporaryDirectory(prefix="pocketocr-replay-") as tmp:
        items = []
        for i, lab in enumerate(labels):
            img = load_image(lab.file)  # the SDK's decoder: the app gets the pixels `pocketocr eval card` reads
            raw = Path(tmp) / f"{i:05d}.rgb"
            raw.write_bytes(np.ascontiguousarray(np.asarray(img, np.uint8)).tobytes())
            items.append({"file": str(lab.file), "rgb": str(raw), "width": img.width, "height": img.height,
                          "truth_number": lab.number, "truth_expiry": lab.expiry})
        spec = {"dist": str(dist), "port": args.port, "collector": args.collector, "key": args.api_key,
                "items": items, "out": str(args.screenshots) if args.screenshots else None}
        try:
            out = run_driver("replay", spec, timeout=120 + 30 * len(items))
        except RuntimeError as exc:
            err(str(exc))
            return 1
    if not out["ok"]:
        err(f"replay failed: {(out.get('error') or '').splitlines()[0] if out.get('error') else 'unknown error'}")
        print(out.get("stderr", "")[-2000:], file=sys.stderr)
        return 1
    res = out["result"]
    summary = {"n": res["n"], "corrected": res["corrected"],
               "correction_rate": res["corrected"] / res["n"] if res["n"] else None,
               "number_ok": sum(r["number_ok"] for r in res["rows"]),
               "expiry_ok": sum(r["expiry_ok"] for r in res["rows"]),
               # per image, in order: whether the app's fields were right and the simulated user edited any
               "rows": [{k: r[k] for k in ("file", "number_ok", "expiry_ok", "corrected")} for r in res["rows"]]}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"replayed {summary['n']} images through the app; the simulated user corrected {summary['corrected']} "
              f"({summary['correction_rate']:.1%}); now run `pocketocr report online --db URL`")
    return 0
