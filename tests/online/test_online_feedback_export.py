"""pocketocr.online.feedback_export and `pocketocr export-feedback`: consented formula sessions become a
dataset in the evaluation folder format (as devsets/formula: images/ + annotations.jsonl)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

from PIL import Image
from pocketocr.online.ingest import parse_batch
from pocketocr.online.storage import open_store

from .helpers import card_result, card_submitted, cli, formula_result, formula_submitted, image_b64


def test_export_writes_consented_formula_sessions_only(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    png, jpg = image_b64("PNG", (120, 90)), image_b64("JPEG", (64, 48))
    boxes = [[10, 10, 50, 30, "embedded"], [5, 40, 110, 80, "isolated"]]
    events = [
        formula_result("f:1"),
        formula_submitted("f:1", added=1, adjusted=1, consent=True,
                          image={"media_type": "image/png", "data": png}, boxes=boxes, ts="2025-03-01T10:00:00Z"),
        formula_submitted("f2", consent=True, image={"media_type": "image/jpeg", "data": jpg}, boxes=[],
                          ts="2025-03-02T10:00:00Z"),
        formula_submitted("f3", removed=2, ts="2025-03-02T11:00:00Z"),  # no consent: nothing is shared
        formula_submitted("f4", consent=True, boxes=[[1, 1, 2, 2, "unknown"]]),  # consent but no image
        card_result("c1"), card_submitted("c1", number=2),
    ]
    store = open_store(db)
    batch = parse_batch(json.dumps(events).encode())
    store.insert_batch(batch.events, batch.images)
    store.close()

    out = tmp_path / "feedback_ds"
    run = cli("export-feedback", "--db", db, "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"out": str(out), "n": 2, "skipped": {"no_consent": 1, "no_image": 1}}
    rows = [json.loads(line) for line in (out / "annotations.jsonl").read_text().splitlines()]
    assert [r["session_id"] for r in rows] == ["f:1", "f2"]
    first, second = rows
    # the evaluation folder format: file, width, height, boxes [x1, y1, x2, y2, kind]
    assert first["file"].startswith("images/f_1_") and first["file"].endswith(".png")
    assert (first["width"], first["height"]) == (120, 90) and first["boxes"] == boxes
    assert first["edits"] == {"added": 1, "removed": 0, "adjusted": 1}
    assert second["file"].endswith(".jpg") and second["boxes"] == []
    assert (out / first["file"]).read_bytes() == base64.b64decode(png)
    assert Image.open(out / second["file"]).size == (64, 48)
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(Path(r["file"]).name for r in rows)

    since = cli("export-feedback", "--db", db, "--out", str(tmp_path / "later"), "--since", "2025-03-02")
    assert json.loads(since.stdout)["n"] == 1


def test_export_errors(tmp_path: Path) -> None:
    run = cli("export-feedback", "--db", str(tmp_path / "none.sqlite3"), "--out", str(tmp_path / "x"))
    assert run.returncode == 1 and "no database" in run.stderr


def test_a_png_round_trips_pixel_exact(tmp_path: Path) -> None:
    img = Image.new("RGB", (40, 30), (10, 20, 30))
    img.putpixel((3, 4), (200, 100, 50))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    e = formula_submitted("p", consent=True, boxes=[[0, 0, 10, 10, "embedded"]],
                          image={"media_type": "image/png", "data": base64.b64encode(buf.getvalue()).decode()})
    store = open_store(tmp_path / "e.sqlite3")
    batch = parse_batch(json.dumps([e]).encode())
    store.insert_batch(batch.events, batch.images)
    from pocketocr.online.feedback_export import export_feedback

    summary = export_feedback(store, tmp_path / "ds")
    store.close()
    row = json.loads((tmp_path / "ds" / "annotations.jsonl").read_text())
    assert summary["n"] == 1
    assert Image.open(tmp_path / "ds" / row["file"]).getpixel((3, 4)) == (200, 100, 50)
