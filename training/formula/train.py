"""`pocketocr train formula`: render the synthetic pages, train the formula detector, checkpoint.

Reproducible: the recipe's seed fixes the formula bank, the pages (page seeds) and the torch
initialisation and shuffles. Resumable: each finished epoch writes `<out>/formula_last.pt`; rerunning
continues from there (the page cache and the bank are kept too). The best epoch by synthetic
validation F1@0.5 is saved as `<out>/formula_det.pt`, which `pocketocr export formula` reads.

An optional second stage (`ft_epochs` > 0) fine-tunes the trained detector on pages of a newer data version
(`ft_data_version`), mixed with the first stage's pages when `ft_mix` is on, at a lower one-cycle peak
(`ft_lr`); it checkpoints to `formula_ft_last.pt`, and `formula_det.pt` is then its best epoch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from pocketocr.eval.formula import load_formula_labels
from pocketocr.tasks.formula.pre import PreSpec, det_tensor
from torch.nn import functional as F
from tqdm import tqdm

from ..common import TorchBackend, batches_on_device, load_recipe_file, repo_path, save_checkpoint, start_run
from ..int8_weights import reopen_batchnorm
from .bank import load_bank
from .data import build_cache, load_cache
from .models import FormulaDet
from .synth import write_dataset

__all__ = ["RECIPE_PATH", "FormulaRecipe", "load_recipe", "train_formula", "validation_sets"]

RECIPE_PATH = Path(__file__).resolve().parent.parent / "recipes" / "formula.toml"


@dataclass
class FormulaRecipe:
    seed: int = 11
    n_train: int = 2400           # rendered training pages (half scans, half photos)
    n_val: int = 100              # each fixed synthetic validation set (scans: seed + 1, photos: seed + 2)
    n_val_epoch: int = 25         # pages of those sets scored after every epoch
    bank_inline: int = 2400       # formulas rendered into the bank
    bank_display: int = 1200
    epochs: int = 8
    steps_per_epoch: int = 400
    batch: int = 8
    crop: int = 448               # training crop, input pixels (multiple of 32)
    lr: float = 0.004
    width: float = 1.0
    data_version: int = 1         # synthetic page version (synth.DATA_VERSIONS) of the n_train pages
    versions: list[int] = field(default_factory=list)  # stage 1 on n_train pages of each of these versions
                                  # instead (the i-th from seeds seed + 10 i), one version drawn per batch
    ft_epochs: int = 0            # optional stage 2 (0: off): fine-tune on newer pages
    ft_n_train: int = 1200        # its pages: seeds from seed + 3, data version ft_data_version
    ft_data_version: int = 2
    ft_lr: float = 0.001
    ft_mix: bool = True           # draw stage 2's crops from the first stage's pages too, half the time
    init: str = ""                # a checkpoint (path from the repo root) that stands in for stages 1 and 2:
                                  # neither trains, stage 3 starts from its weights (the committed v4 one)
    ft2_epochs: int = 0           # optional stage 3 (0: off): fine-tune again on newer pages
    ft2_n_train: int = 1200       # its pages: seeds from seed + 5, data version ft2_data_version
    ft2_data_version: int = 3
    ft2_lr: float = 0.001
    ft2_mix: bool = True          # draw stage 3's crops from stage 2's pages too, half the time
    threads: int = 2
    workers: int = 2

    def digest(self) -> str:
        """Short hash of the recipe: names the data and settings a model was trained with. Keys added after
        models were named by recipes without them do not count at their old meaning (version 1, no stage 2),
        nor do the speed settings `threads` and `workers` (v7 rendered with 16 processes on a lent GPU
        machine; the recipe file keeps 2 for this box). Names given before v7 counted them."""
        d = {k: v for k, v in dataclasses.asdict(self).items() if k not in ("threads", "workers")}
        for stage in ("ft_", "ft2_"):  # an unused stage does not rename the model
            if not d[stage + "epochs"]:
                d = {k: v for k, v in d.items() if not k.startswith(stage)}
        if not d["init"]:
            del d["init"]
        if d["data_version"] == 1:
            del d["data_version"]
        if not d["versions"]:
            del d["versions"]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def load_recipe(path: Path | None = None, **overrides) -> FormulaRecipe:
    """defaults < recipe file < overrides; unknown keys are an error, not silently ignored."""
    return load_recipe_file(FormulaRecipe, path, overrides)


def det_loss(logits: torch.Tensor, box: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Core maps: BCE + soft dice; boxes: 1 - IoU of the (l, t, r, b) distances plus a small log-L1,
    on core cells only."""
    core = t[:, 0:2]
    bce = F.binary_cross_entropy_with_logits(logits, core, pos_weight=torch.tensor(3.0, device=logits.device))
    p = torch.sigmoid(logits)
    inter = (p * core).sum((0, 2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum((0, 2, 3)) + core.sum((0, 2, 3)) + 1)
    on = core.amax(1) > 0.5                                        # (N, h, w)
    if on.any():
        pr = box.permute(0, 2, 3, 1)[on].clamp(-6, 6)              # (K, 4) log distances
        tg = t[:, 2:6].permute(0, 2, 3, 1)[on]
        dp, dt = pr.exp(), tg.exp()
        iw = torch.minimum(dp[:, 0], dt[:, 0]) + torch.minimum(dp[:, 2], dt[:, 2])
        ih = torch.minimum(dp[:, 1], dt[:, 1]) + torch.minimum(dp[:, 3], dt[:, 3])
        ai = iw * ih
        union = (dp[:, 0] + dp[:, 2]) * (dp[:, 1] + dp[:, 3]) + (dt[:, 0] + dt[:, 2]) * (dt[:, 1] + dt[:, 3]) - ai
        iou_l = (1 - ai / union.clamp(min=1e-6)).mean()
        l1 = F.smooth_l1_loss(pr, tg)
    else:
        iou_l = l1 = logits.sum() * 0
    loss = bce + dice.mean() + iou_l + 0.2 * l1
    return loss, {"bce": bce.item(), "dice": dice.mean().item(), "iou": float(iou_l.detach())}


def _photometric_params(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-crop contrast, brightness and gamma of `_photometric`, shape (n, 1, 1) each."""
    a = rng.uniform(0.7, 1.2, (n, 1, 1))
    b = rng.uniform(-30, 25, (n, 1, 1))
    g = rng.uniform(0.75, 1.35, (n, 1, 1))
    return a, b, g


def _photometric(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-crop contrast, brightness and gamma jitter on uint8 (N, H, W)."""
    a, b, g = _photometric_params(rng, len(x))
    y = 255.0 * (x.astype(np.float32) / 255.0) ** g
    return np.clip(y * a + b, 0, 255).astype(np.uint8)


def _photometric_torch(x: torch.Tensor, a: np.ndarray, b: np.ndarray, g: np.ndarray) -> torch.Tensor:
    """`_photometric` on a uint8 batch already on the device, with the same draws and numpy's precisions (the
    pixels divided in float32, the rest in float64)."""
    a, b, g = (torch.from_numpy(v).to(x.device) for v in (a, b, g))
    y = 255.0 * (x.float() / 255.0).double() ** g
    return (y * a + b).clamp(0, 255).to(torch.uint8)


def validation_sets(recipe: FormulaRecipe, out: Path) -> dict[str, Path]:
    """Write (once) the fixed synthetic validation sets as eval datasets: scans and photos."""
    bank_path = out / f"bank_s{recipe.seed}_{recipe.bank_inline}_{recipe.bank_display}.npz"
    sets = {"scan": (out / f"val_scan_s{recipe.seed + 1}_n{recipe.n_val}", recipe.seed + 1, False),
            "photo": (out / f"val_photo_s{recipe.seed + 2}_n{recipe.n_val}", recipe.seed + 2, True)}
    todo = [(str(p), recipe.n_val, s, str(bank_path), ph) for p, s, ph in sets.values()
            if not (p / "annotations.jsonl").exists()]
    if todo:
        with mp.get_context("fork").Pool(min(len(todo), recipe.workers)) as pool:
            pool.map(_write_val, todo)
    return {k: v[0] for k, v in sets.items()}


def _write_val(args) -> None:
    path, n, seed, bank_path, photo = args
    write_dataset(Path(path), n, seed, load_bank(Path(bank_path)), photo)


def page_f1(model: FormulaDet, datasets: list[Path], n: int, spec: PreSpec, device) -> float:
    """F1@0.5 (classes must agree) over the first `n` pages of each validation dataset, as `pocketocr eval
    formula` scores them: the SDK's detector pipeline, boxes snapped to the ink, one-to-one matching."""
    from pocketocr.eval.formula import evaluate_predictions
    from pocketocr.tasks.formula.predictor import FormulaDetector

    detector = FormulaDetector(TorchBackend(model, "image", {**spec.to_metadata(), "version": "training"}, device))
    labels = [lab for ds in datasets for lab in load_formula_labels(ds)[:n]]
    try:
        f1 = evaluate_predictions(labels, [detector.detect(lab.file) for lab in labels])["f1_50"]
    finally:  # back to training, BatchNorm statistics untouched by the check
        model.train()
    return f1 or 0.0


def _cache_name(seed: int, version: int, n: int, spec: PreSpec) -> str:
    """Page-cache folder name, e.g. train_s11_n2400_L1024 (train_s14_v2_n1200_L1024 for version 2)."""
    return f"train_s{seed}" + (f"_v{version}" if version != 1 else "") + f"_n{n}_L{spec.long_side}"


def _core_cells(targ: np.ndarray) -> list[np.ndarray]:
    # Crop centres are drawn near formula cores 70% of the time: most of a page is plain text.
    return [np.argwhere(t[0:2].max(0) > 0.5) for t in targ]


def _crop_corners(rng: np.random.Generator, cells: np.ndarray, size: int, c: int, s4: int) -> tuple[int, int]:
    """Top-left corner of one training crop: 70% of the time a crop holding a random formula core cell."""
    if len(cells) and rng.random() < 0.7:
        r0, c0 = cells[rng.integers(len(cells))] * s4
        y0, x0 = r0 - rng.integers(0, c), c0 - rng.integers(0, c)
    else:
        y0, x0 = rng.integers(0, size - c + 1), rng.integers(0, size - c + 1)
    return int(np.clip(y0 // s4 * s4, 0, size - c)), int(np.clip(x0 // s4 * s4, 0, size - c))


def _batches(sources: list, batch: int, crop: int, spec: PreSpec, dev, on_device: bool | None = None):
    """A function rng -> (input, target) tensors of one training batch from page sets `sources` ((canvas,
    target, core cells) each). One source is drawn per batch (none with a single source: stage 1 of v1-v3
    draws exactly as before sources existed), then `batch` pages and a crop of each.

    On a GPU (`on_device`: None means wherever `dev` is not the CPU) the pages move there once and each batch
    is cut, jittered and normalised there, from the same draws with the same arithmetic: on the CPU the
    jitter alone cost about 85 ms a batch of 32, more than the GPU's step (docs/formula.md)."""
    c, s4 = crop, spec.stride
    on_gpu = batches_on_device(dev, on_device)
    held = [tuple(torch.from_numpy(a).to(dev) for a in src[:2]) for src in sources] if on_gpu else []

    def make(rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        j = 0 if len(sources) == 1 else int(rng.integers(len(sources)))
        canv, targ, core_cells = sources[j]
        n, size = len(canv), canv.shape[1]
        idx = rng.integers(0, n, batch)
        corners = [_crop_corners(rng, core_cells[i], size, c, s4) for i in idx]
        if on_gpu:
            gc, gt = held[j]
            xs = torch.stack([gc[i, y0:y0 + c, x0:x0 + c] for i, (y0, x0) in zip(idx, corners)])
            ts = torch.stack([gt[i, :, y0 // s4:(y0 + c) // s4, x0 // s4:(x0 + c) // s4]
                              for i, (y0, x0) in zip(idx, corners)]).float()
            x = ((_photometric_torch(xs, *_photometric_params(rng, batch)).float() / 255.0 - spec.mean) / spec.std)
            return x[:, None].contiguous(), ts
        xs = np.stack([canv[i, y0:y0 + c, x0:x0 + c] for i, (y0, x0) in zip(idx, corners)])
        ts = np.stack([targ[i, :, y0 // s4:(y0 + c) // s4, x0 // s4:(x0 + c) // s4]
                       for i, (y0, x0) in zip(idx, corners)]).astype(np.float32)
        return torch.from_numpy(det_tensor(_photometric(xs, rng), spec)).to(dev), torch.from_numpy(ts).to(dev)

    return make


@dataclass
class _Stage:
    """One one-cycle training run over page sets `sources` ((canvas, target, core cells) each)."""

    name: str
    epochs: int
    lr: float
    pct_start: float
    seed: int
    sources: list


def _run_stage(stage: _Stage, model: FormulaDet, recipe: FormulaRecipe, name_hash: str, last: Path, best_path: Path,
               vals: dict[str, Path], spec: PreSpec, dev, resume: bool, t_start: float) -> list[dict]:
    """Train `model` for the stage's epochs, resumable from `last` when it carries `name_hash`; the best epoch
    by synthetic validation F1@0.5 goes to `best_path`. Returns the stage's history."""
    opt = torch.optim.AdamW(model.parameters(), lr=stage.lr, weight_decay=1e-4)
    total = max(1, stage.epochs * recipe.steps_per_epoch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=stage.lr, total_steps=total, pct_start=stage.pct_start)
    start, history = 0, []
    if resume and last.exists():
        st = torch.load(last, map_location=dev, weights_only=False)
        if st.get("recipe_hash") == name_hash:
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["opt"])
            sched.load_state_dict(st["sched"])
            start, history = st["epoch"] + 1, st.get("history", [])
            print(f"[{stage.name}] resuming after epoch {start}", flush=True)
        else:
            print(f"[{stage.name}] {last.name} is from another recipe: starting over", flush=True)
    batches = _batches(stage.sources, recipe.batch, recipe.crop, spec, dev)
    best = max([h["val_f1_50"] for h in history], default=-1.0)
    for epoch in range(start, stage.epochs):
        rng = np.random.default_rng(stage.seed * 1000 + epoch)
        bar = tqdm(range(recipe.steps_per_epoch), desc=f"{stage.name} {epoch + 1}/{stage.epochs}", unit="step")
        losses, parts = [], []
        for step in bar:
            x, t = batches(rng)
            logits, box = model(x, raw=True)
            loss, part = det_loss(logits, box, t)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            parts.append(part)
            if step % 10 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}",
                                iou=f"{np.mean([p['iou'] for p in parts[-50:]]):.3f}")
        f1 = page_f1(model, [vals["scan"], vals["photo"]], recipe.n_val_epoch, spec, dev)
        history.append({"epoch": epoch + 1, "stage": stage.name, "loss": float(np.mean(losses)), "val_f1_50": f1,
                        "minutes": round((time.time() - t_start) / 60, 1)})
        print(f"[{stage.name}] epoch {epoch + 1}: loss {np.mean(losses):.4f}, synthetic val F1@0.5 {f1:.4f}",
              flush=True)
        save_checkpoint(last, model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(), epoch=epoch,
                        history=history, recipe_hash=name_hash)
        if f1 >= best:
            best = f1
            save_checkpoint(best_path, model=model.state_dict(), epoch=epoch)
    if not best_path.exists():
        raise FileNotFoundError(f"{best_path} is missing: delete {last} to train the stage again")
    return history


def _stage1_digest(recipe: FormulaRecipe) -> str:
    """The first stage's name: the recipe without its later stages, so adding a fine-tune resumes the first
    stage from its checkpoints instead of training it again."""
    return dataclasses.replace(recipe, ft_epochs=0, ft2_epochs=0).digest()


def _init_batches(source: tuple, recipe: FormulaRecipe, spec: PreSpec, dev) -> list[torch.Tensor]:
    """Two batches of training-size crops at random places of the first pages of `source`, fixed by the seed."""
    canv = source[0]
    rng = np.random.default_rng(recipe.seed)
    c, size = recipe.crop, canv.shape[1]
    out = []
    for _ in range(2):
        idx = rng.integers(0, len(canv), recipe.batch)
        ys, xs = rng.integers(0, size - c + 1, (2, recipe.batch))
        crops = np.stack([canv[i, y:y + c, x:x + c] for i, y, x in zip(idx, ys, xs)])
        out.append(torch.from_numpy(det_tensor(crops, spec)).to(dev))
    return out


def _stage2_digest(recipe: FormulaRecipe) -> str:
    return dataclasses.replace(recipe, ft2_epochs=0).digest()


def train_formula(recipe: FormulaRecipe, out: Path, device: str = "auto", resume: bool = True) -> dict:
    """Train the formula detector; returns the checkpoint path and validation history. See module doc."""
    if recipe.init and not recipe.ft2_epochs:  # before any rendering: such a run would train nothing
        raise ValueError("a recipe with `init` trains nothing without a stage 3 (ft2_epochs)")
    out, dev = start_run(out, recipe.seed, recipe.threads, device)
    spec = PreSpec()
    t_start = time.time()
    bank_path = out / f"bank_s{recipe.seed}_{recipe.bank_inline}_{recipe.bank_display}.npz"
    if not bank_path.exists():
        print(f"rendering the formula bank -> {bank_path}", flush=True)
        load_bank(bank_path, recipe.seed, recipe.bank_inline, recipe.bank_display, recipe.workers)
    vals = validation_sets(recipe, out)
    model = FormulaDet(recipe.width).to(dev)

    def pages(seed: int, version: int, n: int) -> tuple:
        cache = out / "cache" / _cache_name(seed, version, n, spec)
        build_cache(cache, seed, n, spec, bank_path, recipe.workers, version=version)
        d = load_cache(cache)
        return d["canvas"], d["target"], _core_cells(d["target"])

    if recipe.init:  # stages 1 and 2 are the checkpoint's
        init = torch.load(repo_path(recipe.init), map_location=dev, weights_only=False)
        if float(init.get("width", 1.0)) != recipe.width:
            raise ValueError(f"init {recipe.init} is a width-{init.get('width')} detector; the recipe says {recipe.width}")
        model.load_state_dict(init["model"])
        history, best_path = list(init.get("history", [])), None
    else:
        stage1_sources = [pages(recipe.seed + 10 * i, v, recipe.n_train)
                          for i, v in enumerate(recipe.versions or [recipe.data_version])]
        stage1_pages = stage1_sources[0]
        print(f"data ready in {time.time() - t_start:.0f} s", flush=True)
        stage1 = _Stage("formula", recipe.epochs, recipe.lr, 0.1, recipe.seed, stage1_sources)
        history = _run_stage(stage1, model, recipe, _stage1_digest(recipe), out / "formula_last.pt",
                             out / "formula_best.pt", vals, spec, dev, resume, t_start)
        best_path = out / "formula_best.pt"
        if recipe.ft_epochs > 0:
            sources = [pages(recipe.seed + 3, recipe.ft_data_version, recipe.ft_n_train)]
            if recipe.ft_mix:
                sources.append(stage1_pages)
            stage2 = _Stage("formula_ft", recipe.ft_epochs, recipe.ft_lr, 0.15, recipe.seed + 3, sources)
            best_ft = out / "formula_ft_best.pt"
            # stage 2 starts from stage 1's best epoch (the model stage 1 alone would ship) and keeps its own
            # best: the validation pages are version 1, the pages it learns from newer
            model.load_state_dict(torch.load(best_path, map_location=dev, weights_only=False)["model"])
            history = history + _run_stage(stage2, model, recipe, _stage2_digest(recipe), out / "formula_ft_last.pt",
                                           best_ft, vals, spec, dev, resume, t_start)
            best_path = best_ft
    if recipe.ft2_epochs > 0:
        sources = [pages(recipe.seed + 5, recipe.ft2_data_version, recipe.ft2_n_train)]
        if recipe.ft2_mix:
            sources.append(pages(recipe.seed + 3, recipe.ft_data_version, recipe.ft_n_train))
        print(f"data ready in {time.time() - t_start:.0f} s", flush=True)
        if best_path is not None:
            model.load_state_dict(torch.load(best_path, map_location=dev, weights_only=False)["model"])
        elif init.get("recovered_from"):
            # weights rebuilt from an int8 file (recover.py): BatchNorm statistics from 16 of stage 3's crops
            # (a resumed stage 3 then loads its own state over them)
            reopen_batchnorm(model, _init_batches(sources[0], recipe, spec, dev))
        stage3 = _Stage("formula_ft2", recipe.ft2_epochs, recipe.ft2_lr, 0.15, recipe.seed + 5, sources)
        best_path = out / "formula_ft2_best.pt"
        history = history + _run_stage(stage3, model, recipe, recipe.digest(), out / "formula_ft2_last.pt",
                                       best_path, vals, spec, dev, resume, t_start)
    best_state = torch.load(best_path, map_location="cpu", weights_only=False)
    save_checkpoint(out / "formula_det.pt", model=best_state["model"], arch="formula_det", width=recipe.width,
          epoch=best_state["epoch"] + 1, init=recipe.init or None, recipe=dataclasses.asdict(recipe), recipe_hash=recipe.digest(),
          spec=dataclasses.asdict(spec), history=history)
    result = {"recipe": dataclasses.asdict(recipe), "recipe_hash": recipe.digest(),
              "det": {"path": str(out / "formula_det.pt"), "history": history},
              "val_sets": {k: str(v) for k, v in vals.items()}}
    (out / "train_summary.json").write_text(json.dumps(result, indent=2, default=str))
    return result
