"""One set of pre/post-processing rules: the browser port against golden vectors from the Python SDK.

The golden vectors (android_demo/scripts/golden.py) hold every stage of the SDK's pipeline; the vitest suite
(android_demo/test/golden.test.ts) recomputes each stage in TypeScript from the previous Python stage and
demands identical uint8 images and decoded results (tensors and geometry within documented tolerances).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace

import numpy as np
import pytest
from pocketocr.tasks.card import post as card_post
from pocketocr.tasks.card.pre import DetMeta, PreSpec, Turn, below_geoms
from pocketocr.tasks.card.predictor import needs_review, pick_passes, pick_turned

from .conftest import APP, MODELS, ROOT, _needs_node


@pytest.fixture(scope="module")
def golden(tmp_path_factory):
    out = tmp_path_factory.mktemp("golden")
    proc = subprocess.run([sys.executable, str(APP / "scripts" / "golden.py"), str(out), "--models", str(MODELS)],
                          capture_output=True, text=True,
                          timeout=300, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    return out


def _load(golden, a):
    return np.fromfile(golden / a["file"], dtype=a["dtype"]).reshape(a["shape"])


def test_golden_stages_compose_to_the_sdk_result(golden):
    """Python side: the stored stages (maps, probs) decode to the stored CardResult through the SDK's post.py,
    so the JS test, which starts from the same stages, checks the SDK's own answer."""
    index = json.loads((golden / "index.json").read_text())
    cards = [c for c in index["cases"] if c["kind"] == "card"]
    if not cards:
        pytest.skip("card models not shipped yet: only the decode and formula cases are generated")
    spec, cfg = PreSpec.from_metadata(index["card_spec"]), card_post.DecodeConfig()
    zoomed = retried = number_retried = turned = below = 0
    for c in cards:
        stored = [c] + ([c["zoom"]] if c["zoom"] else [])
        passes = [_decode_pass(golden, p, spec, cfg) for p in stored]
        zoomed += len(passes) > 1
        retried += sum("retry" in p for p in stored + c["turns"])
        number_retried += sum("number_retry" in p for p in stored + c["turns"])
        below += sum("below" in p for p in stored + c["turns"])
        if c["zoom"] is None:
            assert c["zoom_region"] is None or passes[0].sure
        num, exp = pick_passes(passes, cfg.min_confidence)
        # the turned passes exactly when no pass shows a number and one marked a number field
        wants_turns = num.choice.number is None and any(p.found for p in passes)
        assert [t["turn"]["angle"] for t in c["turns"]] == (list(cfg.turn_angles) if wants_turns else [])
        if c["turns"]:
            turned += 1
            num = pick_turned(num, [_decode_pass(golden, t, spec, cfg) for t in c["turns"]], cfg.turn_confidence,
                              cfg.turn_votes)
        choice, expiry = num.choice, exp.expiry
        assert (choice.number, expiry) == (c["result"]["number"], c["result"]["expiry"])
        assert choice.needs_review <= c["result"]["needs_review"]
    assert zoomed, "no card case takes the zoomed second pass: the vectors do not pin it"
    assert turned, "no card case reads the photo turned: the vectors do not pin the turned passes"
    assert retried, "no card pass reads an expiry again: the vectors do not pin the retry"
    assert number_retried, "no card pass reads its number lines again: the vectors do not pin that retry"
    assert below, "no card pass reads below an expiry field: the vectors do not pin that retry"


@dataclass
class _Decoded:
    """What predictor.py's _Pass holds that the pass pickers read."""

    choice: card_post.NumberChoice
    expiry: str | None
    exp_conf: float
    sure: bool
    found: bool


def _decode_pass(golden, c, spec, cfg):
    """One pass of CardReader.read decoded from its stored maps and probabilities."""
    maps = _load(golden, c["maps"])[0]
    if "turn" in c:  # a turned pass: fields found in the turned canvas, turned back into the photo
        t = c["turn"]
        turn = Turn(t["angle"], t["scale"], tuple(t["src_size"]), tuple(t["box_size"]))
        fields = [replace(f, geom=turn.to_photo(f.geom)) for f in card_post.find_fields(
            maps, DetMeta(1.0, (spec.det_size, spec.det_size)), spec, cfg)]
    else:
        fields = card_post.find_fields(maps, DetMeta(c["scale"], (c["width"], c["height"])), spec, cfg)
    assert [f.kind for f in fields] == [f["kind"] for f in c["fields"]]
    lines, expiries = card_post.select_fields(fields, cfg)
    probs = iter(_load(golden, c["probs"])) if "probs" in c else iter(())
    readings = [[card_post.PieceReading(f, *card_post.ctc_greedy(next(probs), spec.vocab)) for f in line]
                for line in lines]
    choice, used = card_post.choose_number_lines(readings, spec.vocab, cfg)
    assert ("number_retry" in c) == (choice.number is None and bool(lines) and cfg.number_retry_extend > 0)
    if "number_retry" in c:
        i = card_post.strongest_line(lines)
        (probs_i,) = _load(golden, c["number_retry"]["probs"])
        picked = card_post.choose_retried_number([card_post.PieceReading(lines[i][0], *card_post.ctc_greedy(
            probs_i, spec.vocab))], spec.vocab, cfg)
        if picked is not None:
            choice, used = picked[0], readings[i]
    exps = [card_post.PieceReading(f, *card_post.ctc_greedy(next(probs), spec.vocab)) for f in expiries]
    again = card_post.expiry_retries(exps, cfg)
    assert again == (c["retry"]["idx"] if "retry" in c else [])
    if again:
        retried = _load(golden, c["retry"]["probs"])
        exps = card_post.retry_expiries(exps, {i: card_post.PieceReading(expiries[i], *card_post.ctc_greedy(p, spec.vocab))
                                               for i, p in zip(again, retried)}, cfg)
    still = card_post.expiry_retries(exps, cfg) if cfg.expiry_below[0] > 0 else []
    assert still == (c["below"]["idx"] if "below" in c else [])
    if still:
        below = _load(golden, c["below"]["probs"])
        geoms = below_geoms([expiries[i].geom for i in still], spec, *cfg.expiry_below, cfg.expiry_retry_length)
        keys = ("cx", "cy", "ux", "uy", "length", "height")
        assert [getattr(g, k) for g in geoms for k in keys] == pytest.approx(
            [d[k] for d in c["below"]["crop_geoms"] for k in keys])
        exps = card_post.retry_expiries(exps, {i: card_post.PieceReading(replace(expiries[i], geom=g), *card_post.ctc_greedy(
            p, spec.vocab)) for i, g, p in zip(still, geoms, below)}, cfg)
    unused = [r for line in readings for r in line if r not in used]
    expiry, exp_conf, _ = card_post.choose_expiry_among(exps, unused, cfg.min_expiry_confidence)
    sure = expiry is not None and not needs_review(choice, expiry, exp_conf, cfg)
    return _Decoded(choice, expiry, exp_conf, sure, bool(lines))


def test_browser_port_matches_golden_vectors(golden):
    _needs_node()
    report = golden / "vitest.json"
    env = {**os.environ, "GOLDEN_DIR": str(golden)}
    proc = subprocess.run(["npx", "vitest", "run", "--reporter=default", "--reporter=json", f"--outputFile.json={report}"],
                          cwd=APP, env=env, capture_output=True, text=True, timeout=300, check=False)
    summary = json.loads(report.read_text()) if report.exists() else {}
    print(f"vitest: {summary.get('numPassedTests')} passed, {summary.get('numFailedTests')} failed, "
          f"{summary.get('numPendingTests')} skipped")
    assert proc.returncode == 0, (proc.stdout[-4000:], proc.stderr[-2000:])
    assert summary["numFailedTests"] == 0 and summary["numPassedTests"] >= 20


def _ts_object(path, name: str) -> dict:
    """The literal `NAME: Type = { k: v, ... };` from a TypeScript file, as a dict of numbers/strings (a number
    array as a tuple of numbers)."""
    import re

    text = (APP / path).read_text()
    body = re.search(name + r"[^=]*=\s*\{(.*?)\};", text, re.DOTALL).group(1)
    out = {}
    for key, value in re.findall(r'(\w+):\s*("[^"]*"|\[[^\]]*\]|[^,]+?)\s*(?:,|$)', body.replace("\n", " ")):
        value = value.strip()
        out[key] = (value.strip('"') if value.startswith('"') else
                    tuple(float(v) for v in value[1:-1].split(",") if v.strip()) if value.startswith("[") else
                    float(value == "true") if value in ("true", "false") else float(value))
    return out


def test_browser_defaults_equal_the_sdk_dataclasses():
    """Decode thresholds and spec defaults are code constants on both sides: they must not drift apart."""
    from dataclasses import asdict

    from pocketocr.tasks.formula import post as fpost
    from pocketocr.tasks.formula import pre as fpre

    pairs = [("src/core/card/post.ts", "DEFAULT_DECODE", card_post.DecodeConfig()),
             ("src/core/card/pre.ts", "DEFAULT_CARD_SPEC", PreSpec()),
             ("src/core/formula/post.ts", "DEFAULT_FORMULA_DECODE", fpost.DecodeConfig()),
             ("src/core/formula/pre.ts", "DEFAULT_FORMULA_SPEC", fpre.PreSpec())]
    for path, name, py in pairs:
        ts = _ts_object(path, name)
        want = {k: (v if isinstance(v, str) else tuple(map(float, v)) if isinstance(v, tuple) else float(v))
                for k, v in asdict(py).items()}
        assert ts == want, (name, ts, want)
