"""`pocketocr formula`: JSON rows, --draw, --coco, and the error contract of `pocketocr card`."""

import json

from PIL import Image, ImageDraw, ImageFont
from pocketocr.cli.main import main


def _page(path):
    img = Image.new("RGB", (800, 1100), "white")
    d = ImageDraw.Draw(img)
    try:
        f = ImageFont.truetype("DejaVuSerif-Italic.ttf", 22)
    except OSError:
        f = ImageFont.load_default()
    for i in range(12):
        d.text((60, 80 + 60 * i), "where x + y = z and f(x) holds for n > 1", fill="black", font=f)
    img.save(path)


def test_batch_goes_on_after_bad_inputs(tmp_path, capsys):
    good = tmp_path / "page.png"
    _page(good)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    draw, coco = tmp_path / "drawn", tmp_path / "out" / "coco.json"
    rc = main(["formula", str(empty), str(good), str(corrupt), "--json", "--draw", str(draw), "--coco", str(coco)])
    cap = capsys.readouterr()
    rows = [json.loads(x) for x in cap.out.splitlines()]
    assert rc == 1
    assert [r["file"] for r in rows] == [str(empty), str(good), str(corrupt)]
    assert "error" in rows[0] and "error" in rows[2] and "error" not in rows[1]
    ok = rows[1]
    assert (ok["width"], ok["height"]) == (800, 1100) and "total" in ok["timings_ms"]
    for b in ok["boxes"]:
        assert set(b) == {"box", "kind", "score"} and b["kind"] in ("embedded", "isolated") and len(b["box"]) == 4
    errs = [x for x in cap.err.splitlines() if x.startswith("pocketocr:")]
    assert len(errs) == 2 and "Traceback" not in cap.err
    assert len(list(draw.glob("*.jpg"))) == 1
    c = json.loads(coco.read_text())
    assert len(c["images"]) == 1 and {x["name"] for x in c["categories"]} == {"embedded", "isolated"}
    assert len(c["annotations"]) == len(ok["boxes"])


def test_all_good_exit_zero_and_table(tmp_path, capsys):
    good = tmp_path / "page.png"
    _page(good)
    assert main(["formula", str(good)]) == 0
    assert "page.png" in capsys.readouterr().out


def test_missing_model_exit_2(tmp_path, capsys):
    good = tmp_path / "page.png"
    _page(good)
    assert main(["formula", str(good), "--det-model", str(tmp_path / "nope.onnx")]) == 2
    assert "not found" in capsys.readouterr().err


def test_no_snap_keeps_the_decoded_boxes(tmp_path, capsys):
    """`--no-snap` (formula and eval formula): the boxes as decoded, each holding its snapped twin; card refuses it."""
    page = tmp_path / "page.png"
    _page(page)
    assert main(["formula", str(page), "--json"]) == 0
    snapped = json.loads(capsys.readouterr().out)["boxes"]
    assert main(["formula", str(page), "--json", "--no-snap"]) == 0
    decoded = json.loads(capsys.readouterr().out)["boxes"]
    assert snapped and len(snapped) == len(decoded)
    assert any(a["box"] != b["box"] for a, b in zip(snapped, decoded))
    for a, b in zip(snapped, decoded):
        (x1, y1, x2, y2), (u1, v1, u2, v2) = a["box"], b["box"]
        assert u1 - 1 < x1 and v1 - 1 < y1 and x2 < u2 + 1 and y2 < v2 + 1
    assert main(["eval", "card", str(tmp_path), "--no-snap"]) == 2
    assert "--no-snap is for formula" in capsys.readouterr().err
