"""`pocketocr train card` + `pocketocr export card` end to end on a tiny budget (real torch, real ORT)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")

from tests.conftest import run_cli as _run_cli


def run_cli(*args, **kw):
    """`pocketocr` in a subprocess; a card training run without its own stage-3 keys gets none, so the smoke runs
    do not inherit the shipped recipe's recogniser stage 3 (v9: 2 000 photos of each of six versions)."""
    if args[:2] == ("train", "card") and not any(str(a).startswith(("rec_init=", "rec_ft2_epochs=")) for a in args):
        args = (*args, "--set", "rec_init=''", "--set", "rec_ft2_epochs=0")
    return _run_cli(*args, **kw)

pytestmark = [pytest.mark.train, pytest.mark.slow]


def test_train_resume_and_export(tmp_path):
    run = tmp_path / "run"
    # rec_n_train=0, det_ft_epochs=0, det_ft2_epochs=0 and rec_ft_epochs=0: the recipe file's 18 000 recogniser
    # photos and 6000 + 4000 fine-tuning photos would otherwise be rendered for this tiny run
    # rec_top/rec_top_layers and det_width: non-default shapes, so the exporter must rebuild them from the recipe
    common = ["train", "card", "--out", str(run), "--set", "n_train=24", "--set", "rec_n_train=0", "--set", "n_val=8",
              "--set", "det_ft_epochs=0", "--set", "det_ft2_epochs=0", "--set", "rec_ft_epochs=0", "--set", "rec_top=48", "--set", "rec_top_layers=3",
              "--set", "det_width=1.5",
              "--set", "det_batch=8", "--set", "rec_batch=16", "--set", "workers=1", "--set", "threads=1"]
    res = run_cli(*common, "--set", "det_epochs=1", "--set", "rec_epochs=1", timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (run / "card_det.pt").exists() and (run / "card_rec.pt").exists()
    # resume: one more epoch continues from the checkpoint instead of starting over
    res = run_cli(*common, "--set", "det_epochs=2", "--set", "rec_epochs=1", "--only", "det", timeout=600)
    assert res.returncode == 0 and "resuming after epoch 1" in res.stdout + res.stderr
    # a finished run, resumed from its checkpoints alone (the rendered photos deleted), renders nothing again
    import shutil

    shutil.rmtree(run / "cache")
    res = run_cli(*common, "--set", "det_epochs=2", "--set", "rec_epochs=1", timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "[det] resuming after epoch 2" in res.stdout and "[rec] resuming after epoch 1" in res.stdout
    assert not (run / "cache").exists() or not any((run / "cache").iterdir())
    out = tmp_path / "models"
    res = run_cli("export", "card", "--run", str(run), "--out", str(out), "--calib", "8", "--val-n", "6", "--json",
                  timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout)  # --json: one object, nothing else on stdout
    assert set(summary["shipped"]) >= {"det_int8", "rec_int8"} and "passed" in summary["parity"]
    card = json.loads((out / "card_det.int8.onnx.json").read_text())
    assert card["task"] == "card" and card["precision"] == "int8" and len(card["sha256"]) == 64
    assert card["training"]["recipe"]["n_train"] == 24
    assert card["training"]["command"].endswith("pocketocr export card --calib 8")  # the release repeats exactly
    rec_card = json.loads((out / "card_rec.int8.onnx.json").read_text())
    assert rec_card["training"]["recipe"]["rec_top"] == 48
    from pocketocr.training.card.models import CardDet

    wide = CardDet(1.5)
    assert card["params"] == sum(p.numel() for p in wide.parameters()) > sum(p.numel() for p in CardDet().parameters())
    assert "parity_vs_fp32" in card["metrics"]
    # the exported pair runs through the SDK's CLI
    res = run_cli("card", "sdk/pocketocr/examples/cards/images/example_1.jpg", "--json",
                  "--det-model", str(out / "card_det.int8.onnx"), "--rec-model", str(out / "card_rec.int8.onnx"))
    assert res.returncode == 0, res.stderr
    assert "number" in json.loads(res.stdout)
    # --out may be the run's own export folder, where the files are made: kept there, not copied onto themselves
    res = run_cli("export", "card", "--run", str(run), "--out", str(run / "export"), "--calib", "8", "--val-n", "6",
                  timeout=600)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert json.loads((run / "export" / "card_det.int8.onnx.json").read_text())["file"] == "card_det.int8.onnx"


def test_recogniser_shape_keys():
    """rec_top/rec_top_layers build the recogniser; left at their defaults they build (and name) the v1-v4 shape."""
    import torch
    from pocketocr.training.card.models import CardRec, rec_arch_kwargs
    from pocketocr.training.card.train import RECIPE_PATH, load_recipe, recipe_digest

    base = load_recipe(RECIPE_PATH).__dict__
    old = {k: v for k, v in base.items() if k not in ("rec_top", "rec_top_layers")}  # a recipe from before the keys
    assert recipe_digest(base, "rec") == recipe_digest(old, "rec")
    wide = {**base, "rec_top": 192, "rec_top_layers": 3}
    assert recipe_digest(wide, "rec") != recipe_digest(base, "rec")
    assert recipe_digest(wide, "det") == recipe_digest(base, "det")
    small, big = CardRec(**rec_arch_kwargs(old)), CardRec(**rec_arch_kwargs(wide))
    assert big.cls.in_channels == 192 and small.cls.in_channels == 96
    assert sum(p.numel() for p in big.parameters()) > 3 * sum(p.numel() for p in small.parameters())
    assert big(torch.zeros(1, 1, 32, 384)).shape == small(torch.zeros(1, 1, 32, 384)).shape == (1, 48, 12)


def test_export_percentile_is_for_formula_only(tmp_path):
    res = run_cli("export", "card", "--run", str(tmp_path), "--percentile", "99.9")
    assert res.returncode == 2 and "--percentile applies to 'formula'" in res.stderr
    assert "Traceback" not in res.stderr


def test_unknown_recipe_key_is_rejected(tmp_path):
    res = run_cli("train", "card", "--out", str(tmp_path), "--set", "det_epoch=3")
    assert res.returncode == 2 and "unknown recipe keys ['det_epoch']" in res.stderr


def test_recogniser_trains_on_more_photos(tmp_path):
    """rec_n_train renders a larger set for the recogniser only; the detector keeps its n_train photos."""
    run = tmp_path / "run"
    res = run_cli("train", "card", "--out", str(run), "--set", "n_train=16", "--set", "rec_n_train=24",
                  "--set", "n_val=8", "--set", "det_batch=8", "--set", "rec_batch=16", "--set", "workers=1",
                  "--set", "threads=1", "--set", "det_epochs=1", "--set", "rec_epochs=1", "--set", "det_ft_epochs=0",
                  "--set", "det_ft2_epochs=0",
                  "--set", "rec_ft_epochs=0", timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    import numpy as np
    from pocketocr.training.card.train import _cache_name

    recipe = json.loads((run / "train_summary.json").read_text())["recipe"]
    det_set = run / "cache" / _cache_name("train", 7, 1, 16, target=recipe["det_target"])
    rec_set = run / "cache" / _cache_name("train", 7, 1, 24, recipe["rec_crop_extend"])
    assert [p.name for p in det_set.glob("shard_*.npz")] == ["shard_0000.npz"]
    with np.load(det_set / "shard_0000.npz") as a, np.load(rec_set / "shard_0000.npz") as b:
        assert len(a["canvas"]) == 16 and len(b["canvas"]) == 24
        # the same seed sequence: the recogniser's first 16 photos are the detector's 16
        assert np.array_equal(a["canvas"], b["canvas"][:16])
    from pocketocr.training.card.train import recipe_digest

    rec = json.loads((run / "train_summary.json").read_text())["recipe"]
    assert recipe_digest(rec, "det") == recipe_digest({**rec, "rec_n_train": 0}, "det")
    assert recipe_digest(rec, "rec") != recipe_digest({**rec, "rec_n_train": 0}, "rec")


def test_detector_fine_tune_stage(tmp_path):
    """det_ft_*: a second detector stage on photos of a newer data version, after the first stage."""
    run = tmp_path / "run"
    res = run_cli("train", "card", "--out", str(run), "--only", "det", "--set", "n_train=8", "--set", "n_val=4",
                  "--set", "det_batch=4", "--set", "workers=1", "--set", "threads=1", "--set", "det_epochs=1",
                  "--set", "det_ft_epochs=1", "--set", "det_ft_n_train=8", "--set", "det_ft_data_version=2",
                  "--set", "det_ft2_epochs=0", timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (run / "cache" / "train_s9_v2_n8").is_dir() and (run / "det_ft_last.pt").exists()
    summary = json.loads((run / "train_summary.json").read_text())
    assert [h["epoch"] for h in summary["det"]["history"]] == [1, 1]  # stage 1, then stage 2
    from pocketocr.training.card.train import recipe_digest

    rec = summary["recipe"]
    off = {**rec, "det_ft_epochs": 0, "det_ft_n_train": 123}
    assert recipe_digest(rec, "det") != recipe_digest(off, "det")
    assert recipe_digest(rec, "rec") == recipe_digest(off, "rec")  # the recogniser does not depend on it
    # an unused stage does not rename the detector, whatever its other keys say
    assert recipe_digest(off, "det") == recipe_digest({**off, "det_ft_lr": 9.0}, "det")

    # det_ft2_*: a third stage added to the finished run resumes stages 1 and 2 and trains on the version-3
    # photos of stage 2's seeds, mixed with stage 2's photos (twice the steps of either alone)
    res = run_cli("train", "card", "--out", str(run), "--only", "det", "--set", "n_train=8", "--set", "n_val=4",
                  "--set", "det_batch=4", "--set", "workers=1", "--set", "threads=1", "--set", "det_epochs=1",
                  "--set", "det_ft_epochs=1", "--set", "det_ft_n_train=8", "--set", "det_ft_data_version=2",
                  "--set", "det_ft2_epochs=1", "--set", "det_ft2_n_train=8", "--set", 'det_ft2_target="fill"',
                  "--set", "det_ft2_data_version=3", timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "[det] resuming after epoch 1" in res.stdout and "[det_ft] resuming after epoch 1" in res.stdout
    assert (run / "cache" / "train_s9_v3_n8").is_dir() and (run / "det_ft2_last.pt").exists()
    hist = json.loads((run / "train_summary.json").read_text())["det"]["history"]
    assert len(hist) == 3 and hist[2]["steps"] == 2 * hist[1]["steps"] == 4
    three = json.loads((run / "train_summary.json").read_text())["recipe"]
    assert recipe_digest(three, "det") != recipe_digest(rec, "det")
    assert recipe_digest({**three, "det_ft2_epochs": 0}, "det") == recipe_digest(rec, "det")

    # det_ft2_target="centre": stage 3 learns centre-line targets, on new photos (seeds from seed + 4) and stage
    # 2's photos drawn again with those targets, validated on them; the detector then records field_shift 0
    import shutil

    import numpy as np
    import torch

    centre = tmp_path / "centre"
    centre.mkdir()
    for name in ("det_last.pt", "det_ft_last.pt"):
        shutil.copy(run / name, centre / name)
    res = run_cli("train", "card", "--out", str(centre), "--only", "det", "--set", "n_train=8", "--set", "n_val=4",
                  "--set", "det_batch=4", "--set", "workers=1", "--set", "threads=1", "--set", "det_epochs=1",
                  "--set", "det_ft_epochs=1", "--set", "det_ft_n_train=8", "--set", "det_ft_data_version=2",
                  "--set", "det_ft2_epochs=1", "--set", "det_ft2_n_train=8", "--set", 'det_ft2_target="centre"',
                  timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    cache = centre / "cache"
    assert all((cache / d).is_dir() for d in ("train_s11_v3_n8_tcentre", "train_s9_v2_n8_tcentre", "val_s8_n4_tcentre"))
    # stages 1 and 2 were finished (their checkpoints copied in): their photos and the first validation set
    # are neither rendered nor loaded
    assert not any((cache / d).exists() for d in ("train_s7_n8", "train_s9_v2_n8", "val_s8_n4")), sorted(cache.iterdir())
    with np.load(cache / "train_s11_v3_n8_tcentre" / "shard_0000.npz") as z:
        probs = z["target"][:, 0:2]
    assert ((probs > 0.05) & (probs < 0.95)).any() and probs.max() <= 1.0  # soft scores, not a filled mask
    assert torch.load(centre / "card_det.pt", weights_only=False)["spec"]["field_shift"] == 0.0
    assert torch.load(run / "card_det.pt", weights_only=False)["spec"]["field_shift"] == 0.5
    centred = json.loads((centre / "train_summary.json").read_text())["recipe"]
    assert recipe_digest(centred, "det") != recipe_digest(three, "det")
    # "fill" is how stage 3 was before the key: it does not rename a detector
    assert recipe_digest({k: v for k, v in three.items() if k != "det_ft2_target"}, "det") == recipe_digest(three, "det")


def test_recogniser_fine_tune_on_newer_photos(tmp_path):
    """rec_ft_n_train > 0: the recogniser's second stage reads crops of the seed + 2 photos (data version
    rec_ft_data_version), the same photos as the detector's stage 2."""
    def train_rec(out, mix: str):
        return run_cli("train", "card", "--out", str(out), "--only", "rec", "--set", "n_train=8", "--set", "n_val=4",
                       "--set", "rec_n_train=0", "--set", "rec_batch=8", "--set", "workers=1", "--set", "threads=1",
                       "--set", "rec_epochs=1", "--set", "rec_ft_epochs=1", "--set", "rec_ft_n_train=8",
                       "--set", "rec_ft_data_version=2", "--set", f"rec_ft_mix={mix}", timeout=600)

    run = tmp_path / "run"
    res = train_rec(run, "false")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((run / "train_summary.json").read_text())
    from pocketocr.training.card.train import _cache_name

    ft_set = _cache_name("train", 9, 2, 8, summary["recipe"]["rec_crop_extend"])
    assert (run / "cache" / ft_set).is_dir() and (run / "rec_ft_last.pt").exists()
    assert len(summary["rec"]["history"]) == 2
    from pocketocr.training.card.train import recipe_digest

    rec = summary["recipe"]
    assert recipe_digest(rec, "rec") != recipe_digest({**rec, "rec_ft_n_train": 0}, "rec")
    assert recipe_digest(rec, "det") == recipe_digest({**rec, "rec_ft_n_train": 0}, "det")
    # rec_ft_mix: stage 2 trains on the recogniser's own crops and the newer photos' together
    mixed = tmp_path / "mixed"
    res = train_rec(mixed, "true")
    assert res.returncode == 0, res.stderr[-2000:]
    mixed_hist = json.loads((mixed / "train_summary.json").read_text())["rec"]["history"]
    own, newer = summary["rec"]["history"][0]["steps"], summary["rec"]["history"][1]["steps"]
    assert mixed_hist[1]["steps"] in (own + newer, own + newer + 1)  # one concatenated set, floor division
    assert recipe_digest(rec, "rec") != recipe_digest({**rec, "rec_ft_mix": True}, "rec")
    assert recipe_digest({**rec, "rec_ft_epochs": 0}, "rec") == recipe_digest({**rec, "rec_ft_epochs": 0,
                                                                               "rec_ft_mix": True}, "rec")


def test_recogniser_stage_3_from_the_committed_checkpoint(tmp_path):
    """rec_init + rec_ft2: the recogniser starts from a committed float checkpoint (stages 1 and 2 neither
    train nor render), then learns from photos of rec_ft2_data_version (seeds from seed + 54) mixed with
    photos of data_version (seeds from seed + 55); its BatchNorms are reopened first, since the committed
    checkpoint was rebuilt from an int8 file."""
    import torch

    run = tmp_path / "run"
    res = run_cli("train", "card", "--out", str(run), "--only", "rec", "--set", "n_val=4", "--set", "rec_batch=8",
                  "--set", "workers=1", "--set", "threads=1", "--set", "rec_init='training/checkpoints/card/card_rec.pt'",
                  "--set", "rec_ft2_epochs=1", "--set", "rec_ft2_n_train=6", "--set", "rec_ft2_mix_n=4",
                  "--set", "rec_ft2_versions=[]", timeout=600)  # one version, not the shipped recipe's six
    assert res.returncode == 0, res.stderr[-2000:]
    from pocketocr.training.card.train import _cache_name, recipe_digest

    summary = json.loads((run / "train_summary.json").read_text())
    rec = summary["recipe"]
    ext = rec["rec_crop_extend"]
    made = sorted(p.name for p in (run / "cache").iterdir())
    assert made == sorted([_cache_name("train", 61, 4, 6, ext), _cache_name("train", 62, 1, 4, ext),
                           _cache_name("val", 8, 1, 4)]), made  # nothing of stages 1 and 2
    init = torch.load("training/checkpoints/card/card_rec.pt", weights_only=False, map_location="cpu")
    assert len(summary["rec"]["history"]) == len(init["history"]) + 1   # the checkpoint's epochs, then stage 3's
    trained = torch.load(run / "card_rec.pt", weights_only=False, map_location="cpu")["model"]
    assert any(not torch.equal(trained[k], v) for k, v in init["model"].items())
    assert recipe_digest(rec, "rec") != recipe_digest({**rec, "rec_ft2_data_version": 3}, "rec")
    assert recipe_digest(rec, "det") == recipe_digest({**rec, "rec_ft2_epochs": 0, "rec_init": ""}, "det")
    # a path given without quotes, or one that is not there: one line each, before anything is rendered
    for value, said in (("training/nope.pt", "quote a string"), ("'training/nope.pt'", "no such checkpoint"),
                        ("'training/checkpoints/card/card_rec.pt'", "without a stage 3")):  # and nothing to train
        res = run_cli("train", "card", "--out", str(tmp_path / "bad"), "--only", "rec", "--set", f"rec_init={value}",
                      "--set", "rec_ft2_epochs=0")
        assert res.returncode == 2 and said in res.stderr and "Traceback" not in res.stderr, res.stderr
        assert not (tmp_path / "bad").exists()
    # the shipped recipe without the new keys names its models as before
    plain = {**rec, "rec_init": "", "rec_ft2_epochs": 0}
    assert recipe_digest(plain, "rec") == recipe_digest({k: v for k, v in plain.items()
                                                         if not k.startswith("rec_ft2_") and k != "rec_init"}, "rec")
    # rec_ft2_versions: stage 3 on rec_ft2_n_train photos of each listed version (seeds seed + 54 + 100 i), in
    # place of rec_ft2_data_version; it renames the recogniser, and not while empty
    several = tmp_path / "several"
    res = run_cli("train", "card", "--out", str(several), "--only", "rec", "--set", "n_val=4", "--set", "rec_batch=8",
                  "--set", "workers=1", "--set", "threads=1", "--set", "rec_init='training/checkpoints/card/card_rec.pt'",
                  "--set", "rec_ft2_epochs=1", "--set", "rec_ft2_n_train=5", "--set", "rec_ft2_mix_n=0",
                  "--set", "rec_ft2_versions=[4, 2]", timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    made = sorted(p.name for p in (several / "cache").iterdir())
    assert made == sorted([_cache_name("train", 61, 4, 5, ext), _cache_name("train", 161, 2, 5, ext),
                           _cache_name("val", 8, 1, 4)]), made
    summary = json.loads((several / "train_summary.json").read_text())
    rec = summary["recipe"]
    assert recipe_digest(rec, "rec") != recipe_digest({**rec, "rec_ft2_versions": []}, "rec")
    assert recipe_digest({**rec, "rec_ft2_versions": []}, "rec") == recipe_digest(
        {k: v for k, v in rec.items() if k != "rec_ft2_versions"}, "rec")


def test_detector_stage_4_from_the_committed_checkpoint(tmp_path):
    """det_init + det_ft3: the detector starts from the committed float checkpoint (stages 1-3 neither train nor
    render), then learns from photos of det_ft3_data_version (seeds from seed + 64) mixed with det_ft3_mix_n photos
    of each of stage 1's versions (seeds from seed + 65 + i), drawn with stage 1's targets."""
    import torch

    run = tmp_path / "run"
    res = run_cli("train", "card", "--out", str(run), "--only", "det", "--set", "n_val=4", "--set", "det_batch=4",
                  "--set", "workers=1", "--set", "threads=1", "--set", "det_init='training/checkpoints/card/card_det.pt'",
                  "--set", "det_ft3_epochs=1", "--set", "det_ft3_n_train=6", "--set", "det_ft3_mix_n=2", timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    from pocketocr.training.card.train import _cache_name, recipe_digest

    summary = json.loads((run / "train_summary.json").read_text())
    det = summary["recipe"]
    assert det["det_versions"] == [1, 2, 3] and det["det_target"] == "centre"  # the shipped recipe's stage 1
    made = sorted(p.name for p in (run / "cache").iterdir())
    assert made == sorted([_cache_name("train", 71, 5, 6, target="centre"), _cache_name("train", 72, 1, 2, target="centre"),
                           _cache_name("train", 73, 2, 2, target="centre"), _cache_name("train", 74, 3, 2, target="centre"),
                           _cache_name("val", 8, 1, 4, target="centre")]), made  # nothing of stages 1-3
    init = torch.load("training/checkpoints/card/card_det.pt", weights_only=False, map_location="cpu")
    assert len(summary["det"]["history"]) == len(init["history"]) + 1   # the checkpoint's epochs, then stage 4's
    trained = torch.load(run / "card_det.pt", weights_only=False, map_location="cpu")
    assert any(not torch.equal(trained["model"][k], v) for k, v in init["model"].items())
    assert trained["spec"] == init["spec"]  # centre-line targets: the decoding spec the shipped detector carries
    assert recipe_digest(det, "det") != recipe_digest({**det, "det_ft3_data_version": 4}, "det")
    assert recipe_digest(det, "rec") == recipe_digest({**det, "det_ft3_epochs": 0, "det_init": ""}, "rec")
    # a missing checkpoint, or one with nothing to train after it: one line each, before anything is rendered
    for value, said in (("'training/nope.pt'", "no such checkpoint"),
                        ("'training/checkpoints/card/card_det.pt'", "without a stage 4")):
        res = run_cli("train", "card", "--out", str(tmp_path / "bad"), "--only", "det", "--set", f"det_init={value}")
        assert res.returncode == 2 and said in res.stderr and "Traceback" not in res.stderr, res.stderr
        assert not (tmp_path / "bad").exists()
    # the shipped recipe without the new keys names its detector as before
    plain = {**det, "det_init": "", "det_ft3_epochs": 0}
    assert recipe_digest(plain, "det") == recipe_digest({k: v for k, v in plain.items()
                                                         if not k.startswith("det_ft3_") and k != "det_init"}, "det")


def test_recogniser_crop_extension():
    """rec_crop_extend lengthens some recogniser crops into the neighbouring print; at 0 every crop, the
    cache name and the recipe hash stay what they were."""
    import numpy as np
    from pocketocr.tasks.card.pre import PreSpec
    from pocketocr.training.card.data import sample_arrays
    from pocketocr.training.card.train import RECIPE_PATH, _cache_name, load_recipe, recipe_digest

    spec = PreSpec()
    canvas, target, plain = sample_arrays(4242, spec)
    _canvas2, _target2, zero = sample_arrays(4242, spec, extend=0.0)
    canvas3, target3, ext = sample_arrays(4242, spec, extend=2.0)
    assert np.array_equal(canvas, canvas3) and np.array_equal(target, target3)
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(plain, zero))
    assert [t for _, t in ext] == [t for _, t in plain]                     # labels unchanged
    assert any(not np.array_equal(a, b) for (a, _), (b, _) in zip(plain, ext))
    assert _cache_name("train", 7, 1, 100) == "train_s7_n100" and _cache_name("train", 7, 1, 100, 2.0).endswith("_x2.0")
    base = {**load_recipe(RECIPE_PATH).__dict__, "rec_crop_extend": 0.0}  # the shipped v5 recipe says 2.0
    old = {k: v for k, v in base.items() if k != "rec_crop_extend"}
    assert recipe_digest(base, "rec") == recipe_digest(old, "rec")
    assert recipe_digest({**base, "rec_crop_extend": 2.0}, "rec") != recipe_digest(base, "rec")
    assert recipe_digest({**base, "rec_crop_extend": 2.0}, "det") == recipe_digest(base, "det")


def test_take_gathers_rows_across_parts():
    """_take: rows numbered across several loaded caches, as one concatenated array would give them."""
    import numpy as np
    from pocketocr.training.card.train import _take

    parts = [{"x": np.arange(5) * 10}, {"x": np.arange(3) * 10 + 50}, {"x": np.arange(4) * 10 + 80}]
    whole = np.concatenate([p["x"] for p in parts])
    for idx in ([0, 4, 5, 7, 8, 11], [6], [0, 1, 2], [9, 10, 11]):
        assert np.array_equal(_take(parts, "x", np.array(idx)), whole[idx])


def test_detector_on_several_data_versions_wider_and_on_centre_targets(tmp_path):
    """det_versions: detector stage 1 on n_train photos of each version (seeds seed + 10 i), drawn with stage 1's
    centre-line targets and validated on them; det_width sizes the net; the recogniser keeps its own photos."""
    run = tmp_path / "run"
    res = run_cli("train", "card", "--out", str(run), "--set", "n_train=8", "--set", "rec_n_train=0", "--set", "n_val=4",
                  "--set", "det_versions=[1, 3]", "--set", 'det_target="centre"', "--set", "det_width=0.5",
                  "--set", "det_batch=4", "--set", "rec_batch=8", "--set", "workers=1", "--set", "threads=1",
                  "--set", "det_epochs=1", "--set", "rec_epochs=1", "--set", "det_ft_epochs=0",
                  "--set", "det_ft2_epochs=0", "--set", "rec_ft_epochs=0", timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    import torch
    from pocketocr.training.card.models import CardDet
    from pocketocr.training.card.train import CENTRE_SPEC, RECIPE_PATH, load_recipe, recipe_digest

    recipe = load_recipe(RECIPE_PATH)
    train_sets = sorted(p.name for p in (run / "cache").glob("train_*"))
    assert train_sets == sorted(["train_s17_v3_n8_tcentre", "train_s7_n8_tcentre", f"train_s7_n8_x{recipe.rec_crop_extend}"])
    assert (run / "cache" / "val_s8_n4_tcentre").is_dir()  # the detector is validated on its own targets
    det = torch.load(run / "card_det.pt", weights_only=False)
    CardDet(0.5).load_state_dict(det["model"])  # the width the recipe asked for
    assert all(v.device.type == "cpu" for v in det["model"].values())  # loads anywhere, whatever it trained on
    assert {k: det["spec"][k] for k in CENTRE_SPEC} == CENTRE_SPEC  # read as a centre-line detector
    # the detector's keys do not rename the recogniser
    rec = json.loads((run / "train_summary.json").read_text())["recipe"]
    assert recipe_digest(rec, "rec") == recipe_digest({**rec, "det_versions": [], "det_width": 1.0}, "rec")
    assert recipe_digest(rec, "det") != recipe_digest({**rec, "det_versions": []}, "det")


def test_recogniser_on_several_data_versions(tmp_path):
    """rec_versions: recogniser stage 1 on the crops of rec_n_train photos of each version (seeds seed + 10 i, the
    first set the one data_version alone would draw); the key renames the recogniser only, and not while empty."""
    run = tmp_path / "run"
    res = run_cli("train", "card", "--only", "rec", "--out", str(run), "--set", "n_train=6", "--set", "rec_n_train=0",
                  "--set", "n_val=3", "--set", "rec_versions=[1, 4]", "--set", "rec_batch=8", "--set", "workers=1",
                  "--set", "threads=1", "--set", "rec_epochs=1", "--set", "rec_ft_epochs=0", timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    from pocketocr.training.card.train import RECIPE_PATH, load_recipe, recipe_digest

    ext = load_recipe(RECIPE_PATH).rec_crop_extend
    assert sorted(p.name for p in (run / "cache").glob("train_*")) == sorted([f"train_s7_n6_x{ext}",
                                                                              f"train_s17_v4_n6_x{ext}"])
    summary = json.loads((run / "train_summary.json").read_text())
    assert "rec" in summary and "det" not in summary
    rec = summary["recipe"]
    assert recipe_digest(rec, "rec") != recipe_digest({**rec, "rec_versions": []}, "rec")
    assert recipe_digest(rec, "det") == recipe_digest({**rec, "rec_versions": []}, "det")
    assert recipe_digest({**rec, "rec_versions": []}) == recipe_digest({k: v for k, v in rec.items() if k != "rec_versions"})


def test_device_batches_match_the_cpu_batches():
    """The GPU path of the batch functions (photos moved to the device once, jitter and normalisation there)
    gives the losses of the CPU path from the same draws; run here on the CPU, forced."""
    import numpy as np
    import torch
    from pocketocr.tasks.card.pre import PreSpec
    from pocketocr.training.card.models import CardDet, CardRec
    from pocketocr.training.card.train import _det_batches, _rec_batches

    spec, g = PreSpec(), np.random.default_rng(0)
    cells = spec.det_size // spec.det_stride
    parts = [{"canvas": g.integers(0, 256, (n, spec.det_size, spec.det_size, 3), dtype=np.uint8),
              "target": g.random((n, 5, cells, cells)).astype(np.float16)} for n in (3, 4)]
    crops = {"crops": g.integers(0, 256, (12, spec.rec_height, spec.rec_width), dtype=np.uint8),
             "texts": np.array(["4111", "12/29", "5500", "0"] * 3)}
    torch.manual_seed(0)
    det, rec = CardDet().eval(), CardRec(n_classes=len(spec.vocab) + 1).eval()
    for make in (lambda on: _det_batches(det, parts, 4, spec, "cpu", on_device=on),
                 lambda on: _rec_batches(rec, crops, 8, spec, "cpu", on_device=on)):
        losses = {}
        for on in (False, True):
            steps, batch = make(on)
            rng = np.random.default_rng(5)
            losses[on] = [batch(rng, s).item() for s in range(steps)]
        assert np.allclose(losses[False], losses[True], rtol=1e-4, atol=1e-5), losses


@pytest.mark.parametrize("task", ["card", "formula"])
def test_a_device_this_machine_lacks_is_one_line_before_any_rendering(tmp_path, task):
    """`--device gpu` (no such torch device) and, on a machine without CUDA, `--device cuda` exit 2 with one line
    naming the device, and render nothing into the run folder."""
    import torch

    res = run_cli("train", task, "--out", str(tmp_path / "gpu"), "--device", "gpu")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().count("\n") == 0 and "'gpu'" in res.stderr and "auto, cpu or cuda" in res.stderr
    assert not (tmp_path / "gpu").exists()
    if torch.cuda.is_available():
        return  # the rest is about a machine without a GPU
    res = run_cli("train", task, "--out", str(tmp_path / "cuda"), "--device", "cuda")
    assert res.returncode == 2 and "Traceback" not in res.stderr and "no CUDA GPU" in res.stderr, res.stderr[-800:]
    assert not (tmp_path / "cuda").exists()
