"""One tiny training run (a few steps) and its export: the plumbing, not the accuracy."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.train


def test_recipe_rejects_unknown_keys():
    pytest.importorskip("torch")
    from pocketocr.training.formula.train import RECIPE_PATH, load_recipe

    r = load_recipe(RECIPE_PATH, epochs=3)
    assert r.epochs == 3
    with pytest.raises(ValueError, match="unknown recipe keys"):
        load_recipe(RECIPE_PATH, epochz=3)


def test_a_recipe_the_trainer_refuses_is_one_line(tmp_path):
    """`init` without a stage 3 would train nothing: one line and exit 2 before the bank is rendered (it was a
    traceback), as for a missing init checkpoint."""
    pytest.importorskip("torch")
    from tests.conftest import run_cli

    for value, said in (("'training/checkpoints/formula/formula_det_v6.pt'", "trains nothing"),
                        ("'training/checkpoints/formula/none.pt'", "no such checkpoint")):
        res = run_cli("train", "formula", "--out", str(tmp_path / "run"), "--set", f"init={value}",
                      "--set", "ft2_epochs=0")
        assert res.returncode == 2 and said in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_train_resume_and_export_smoke(tmp_path, capsys, monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    from pocketocr.training.formula.train import RECIPE_PATH, load_recipe, train_formula

    # ft_epochs=0, ft2_epochs=0, no init, one version: a shipped recipe's later stages would render 1 200 pages
    # each for this tiny run, an init would skip stage 1, and the stages are tested here on one page set each
    tiny = {"n_train": 4, "n_val": 2, "n_val_epoch": 1, "bank_inline": 30, "bank_display": 10, "steps_per_epoch": 2,
            "batch": 2, "crop": 128, "workers": 1, "threads": 1, "ft_epochs": 0, "ft2_epochs": 0, "init": "",
            "versions": []}
    out = tmp_path / "run"
    res = train_formula(load_recipe(RECIPE_PATH, epochs=1, **tiny), out, device="cpu")
    assert (out / "formula_det.pt").exists() and (out / "formula_last.pt").exists()
    assert len(res["det"]["history"]) == 1
    # A different recipe does not resume from this checkpoint; the same one does.
    res = train_formula(load_recipe(RECIPE_PATH, epochs=1, **tiny), out, device="cpu")
    assert len(res["det"]["history"]) == 1

    # Stage 2 (a fine-tune on version-2 pages) added to the finished recipe: stage 1 resumes, it is not redone.
    ft = tmp_path / "ft"
    import shutil

    shutil.copytree(out, ft)
    capsys.readouterr()
    res = train_formula(load_recipe(RECIPE_PATH, epochs=1, **{**tiny, "ft_epochs": 1, "ft_n_train": 2}), ft, device="cpu")
    printed = capsys.readouterr().out
    assert "[formula] resuming after epoch 1" in printed and "[formula_ft] epoch 1:" in printed
    assert [h["stage"] for h in res["det"]["history"]] == ["formula", "formula_ft"]
    assert (ft / "cache" / "train_s14_v2_n2_L1024").is_dir() and (ft / "formula_ft_last.pt").exists()
    assert res["recipe_hash"] != load_recipe(RECIPE_PATH, epochs=1, **tiny).digest()
    assert load_recipe(RECIPE_PATH, epochs=1, **tiny).digest() == load_recipe(
        RECIPE_PATH, epochs=1, **{**tiny, "ft_lr": 9.0}).digest()  # an unused stage does not rename the model

    # Stage 3 from a checkpoint (`init`): stages 1 and 2 are not trained, stage 3 mixes in stage 2's pages.
    st3 = tmp_path / "st3"
    capsys.readouterr()
    res = train_formula(load_recipe(RECIPE_PATH, epochs=1, **{**tiny, "ft_n_train": 2, "init": str(out / "formula_det.pt"),
                                                              "ft2_epochs": 1, "ft2_n_train": 2,
                                                              "ft2_data_version": 4}), st3, device="cpu")
    printed = capsys.readouterr().out
    assert "[formula_ft2] epoch 1:" in printed and "[formula] epoch" not in printed and "[formula_ft]" not in printed
    assert [h.get("stage", "formula") for h in res["det"]["history"]] == ["formula", "formula_ft2"]  # init's, then its own
    assert {p.name for p in (st3 / "cache").iterdir()} == {"train_s16_v4_n2_L1024", "train_s14_v2_n2_L1024"}
    assert not (st3 / "formula_last.pt").exists() and (st3 / "formula_ft2_best.pt").exists()
    ck = torch.load(st3 / "formula_det.pt", map_location="cpu", weights_only=False)
    assert ck["init"] == str(out / "formula_det.pt") and ck["recipe"]["ft2_epochs"] == 1

    pytest.importorskip("onnx")
    from pocketocr.export.formula import export_formula
    from pocketocr.tasks.formula.predictor import FormulaDetector

    summary = export_formula(out, tmp_path / "models", calib=2)
    int8 = tmp_path / "models" / "formula_det.int8.onnx"
    card = json.loads((tmp_path / "models" / "formula_det.int8.onnx.json").read_text())
    assert card["name"] == "formula_det" and card["task"] == "formula" and card["precision"] == "int8"
    assert card["size_bytes"] == int8.stat().st_size and summary["parity"]["passed"] in (True, False)
    det = FormulaDetector(int8)
    assert det.spec.long_side == 1024 and det.model_version == card["version"]
    assert "percentile" not in card["quantization"]["calibration"]

    # Percentile calibration: pages padded to one size (onnxruntime stacks them), at most 16 of them.
    capsys.readouterr()
    export_formula(out, tmp_path / "models_pct", calib=20, percentile=99.999, tflite=False)
    assert capsys.readouterr().out == ""  # onnxruntime's calibrator prints: stdout stays the CLI's (--json)
    pct = json.loads((tmp_path / "models_pct" / "formula_det.int8.onnx.json").read_text())
    assert pct["quantization"]["calibration"].startswith("16 synthetic pages")
    assert "percentile 99.999" in pct["quantization"]["calibration"]
    assert pct["training"]["command"].endswith("pocketocr export formula --percentile 99.999 --calib 20")
    assert pct["sha256"] != card["sha256"]
    assert FormulaDetector(tmp_path / "models_pct" / "formula_det.int8.onnx").model_version == card["version"]
    # --out may be the run's own export folder, where the files are made: kept there, not copied onto themselves
    export_formula(out, out / "export", calib=2, tflite=False)
    assert json.loads((out / "export" / "formula_det.int8.onnx.json").read_text())["file"] == "formula_det.int8.onnx"

    # The int8 TFLite twin: fixed square input, pages padded to it, the same outputs as the ONNX fp32 model.
    pytest.importorskip("ai_edge_litert")
    import numpy as np
    from pocketocr.tasks.formula.pre import prepare

    tfl = tmp_path / "models" / "formula_det.int8.tflite"
    tcard = json.loads((tmp_path / "models" / "formula_det.int8.tflite.json").read_text())
    assert tcard["format"] == "tflite" and tcard["size_bytes"] == tfl.stat().st_size
    assert "tflite_int8_vs_onnx_int8" in summary["parity"]
    lite = FormulaDetector(tfl, backend="tflite")
    assert lite._size == (1024, 1024) and lite.model_version == card["version"]
    from PIL import Image

    page = Image.new("RGB", (600, 800), "white")
    x, _ = prepare(page, lite.spec, lite._size)
    fp32 = FormulaDetector(out / "export" / "formula_det.fp32.onnx")
    ref_prob, ref_box = fp32.det.run({"image": x})[:2]
    prob, box = lite.det.run({lite._in: x})[:2]
    assert prob.shape == ref_prob.shape == (1, 2, 256, 256) and box.shape == ref_box.shape == (1, 4, 256, 256)
    assert np.abs(prob - ref_prob).max() < 0.1
    assert lite.detect(page).width == 600  # the whole path runs on a page of another aspect

    # Every format from the checkpoint through the multi-format exporter, each scored on both sets.
    from pocketocr.export.pipeline import export_checkpoint

    multi = export_checkpoint(out, tmp_path / "multi", to="onnx,ort,tflite", log=lambda m: None)
    names = ("formula_det.fp32.onnx", "formula_det.fp32.ort", "formula_det.fp32.tflite")
    assert set(multi["files"]) == {*names, "required_operators.config"}
    assert {r["file"] for r in multi["parity"]} == {f"{n} [{k}]" for n in names for k in ("scan", "photo")}
    assert all(r["passed"] and r["metric"] == "f1_50" for r in multi["parity"])
    assert all(r["output_agreement"]["mask_agreement"] > 0.99 for r in multi["parity"])
    f1 = {r["file"]: r["value"] for r in multi["parity"]}
    for n in names:
        card = json.loads((tmp_path / "multi" / f"{n}.json").read_text())
        assert card["version"] == multi["version"]
        for s in ("scan", "photo"):  # each card records its own file's scores on both validation sets
            assert card["metrics"][f"synthetic_val_{s}"]["f1_50"] == f1[f"{n} [{s}]"]
        # one writer for both exporters (export/model_card.py): the same record as the release export's card
        release = json.loads((tmp_path / "models" / "formula_det.int8.onnx.json").read_text())
        assert set(card) - {"speed", "runtime", "input_shape"} == set(release)
        assert card["training"].keys() == release["training"].keys() and card["params"] == release["params"] > 0

    # A gate no file can pass: both exporters and the CLI refuse without --allow-parity-failure, and with it
    # write the files with model cards that say "passed": false (before, the CLI flag crashed the formula export).
    from pocketocr.cli.main import main as cli_main
    from pocketocr.export import formula as formula_export
    from pocketocr.export import parity

    monkeypatch.setattr(formula_export, "MAX_F1_DROP", -1.0)
    monkeypatch.setitem(parity.GATES, "formula", parity.Gate("f1_50", -1.0))
    with pytest.raises(formula_export.ParityError):
        export_formula(out, tmp_path / "strict", calib=2, tflite=False)
    assert not (tmp_path / "strict" / "formula_det.int8.onnx.json").exists()
    capsys.readouterr()
    assert cli_main(["export", "formula", "--run", str(out), "--out", str(tmp_path / "allowed"), "--calib", "2",
                     "--allow-parity-failure", "--json"]) == 0
    warned = capsys.readouterr().err
    assert "parity gate FAILED" in warned and "Traceback" not in warned
    allowed = json.loads((tmp_path / "allowed" / "formula_det.int8.onnx.json").read_text())
    assert allowed["metrics"]["parity_vs_fp32"]["passed"] is False
    with pytest.raises(parity.ParityError):
        export_checkpoint(out, tmp_path / "multi_strict", to="onnx", log=lambda m: None)
    assert not (tmp_path / "multi_strict" / "formula_det.fp32.onnx.json").exists()
    said: list[str] = []
    export_checkpoint(out, tmp_path / "multi_allowed", to="onnx", allow_parity_failure=True, log=said.append)
    row = json.loads((tmp_path / "multi_allowed" / "formula_det.fp32.onnx.json").read_text())
    assert [r["passed"] for r in row["metrics"]["parity_vs_checkpoint"]] == [False, False]
    assert any("parity gate FAILED" in m for m in said)


def test_threshold_sweep_scores_the_defaults_as_the_eval_does(tmp_path, small_bank, capsys):
    """`python -m pocketocr.training.formula.tune`: its row for the default thresholds is the eval's F1@0.5."""
    from pocketocr.cli.main import main as cli_main
    from pocketocr.tasks.formula.post import DecodeConfig
    from pocketocr.training.formula.synth import write_dataset
    from pocketocr.training.formula.tune import main, sweep
    from pocketocr.zoo import default_model

    ds = write_dataset(tmp_path / "val", 3, 77, small_bank)
    model = default_model("formula", "det")
    rows = sweep(model, [ds])
    assert [r["f1"] for r in rows] == sorted((r["f1"] for r in rows), reverse=True)
    d = DecodeConfig()
    at_default = next(r for r in rows if (r["threshold"], r["min_score"]) == (d.threshold, d.min_score))
    capsys.readouterr()
    assert cli_main(["eval", "formula", str(ds), "--json", "--no-progress"]) == 0
    assert at_default["f1"] == pytest.approx(json.loads(capsys.readouterr().out)["f1_50"])

    assert main([str(model), str(ds), "--top", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["threshold", "min_score", "precision", "recall", "F1@0.5"] and len(out) == 4
    assert main([str(tmp_path / "nope.onnx"), str(ds)]) == 2
    assert "nope.onnx: not found" in capsys.readouterr().err


def test_device_batches_match_the_cpu_batches():
    """The GPU path of the batch maker (pages moved to the device once; crops, jitter and normalisation cut
    there) gives the CPU path's batches from the same draws, for one page set and for several; run here on
    the CPU, forced."""
    np = pytest.importorskip("numpy")
    torch = pytest.importorskip("torch")
    from pocketocr.tasks.formula.pre import PreSpec
    from pocketocr.training.formula.train import _batches, _core_cells

    spec, g = PreSpec(), np.random.default_rng(0)
    size, cells = 128, 128 // spec.stride

    def pages(n):
        target = np.zeros((n, 6, cells, cells), np.float16)
        target[:, 0, 5:9, 3:20] = 1  # one formula core per page, so crops are drawn around it too
        target[:, 2:6] = g.random((n, 4, cells, cells))
        canvas = g.integers(0, 256, (n, size, size), dtype=np.uint8)
        return canvas, target, _core_cells(target)

    for sources in ([pages(3)], [pages(3), pages(4)]):
        made = {}
        for on in (False, True):
            make = _batches(sources, 5, 64, spec, "cpu", on_device=on)
            rng = np.random.default_rng(7)
            made[on] = [make(rng) for _ in range(6)]
        for (x0, t0), (x1, t1) in zip(made[False], made[True]):
            assert x0.shape == x1.shape == (5, 1, 64, 64) and t0.shape == t1.shape == (5, 6, 16, 16)
            assert torch.equal(t0, t1)
            assert torch.allclose(x0, x1, atol=1e-6), (x0 - x1).abs().max()


@pytest.mark.slow
def test_stage_one_on_several_versions_names_its_pages_and_recipe(tmp_path):
    """`versions`: stage 1 renders n_train pages of each version, the i-th from seed + 10 i, and trains on
    them all; an empty list leaves the recipe's name as it was (so the shipped recipes keep theirs)."""
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    from pocketocr.training.formula.train import RECIPE_PATH, FormulaRecipe, load_recipe, train_formula

    base = FormulaRecipe()
    assert FormulaRecipe(versions=[]).digest() == base.digest()
    assert FormulaRecipe(versions=[1, 2]).digest() != base.digest()
    assert FormulaRecipe(workers=16, threads=4).digest() == base.digest()  # speed settings do not rename
    tiny = {"n_train": 2, "n_val": 1, "n_val_epoch": 1, "bank_inline": 20, "bank_display": 8, "steps_per_epoch": 2,
            "batch": 2, "crop": 128, "workers": 1, "threads": 1, "ft_epochs": 0, "ft2_epochs": 0, "init": "",
            "epochs": 1, "versions": [1, 2]}
    res = train_formula(load_recipe(RECIPE_PATH, **tiny), tmp_path, device="cpu")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["train_s11_n2_L1024", "train_s21_v2_n2_L1024"]
    assert len(res["det"]["history"]) == 1 and (tmp_path / "formula_det.pt").exists()


def test_trainer_page_f1_is_what_the_eval_reports(tmp_path, small_bank, capsys):
    """The trainer's per-epoch synthetic F1 (which also picks the best epoch) scores a model as `pocketocr eval
    formula` scores its ONNX export: the SDK's pipeline, boxes snapped to the ink. Before, it decoded without
    snapping, and on these photo pages read 0.838 where the eval reads 0.832."""
    from pocketocr.cli.main import main as cli_main
    from pocketocr.export.formula import _export_onnx, load_checkpoint
    from pocketocr.export.onnx_tools import set_metadata
    from pocketocr.training.formula.synth import write_dataset
    from pocketocr.training.formula.train import page_f1

    _, model, spec, _, meta = load_checkpoint(Path(__file__).resolve().parents[2] / "training/checkpoints/formula")  # the shipped v7, float
    ds = write_dataset(tmp_path / "val", 4, 77, small_bank, True)
    onnx_path = tmp_path / "det.fp32.onnx"
    _export_onnx(model, onnx_path, spec)
    set_metadata(onnx_path, meta)
    capsys.readouterr()
    assert cli_main(["eval", "formula", str(ds), "--det-model", str(onnx_path), "--json", "--no-progress"]) == 0
    eval_f1 = json.loads(capsys.readouterr().out)["f1_50"]
    assert eval_f1 > 0.5  # a model that finds formulas, so that the comparison means something

    f1 = page_f1(model, [ds], 4, spec, "cpu")
    assert f1 == pytest.approx(eval_f1, abs=1e-9)
    assert model.training  # handed back in training mode, as the trainer's loop expects
