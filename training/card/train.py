"""`pocketocr train card`: render the synthetic data, train the detector and the recogniser, checkpoint.

Reproducible: the recipe's seed fixes the data (sample seeds) and the torch initialisation/shuffles.
Resumable: each finished epoch writes `<out>/<model>_last.pt`; rerunning continues from there.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from pocketocr.tasks.card.pre import PreSpec, crop_tensor, det_tensor
from torch.nn import functional as F
from tqdm import tqdm

from ..common import batches_on_device, load_recipe_file, repo_path, save_checkpoint, start_run
from ..int8_weights import reopen_batchnorm
from .data import build_cache, load_cache
from .models import CardDet, CardRec, det_arch_kwargs, rec_arch_kwargs
from .synth import version_tag

__all__ = ["RECIPE_PATH", "CardRecipe", "load_recipe", "recipe_digest", "train_card"]

RECIPE_PATH = Path(__file__).resolve().parent.parent / "recipes" / "card.toml"


@dataclass
class CardRecipe:
    seed: int = 7
    data_version: int = 1         # synthetic card data version (synth.DATA_VERSIONS) of the photos below
    n_train: int = 6000
    n_val: int = 300
    rec_n_train: int = 0          # photos the recogniser trains on (the first n_train are the detector's); 0: n_train
    rec_versions: list[int] = field(default_factory=list)  # recogniser stage 1 on photos of several data versions:
                                  # rec_n_train (or n_train) of each, the i-th from seeds seed + 10 i as det_versions'
                                  # (so with data_version first, its set is the one it draws alone); empty:
                                  # data_version alone
    det_epochs: int = 7
    rec_epochs: int = 5
    det_batch: int = 32
    rec_batch: int = 128
    det_lr: float = 0.004
    det_width: float = 1.0        # the detector's channel multiplier (models.CardDet)
    det_versions: list[int] = field(default_factory=list)  # stage 1 on photos of several data versions: n_train
                                  # of each (the i-th from seeds seed + 10 i); empty: data_version alone
    det_target: str = "fill"      # stage 1's targets (data.py `det_target`): "centre" trains centre-line scores
                                  # from the start (validated on them), where v7 needed a third stage
    rec_lr: float = 0.003
    det_ft_epochs: int = 0        # optional detector stage 2: fine-tune on newer data (0: off)
    det_ft_n_train: int = 6000    # its photos: seeds from seed + 2, data version det_ft_data_version
    det_ft_data_version: int = 2
    det_ft_lr: float = 0.0015
    det_ft2_epochs: int = 0       # optional detector stage 3: fine-tune the stage-2 detector again (0: off)
    det_ft2_n_train: int = 6000   # its photos: seeds from seed + 2 (stage 2's seeds), data version det_ft2_data_version
    det_ft2_data_version: int = 3
    det_ft2_lr: float = 0.001
    det_ft2_mix: bool = True      # with stage 2's photos too, so that learning the newer version keeps the older
    det_ft2_target: str = "fill"  # its targets (data.py `det_target`); "centre": stage 3 re-teaches the detector
                                  # centre-line scores, on photos of seeds from seed + 4 (and stage 2's photos,
                                  # rendered again with these targets, when mixed)
    det_init: str = ""            # a float detector checkpoint (path from the repo root) that stands in for stages
                                  # 1-3: none trains, stage 4 (det_ft3) starts from its weights
    det_ft3_epochs: int = 0       # optional detector stage 4 (0: off): det_ft3_n_train photos of det_ft3_data_version
    det_ft3_lr: float = 0.0005    # (seeds from seed + 64) and det_ft3_mix_n of each of stage 1's versions (seeds
    det_ft3_n_train: int = 3000   # from seed + 65 + i), so that the older data stays learnt; stage 1's targets
    det_ft3_data_version: int = 5
    det_ft3_mix_n: int = 1000
    rec_ft_epochs: int = 0        # optional second, gentler one-cycle stage (0: off)
    rec_ft_lr: float = 0.001
    rec_ft_n_train: int = 0       # its photos: 0 the recogniser's own; else seeds from seed + 2 (the detector
    rec_ft_data_version: int = 2  # stage 2's photos when the sizes and versions agree), this data version
    rec_ft_mix: bool = False      # stage 2 on those photos and the recogniser's own together, so that learning
                                  # a new data version does not unlearn the old ones
    rec_init: str = ""            # a float recogniser checkpoint (path from the repo root) that stands in for its
                                  # stages 1 and 2: neither trains, stage 3 (rec_ft2) starts from its weights
    rec_ft2_epochs: int = 0       # optional recogniser stage 3 (0: off), one-cycle at peak rec_ft2_lr, on
    rec_ft2_lr: float = 0.001     # rec_ft2_n_train photos of rec_ft2_data_version (seeds from seed + 54) and
    rec_ft2_n_train: int = 3000   # rec_ft2_mix_n of data_version (seeds from seed + 55), so that the older faces
    rec_ft2_data_version: int = 4  # stay learnt; seeds no other stage draws
    rec_ft2_mix_n: int = 1500
    rec_ft2_versions: list[int] = field(default_factory=list)  # stage 3 on several data versions instead of
                                  # rec_ft2_data_version: rec_ft2_n_train photos of each, the i-th from seeds
                                  # seed + 54 + 100 i (so a version listed first draws the single-version set)
    rec_top: int = 0              # channels of the recogniser's frame-level layers (0: 96, the v1-v4 shape)
    rec_top_layers: int = 2       # and how many (1 x 3) layers there
    rec_crop_extend: float = 0.0  # recogniser crops: half lengthened by up to this many field heights (data.py)
    threads: int = 2
    workers: int = 2

    def digest(self, role: str | None = None) -> str:
        """Short hash of the recipe: names the data and settings a model was trained with.

        With `role` ("det" or "rec") only the keys that model depends on count, so changing the
        recogniser's epochs does not rename the detector.
        """
        return recipe_digest(dataclasses.asdict(self), role)


# Keys that do not rename a model while at these values: keys added after models were named by recipes
# without them (data versions, the recogniser's shape and crop extension), and rec_n_train 0, which means
# n_train, the same data.
_UNNAMED = {"data_version": 1, "rec_n_train": 0, "rec_top": 0, "rec_top_layers": 2, "rec_crop_extend": 0.0,
            "rec_ft_mix": False, "det_ft2_target": "fill", "det_versions": [], "det_width": 1.0,
            "det_target": "fill", "rec_init": "", "det_init": "", "rec_versions": [],
            "rec_ft2_versions": []}


def recipe_digest(recipe: dict, role: str | None = None) -> str:
    keys = [k for k in recipe if role is None or not k.startswith(("det_", "rec_")) or k.startswith(role + "_")]
    keys = [k for k in keys if k not in ("threads", "workers")]  # speed settings, not results
    for stage in ("rec_ft2", "rec_ft", "det_ft", "det_ft2", "det_ft3"):  # an unused stage does not rename the model
        if not recipe.get(stage + "_epochs"):
            keys = [k for k in keys if not k.startswith(stage + "_")]
    keys = [k for k in keys if k not in _UNNAMED or recipe[k] != _UNNAMED[k]]
    return hashlib.sha256(json.dumps({k: recipe[k] for k in sorted(keys)}).encode()).hexdigest()[:12]


# The reading spec of a detector trained last on centre-line targets (v7). Its fields sit where the text is
# (nothing to move back) and are as long as the text, where the filled targets' fields ran about 0.3 field
# heights past each end, and the recogniser reads best with that much more margin: on 2 000 synthetic photos
# (versions 1 + 2) margins 0.3 / 0.45 / 0.6 read 0.648 / 0.654 / 0.652 of the numbers with 81 / 90 / 75 wrong
# ones shown, and expiry margins 0.9 / 1.05 / 1.2 showed 139 / 121 / 149 wrong dates (docs/export.md).
CENTRE_SPEC = {"field_shift": 0.0, "pad_x": 0.6, "expiry_pad_x": 1.05}


def load_recipe(path: Path | None = None, **overrides) -> CardRecipe:
    """defaults < recipe file < overrides; unknown keys are an error, not silently ignored."""
    return load_recipe_file(CardRecipe, path, overrides)


def _det_loss(y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    prob_t = t[:, 0:2]
    bce = F.binary_cross_entropy_with_logits(y[:, 0:2], prob_t, pos_weight=torch.tensor(4.0, device=y.device))
    p = torch.sigmoid(y[:, 0:2])
    inter = (p * prob_t).sum((2, 3))
    dice = 1 - (2 * inter + 1) / (p.sum((2, 3)) + prob_t.sum((2, 3)) + 1)
    on = (prob_t.amax(1, keepdim=True) > 0).float()
    n_on = on.sum().clamp(min=1)
    h = F.smooth_l1_loss(F.softplus(y[:, 2:3]) * on, t[:, 2:3] * on, reduction="sum") / n_on
    d = (torch.abs(torch.tanh(y[:, 3:5]) - t[:, 3:5]) * on).sum() / n_on
    return bce + dice.mean() + h + 0.5 * d


def _photometric_params(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-image contrast and brightness of `_photometric`, shape (n, 1, 1, 1) each."""
    return rng.uniform(0.75, 1.25, (n, 1, 1, 1)), rng.uniform(-25, 25, (n, 1, 1, 1))


def _photometric(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Cheap per-image brightness/contrast jitter on uint8 batches (N, H, W, C)."""
    a, b = _photometric_params(rng, len(x))
    return np.clip(x.astype(np.float32) * a + b, 0, 255).astype(np.uint8)


def _photometric_torch(x: torch.Tensor, a: np.ndarray, b: np.ndarray) -> torch.Tensor:
    """`_photometric` on a uint8 batch already on the device, with the same draws (float64, as numpy
    promotes float32 pixels times float64 draws)."""
    a, b = (torch.from_numpy(v).to(x.device).view(-1, *[1] * (x.dim() - 1)) for v in (a, b))
    return (x.double() * a + b).clamp(0, 255).to(torch.uint8)


def _det_tensor_torch(x: torch.Tensor, spec: PreSpec) -> torch.Tensor:
    """`pre.det_tensor` on the device: (N, S, S, 3) uint8 -> (N, 3, S, S) float32."""
    return ((x.float() / 255.0 - spec.det_mean) / spec.det_std).permute(0, 3, 1, 2).contiguous()


def _crop_tensor_torch(x: torch.Tensor) -> torch.Tensor:
    """`pre.crop_tensor` on the device: (N, H, W) uint8 -> (N, 1, H, W) float32, normalised per crop."""
    x = x.float()[:, None]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True, unbiased=False)
    return (x - mean) / std.clamp(min=8.0)


def _encode(texts: list[str], vocab: str) -> tuple[torch.Tensor, torch.Tensor]:
    idx = [[vocab.index(c) + 1 for c in t] for t in texts]
    return torch.tensor([i for row in idx for i in row], dtype=torch.long), torch.tensor([len(r) for r in idx])


def _rec_accuracy(model: CardRec, crops: np.ndarray, texts: np.ndarray, vocab: str, device) -> float:
    from pocketocr.tasks.card.post import ctc_greedy

    model.eval()
    ok = 0
    with torch.no_grad():
        for i in range(0, len(crops), 256):
            x = torch.from_numpy(crop_tensor(list(crops[i:i + 256]))).to(device)
            probs = model(x).exp().cpu().numpy()
            for p, t in zip(probs, texts[i:i + 256]):
                ok += ctc_greedy(p, vocab)[0] == t
    model.train()
    return ok / max(1, len(crops))


def _det_iou(model: CardDet, canvas: np.ndarray, target: np.ndarray, spec: PreSpec, device) -> float:
    model.eval()
    inter = union = 0.0
    with torch.no_grad():
        for i in range(0, len(canvas), 64):
            y = model(torch.from_numpy(det_tensor(canvas[i:i + 64], spec)).to(device)).cpu().numpy()
            pm, tm = y[:, 0:2] > 0.5, target[i:i + 64, 0:2] > 0.5
            inter += (pm & tm).sum()
            union += (pm | tm).sum()
    model.train()
    return float(inter / max(union, 1))


def _train_loop(name, model, epochs, steps_per_epoch, batch_fn, lr, out, eval_fn, device, seed, resume):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, epochs * steps_per_epoch),
                                                pct_start=0.15)
    start = 0
    last = out / f"{name}_last.pt"
    history = []
    if resume and last.exists():
        st = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        start, history = st["epoch"] + 1, st.get("history", [])
        if st["sched"]["total_steps"] == epochs * steps_per_epoch:
            sched.load_state_dict(st["sched"])
        else:  # the run was extended (more epochs): the same one-cycle shape, stretched, from here on
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(1, epochs * steps_per_epoch),
                                                        pct_start=0.15, last_epoch=start * steps_per_epoch - 1)
        print(f"[{name}] resuming after epoch {start}")
    for epoch in range(start, epochs):
        rng = np.random.default_rng(seed * 1000 + epoch)
        bar = tqdm(range(steps_per_epoch), desc=f"{name} {epoch + 1}/{epochs}", unit="step")
        losses = []
        for step in bar:
            loss = batch_fn(rng, step)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        metric = eval_fn()
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "val": metric, "steps": steps_per_epoch,
                        "time": time.time()})
        print(f"[{name}] epoch {epoch + 1}: loss {np.mean(losses):.4f}, val {metric:.4f}", flush=True)
        save_checkpoint(last, model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(), epoch=epoch,
              history=history)
    return history


def _cache_name(kind: str, seed: int, version: int, n: int, extend: float = 0.0, target: str = "fill") -> str:
    """Rendered-data folder name, e.g. train_s9_v2_n6000 (train_s7_n18000_x2.0 with lengthened crops,
    train_s11_v3_n4000_tcentre with centre-line detector targets)."""
    return (f"{kind}_s{seed}{version_tag(version)}_n{n}" + (f"_x{extend}" if extend else "")
            + (f"_t{target}" if target != "fill" else ""))


def _rendered(cache: Path, kind: str, seed: int, version: int, n: int, spec: PreSpec, workers: int,
              extend: float = 0.0, target: str = "fill") -> Path:
    """The rendered-data folder of these photos, rendered first where it is missing or incomplete."""
    folder = cache / _cache_name(kind, seed, version, n, extend, target)
    return build_cache(folder, seed, n, spec, workers, version=version, extend=extend, target_style=target)


def _take(parts: list[dict], key: str, idx: np.ndarray) -> np.ndarray:
    """Rows `idx` (sorted, numbered across the parts in order) of `key`, without concatenating the parts."""
    out, start = [], 0
    for part in parts:
        n = len(part[key])
        sel = idx[(idx >= start) & (idx < start + n)] - start
        if len(sel):
            out.append(part[key][sel])
        start += n
    return np.concatenate(out)


def _det_batches(det: CardDet, parts: list[dict], batch: int, spec: PreSpec, dev, on_device: bool | None = None):
    """(steps per epoch, batch loss function) for detector training on rendered photos: the `parts` together
    (each a loaded cache; kept apart, so mixing data versions costs no copy of several GB).

    On a GPU the photos move to it once and each batch is jittered and normalised there: the same draws and
    arithmetic as the CPU path, which would otherwise keep the GPU waiting on one CPU core. `on_device`: that
    path (None: wherever `dev` is not the CPU)."""
    n = sum(len(p["canvas"]) for p in parts)
    state: dict[str, np.ndarray] = {}
    on_gpu = batches_on_device(dev, on_device)
    if on_gpu:
        canvas = torch.cat([torch.from_numpy(p["canvas"]).to(dev) for p in parts])
        target = torch.cat([torch.from_numpy(p["target"]).to(dev) for p in parts])

    def det_batch(rng, step):
        if step == 0:  # a new epoch: a new shuffle from this epoch's seeded rng
            state["perm"] = rng.permutation(n)
        idx = np.sort(state["perm"][step * batch:(step + 1) * batch])
        if on_gpu:
            i = torch.from_numpy(idx).to(dev)
            x = _det_tensor_torch(_photometric_torch(canvas[i], *_photometric_params(rng, len(idx))), spec)
            t = target[i].float()
        else:
            x = torch.from_numpy(det_tensor(_photometric(_take(parts, "canvas", idx), rng), spec)).to(dev)
            t = torch.from_numpy(_take(parts, "target", idx).astype(np.float32)).to(dev)
        return _det_loss(det(x, raw=True), t)

    return max(1, n // batch), det_batch


def _on_cpu(model: torch.nn.Module) -> dict:
    """The state dict with CPU tensors: a final checkpoint trained on a GPU loads on any machine."""
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _finished(out: Path, name: str, epochs: int, resume: bool, device) -> dict | None:
    """The checkpoint of stage `name` when it has run all `epochs` already: its photos need not be loaded."""
    last = out / f"{name}_last.pt"
    if not (resume and last.exists()):
        return None
    st = torch.load(last, map_location=device, weights_only=False)
    return st if st["epoch"] + 1 >= epochs else None


def _load_init(model: torch.nn.Module, key: str, recipe: CardRecipe, arch_kwargs: Callable[[dict], dict], what: str,
               dev) -> dict:
    """The float checkpoint a recipe names in `key` (det_init, rec_init), loaded into `model` once its network shape
    is checked against the recipe's; returns the checkpoint."""
    path = getattr(recipe, key)
    init = torch.load(repo_path(path), map_location=dev, weights_only=False)
    if arch_kwargs(init["recipe"]) != arch_kwargs(dataclasses.asdict(recipe)):
        raise ValueError(f"{key} {path} is another {what} shape than the recipe's")
    model.load_state_dict(init["model"])
    return init


def _stage(name: str, model: torch.nn.Module, epochs: int, lr: float, seed: int,
           batches: Callable[[], tuple[int, Callable]], out: Path, eval_fn, dev, resume: bool) -> list[dict]:
    """One training stage; `batches()` loads its data and returns (steps per epoch, batch loss function). A
    finished stage only restores its weights: its data is neither rendered nor loaded (a run resumed from its
    checkpoints alone renders only what is left to do)."""
    done = _finished(out, name, epochs, resume, dev)
    if done is not None:
        model.load_state_dict(done["model"])
        print(f"[{name}] resuming after epoch {done['epoch'] + 1}")
        return done.get("history", [])
    return _train_loop(name, model, epochs, *batches(), lr, out, eval_fn, dev, seed, resume)


def _rec_batches(rec: CardRec, train: dict, batch: int, spec: PreSpec, dev, on_device: bool | None = None):
    """(steps per epoch, batch loss function) for recogniser training on field crops `train`."""
    n = len(train["crops"])
    state: dict[str, np.ndarray] = {}
    on_gpu = batches_on_device(dev, on_device)  # as in `_det_batches`
    if on_gpu:
        all_crops = torch.from_numpy(train["crops"]).to(dev)

    def rec_batch(rng, step):
        if step == 0:
            state["perm"] = rng.permutation(n)
        idx = state["perm"][step * batch:(step + 1) * batch]
        # light photometric noise and occasional inversion (light-on-dark vs dark-on-light)
        if on_gpu:
            crops = _photometric_torch(all_crops[torch.from_numpy(idx).to(dev)], *_photometric_params(rng, len(idx)))
            inv = torch.from_numpy(rng.random(len(idx)) < 0.1).to(dev)
            x = _crop_tensor_torch(torch.where(inv[:, None, None], 255 - crops, crops))
        else:
            crops = _photometric(train["crops"][idx][..., None], rng)[..., 0]
            inv = rng.random(len(crops)) < 0.1
            crops[inv] = 255 - crops[inv]
            x = torch.from_numpy(crop_tensor(list(crops))).to(dev)
        targets, lengths = _encode([str(t) for t in train["texts"][idx]], spec.vocab)
        logp = rec(x).permute(1, 0, 2)  # (T, N, C)
        in_len = torch.full((len(idx),), logp.shape[0], dtype=torch.long)
        return F.ctc_loss(logp, targets.to(dev), in_len.to(dev), lengths.to(dev), blank=0, zero_infinity=True)

    return max(1, n // batch), rec_batch


def train_card(recipe: CardRecipe, out: Path, device: str = "auto", resume: bool = True,
               only: str | None = None) -> dict:
    """Train both card models; returns paths and validation history. See module doc.

    Photos are rendered (and loaded) only for the stages that still have to train: `_rendered` is called
    from the lazy batches of each stage (`_stage`), and the validation sets on their first use."""
    if recipe.rec_init and not recipe.rec_ft2_epochs and only in (None, "rec"):  # before any rendering
        raise ValueError("a recipe with rec_init trains no recogniser without a stage 3 (rec_ft2_epochs)")
    if recipe.det_init and not recipe.det_ft3_epochs and only in (None, "det"):
        raise ValueError("a recipe with det_init trains no detector without a stage 4 (det_ft3_epochs)")
    out, dev = start_run(out, recipe.seed, recipe.threads, device)
    spec = PreSpec()
    cache = out / "cache"
    n_rec = recipe.rec_n_train or recipe.n_train
    val = functools.cache(lambda: load_cache(_rendered(cache, "val", recipe.seed + 1, recipe.data_version,
                                                        recipe.n_val, spec, recipe.workers)))
    result: dict = {"recipe": dataclasses.asdict(recipe), "recipe_hash": recipe.digest()}

    if only in (None, "det"):
        torch.manual_seed(recipe.seed)  # each model seeded on its own: `--only det|rec` runs reproduce a full run
        det = CardDet(**det_arch_kwargs(dataclasses.asdict(recipe))).to(dev)

        def target_val(tgt: str) -> Callable[[], dict]:  # the validation photos drawn with targets `tgt`
            if tgt == "fill":
                return val
            return functools.cache(lambda: load_cache(_rendered(cache, "val", recipe.seed + 1, recipe.data_version,
                                                                recipe.n_val, spec, recipe.workers, target=tgt),
                                                      ("canvas", "target")))

        det_val = target_val(recipe.det_target)
        det_eval = lambda: _det_iou(det, det_val()["canvas"], det_val()["target"], spec, dev)

        def on(dirs: Callable[[], list[Path]]) -> Callable[[], tuple[int, Callable]]:  # a stage's lazy batches
            return lambda: _det_batches(det, [load_cache(d, ("canvas", "target")) for d in dirs()], recipe.det_batch,
                                        spec, dev)

        def stage1() -> list[Path]:  # n_train photos of each version, drawn with stage 1's targets
            versions = recipe.det_versions or [recipe.data_version]
            return [_rendered(cache, "train", recipe.seed + 10 * i, v, recipe.n_train, spec, recipe.workers,
                              target=recipe.det_target) for i, v in enumerate(versions)]

        if recipe.det_init:  # stages 1-3 are the checkpoint's
            init = _load_init(det, "det_init", recipe, det_arch_kwargs, "detector", dev)
            r0 = init["recipe"]
            init_target = r0.get("det_ft2_target", "fill") if r0.get("det_ft2_epochs") else r0.get("det_target", "fill")
            if init_target != recipe.det_target:
                raise ValueError(f"det_init {recipe.det_init} learnt {init_target!r} targets, the recipe's stage 1 "
                                 f"{recipe.det_target!r}")
            hist = list(init.get("history", []))
        else:
            hist = _stage("det", det, recipe.det_epochs, recipe.det_lr, recipe.seed, on(stage1), out, det_eval, dev,
                          resume)
        ft_seed = recipe.seed + 2

        def ft_dir(target: str = "fill") -> Path:  # stage 2's photos (drawn with `target`)
            return _rendered(cache, "train", ft_seed, recipe.det_ft_data_version, recipe.det_ft_n_train, spec,
                             recipe.workers, target=target)

        if recipe.det_ft_epochs > 0 and not recipe.det_init:  # stage 2: fine-tuned on the newer data version
            hist = hist + _stage("det_ft", det, recipe.det_ft_epochs, recipe.det_ft_lr, ft_seed,
                                 on(lambda: [ft_dir()]), out, det_eval, dev, resume)
        if recipe.det_ft2_epochs > 0 and not recipe.det_init:  # stage 3: again, on a newer version (v6: embossing)
            tgt = recipe.det_ft2_target
            mix = recipe.det_ft2_mix and recipe.det_ft_epochs > 0
            if tgt == "fill":  # as runs/card10 tried it: stage 2's seeds, drawn as the newer version
                def dirs() -> list[Path]:
                    newer = _rendered(cache, "train", ft_seed, recipe.det_ft2_data_version, recipe.det_ft2_n_train,
                                      spec, recipe.workers)
                    return [ft_dir(), newer] if mix else [newer]
            else:  # new targets: new photos, and stage 2's drawn again with the new targets; validated on them
                def dirs() -> list[Path]:
                    new = _rendered(cache, "train", recipe.seed + 4, recipe.det_ft2_data_version,
                                    recipe.det_ft2_n_train, spec, recipe.workers, target=tgt)
                    return [ft_dir(tgt), new] if mix else [new]
                tval = target_val(tgt)
                det_eval = lambda: _det_iou(det, tval()["canvas"], tval()["target"], spec, dev)
            hist = hist + _stage("det_ft2", det, recipe.det_ft2_epochs, recipe.det_ft2_lr, recipe.seed + 4, on(dirs),
                                 out, det_eval, dev, resume)
        if recipe.det_ft3_epochs > 0:  # stage 4: a newer data version mixed with photos of stage 1's versions
            def ft3_dirs() -> list[Path]:
                versions = recipe.det_versions or [recipe.data_version]
                newer = [_rendered(cache, "train", recipe.seed + 64, recipe.det_ft3_data_version, recipe.det_ft3_n_train,
                                   spec, recipe.workers, target=recipe.det_target)]
                return newer + [_rendered(cache, "train", recipe.seed + 65 + i, v, recipe.det_ft3_mix_n, spec,
                                          recipe.workers, target=recipe.det_target)
                                for i, v in enumerate(versions) if recipe.det_ft3_mix_n]
            hist = hist + _stage("det_ft3", det, recipe.det_ft3_epochs, recipe.det_ft3_lr, recipe.seed + 64,
                                 on(ft3_dirs), out, det_eval, dev, resume)
        last_target = recipe.det_ft2_target if recipe.det_ft2_epochs > 0 and not recipe.det_init else recipe.det_target
        centred = last_target == "centre"
        det_spec = dataclasses.replace(spec, **CENTRE_SPEC) if centred else spec
        save_checkpoint(out / "card_det.pt", model=_on_cpu(det), arch="card_det", recipe=dataclasses.asdict(recipe),
              recipe_hash=recipe.digest("det"), spec=dataclasses.asdict(det_spec), history=hist)
        result["det"] = {"path": str(out / "card_det.pt"), "history": hist}

    if only in (None, "rec"):
        # the same sample seeds as the detector's set, continued: its first n_train photos are the same
        ext = recipe.rec_crop_extend

        @functools.cache
        def train() -> dict:  # stage 1's crops: n_rec photos of each version (rec_versions, else data_version)
            parts = [load_cache(_rendered(cache, "train", recipe.seed + 10 * i, v, n_rec, spec, recipe.workers, ext),
                                ("crops", "texts")) for i, v in enumerate(recipe.rec_versions or [recipe.data_version])]
            return parts[0] if len(parts) == 1 else {k: np.concatenate([p[k] for p in parts]) for k in ("crops", "texts")}

        torch.manual_seed(recipe.seed + 1)
        rec = CardRec(n_classes=len(spec.vocab) + 1, **rec_arch_kwargs(dataclasses.asdict(recipe))).to(dev)
        rec_eval = lambda: _rec_accuracy(rec, val()["crops"], val()["texts"], spec.vocab, dev)
        init: dict = {}
        if recipe.rec_init:  # stages 1 and 2 are the checkpoint's
            init = _load_init(rec, "rec_init", recipe, rec_arch_kwargs, "recogniser", dev)
            hist = list(init.get("history", []))
        else:
            hist = _stage("rec", rec, recipe.rec_epochs, recipe.rec_lr, recipe.seed,
                          lambda: _rec_batches(rec, train(), recipe.rec_batch, spec, dev), out, rec_eval, dev, resume)
        if recipe.rec_ft_epochs > 0 and not recipe.rec_init:  # a second one-cycle at a lower peak
            def ft_train() -> dict:
                if not recipe.rec_ft_n_train:
                    return train()
                # on newer photos: seeds from seed + 2, as the detector's stage 2
                newer = load_cache(_rendered(cache, "train", recipe.seed + 2, recipe.rec_ft_data_version,
                                             recipe.rec_ft_n_train, spec, recipe.workers, ext), ("crops", "texts"))
                return ({k: np.concatenate([train()[k], newer[k]]) for k in ("crops", "texts")}
                        if recipe.rec_ft_mix else newer)
            hist = hist + _stage("rec_ft", rec, recipe.rec_ft_epochs, recipe.rec_ft_lr, recipe.seed + 2,
                                 lambda: _rec_batches(rec, ft_train(), recipe.rec_batch, spec, dev), out, rec_eval,
                                 dev, resume)
        if recipe.rec_ft2_epochs > 0:  # stage 3: newer data versions, mixed with photos of the first
            @functools.cache  # rendered and loaded once, for the BatchNorm statistics and the stage
            def ft2() -> dict:
                parts = [load_cache(_rendered(cache, "train", recipe.seed + 54 + 100 * i, v, recipe.rec_ft2_n_train,
                                              spec, recipe.workers, ext), ("crops", "texts"))
                         for i, v in enumerate(recipe.rec_ft2_versions or [recipe.rec_ft2_data_version])]
                if recipe.rec_ft2_mix_n:
                    parts.append(load_cache(_rendered(cache, "train", recipe.seed + 55, recipe.data_version,
                                                      recipe.rec_ft2_mix_n, spec, recipe.workers, ext), ("crops", "texts")))
                return {k: np.concatenate([p[k] for p in parts]) for k in ("crops", "texts")}

            if init.get("recovered_from"):
                # weights rebuilt from an int8 file (recover.py): its BatchNorms only add a bias, so train mode
                # would start from another function; statistics of 4 batches of stage 3's crops first (a
                # resumed stage then loads its own state over them)
                g = np.random.default_rng(0)
                crops = ft2()["crops"]
                reopen_batchnorm(rec, [torch.from_numpy(crop_tensor(list(crops[g.integers(0, len(crops), 128)]))).to(dev)
                                       for _ in range(4)])
            hist = hist + _stage("rec_ft2", rec, recipe.rec_ft2_epochs, recipe.rec_ft2_lr, recipe.seed + 2,
                                 lambda: _rec_batches(rec, ft2(), recipe.rec_batch, spec, dev), out, rec_eval, dev,
                                 resume)
        save_checkpoint(out / "card_rec.pt", model=_on_cpu(rec), arch="card_rec", recipe=dataclasses.asdict(recipe),
              recipe_hash=recipe.digest("rec"), spec=dataclasses.asdict(spec), history=hist)
        result["rec"] = {"path": str(out / "card_rec.pt"), "history": hist}
    (out / "train_summary.json").write_text(json.dumps(result, indent=2, default=str))
    return result
