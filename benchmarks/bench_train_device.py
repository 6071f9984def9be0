"""Training-step time by device: CPU against CUDA (where present), in one process, for the networks that
`pocketocr train` fits, at the shipped recipes' batch sizes.

    python benchmarks/bench_train_device.py [--steps 15] [--threads T] [--json]

Each row is one optimiser step (forward, the trainer's own loss, backward, gradient clipping, AdamW) on
random pixels and targets of the real shapes: this times the network and not the data pipeline, which
renders on the CPU whatever the device. Medians of `--steps` timed steps after 3 warm-ups; CUDA steps are
timed to `torch.cuda.synchronize()`. The "epoch" column scales the median by the recipe's steps per epoch.
No assertion on time: this is a report.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F
from pocketocr.tasks.card.pre import PreSpec as CardSpec
from pocketocr.tasks.card.pre import crop_tensor
from pocketocr.tasks.card.pre import det_tensor as card_det_tensor
from pocketocr.tasks.formula.pre import PreSpec as FormulaSpec
from pocketocr.tasks.formula.pre import det_tensor as formula_det_tensor
from pocketocr.training.card.models import CardDet, CardRec, det_arch_kwargs, rec_arch_kwargs
from pocketocr.training.card.train import RECIPE_PATH as CARD_RECIPE
from pocketocr.training.card.train import _det_loss
from pocketocr.training.card.train import load_recipe as load_card_recipe
from pocketocr.training.formula.models import FormulaDet
from pocketocr.training.formula.train import RECIPE_PATH as FORMULA_RECIPE
from pocketocr.training.formula.train import det_loss as formula_det_loss
from pocketocr.training.formula.train import load_recipe as load_formula_recipe


def _cases(rng: np.random.Generator):
    """(name, batch, steps per epoch, model factory, step-input factory, loss) per network."""
    # the committed recipes (load_recipe() alone gives the code's defaults, which have drifted from them)
    cs, card, fr = CardSpec(), load_card_recipe(CARD_RECIPE), load_formula_recipe(FORMULA_RECIPE)
    s, cells = cs.det_size, cs.det_size // cs.det_stride

    def card_det_inputs(dev):
        x = card_det_tensor(rng.integers(0, 256, (card.det_batch, s, s, 3), dtype=np.uint8), cs)
        t = np.zeros((card.det_batch, 5, cells, cells), np.float32)
        t[:, 0:2, 30:40, 10:80] = 1.0
        t[:, 2:3], t[:, 3] = 1.0, 1.0
        return torch.from_numpy(x).to(dev), torch.from_numpy(t).to(dev)

    def card_rec_inputs(dev):
        crops = rng.integers(0, 256, (card.rec_batch, cs.rec_height, cs.rec_width), dtype=np.uint8)
        lengths = torch.from_numpy(rng.integers(4, 20, card.rec_batch))
        targets = torch.from_numpy(rng.integers(1, len(cs.vocab) + 1, int(lengths.sum())))
        return torch.from_numpy(crop_tensor(list(crops))).to(dev), targets, lengths

    def rec_loss(model, inputs):
        x, targets, lengths = inputs
        logp = model(x).permute(1, 0, 2)
        in_len = torch.full((x.shape[0],), logp.shape[0], dtype=torch.long)
        return F.ctc_loss(logp, targets, in_len, lengths, blank=0, zero_infinity=True)

    def formula_inputs(dev):
        c = fr.crop
        x = formula_det_tensor(rng.integers(0, 256, (fr.batch, c, c), dtype=np.uint8), FormulaSpec())
        t = np.zeros((fr.batch, 6, c // 4, c // 4), np.float32)
        t[:, 0:2, 20:30, 10:60] = 1.0
        t[:, 2:6] = np.log(8.0)
        return torch.from_numpy(x).to(dev), torch.from_numpy(t).to(dev)

    def formula_loss(model, inputs):
        logits, box = model(inputs[0], raw=True)
        return formula_det_loss(logits, box, inputs[1])[0]

    card_steps = card.n_train * max(1, len(card.det_versions)) // card.det_batch  # stage 1's photos
    return [
        (f"card detector, width {card.det_width:g}", card.det_batch, card_steps,
         lambda: CardDet(**det_arch_kwargs(vars(card))), card_det_inputs,
         lambda m, i: _det_loss(m(i[0], raw=True), i[1])),
        ("card recogniser", card.rec_batch, None,  # its epoch length depends on the crops rendered
         lambda: CardRec(n_classes=len(cs.vocab) + 1, **rec_arch_kwargs(vars(card))), card_rec_inputs, rec_loss),
        ("formula detector, width 1 (v2)", fr.batch, fr.steps_per_epoch, lambda: FormulaDet(1.0), formula_inputs,
         formula_loss),
        ("formula detector, width 2", fr.batch, fr.steps_per_epoch, lambda: FormulaDet(2.0), formula_inputs,
         formula_loss),
    ]


def _time_steps(model, inputs, loss_fn, dev: torch.device, steps: int) -> float:
    """Median milliseconds of one optimiser step, after 3 warm-ups."""
    model = model.to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for k in range(steps + 3):
        t0 = time.perf_counter()
        loss = loss_fn(model, inputs)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if k >= 3:
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=15, help="timed steps per network and device")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (the recipes train with 1-2)")
    ap.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    gpu = torch.cuda.get_device_name(0) if len(devices) > 1 else None
    rows = []
    for name, batch, per_epoch, factory, make_inputs, loss_fn in _cases(np.random.default_rng(0)):
        row = {"network": name, "batch": batch, "steps_per_epoch": per_epoch}
        for dev in devices:
            torch.manual_seed(0)
            row[f"{dev.type}_ms"] = round(_time_steps(factory(), make_inputs(dev), loss_fn, dev, args.steps), 2)
        if "cuda_ms" in row:
            row["speedup"] = round(row["cpu_ms"] / row["cuda_ms"], 1)
        rows.append(row)
    if args.json:
        print(json.dumps({"cpu_threads": args.threads, "gpu": gpu, "rows": rows}))
        return 0
    print(f"one training step, median of {args.steps}; CPU {args.threads} thread(s); GPU: {gpu or 'none'}")
    print(f"{'network':32} {'batch':>5} {'CPU ms':>9} {'GPU ms':>8} {'speed-up':>8} {'CPU epoch':>10} {'GPU epoch':>10}")
    for r in rows:
        n = r["steps_per_epoch"]
        cpu_ep = f"{n * r['cpu_ms'] / 60000:.1f} min" if n else "-"
        gpu_ep = f"{n * r['cuda_ms'] / 60000:.2f} min" if n and "cuda_ms" in r else "-"
        print(f"{r['network']:32} {r['batch']:>5} {r['cpu_ms']:>9.1f} {r.get('cuda_ms', float('nan')):>8.2f} "
              f"{r.get('speedup', float('nan')):>8.1f} {cpu_ep:>10} {gpu_ep:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
