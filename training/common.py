"""Plumbing shared by the card and formula trainers: recipes, devices, checkpoints, rendered shards."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import tomllib
import torch

__all__ = ["TorchBackend", "batches_on_device", "load_recipe_file", "load_shards", "pick_device", "render_shards", "repo_path", "save_checkpoint", "shard_jobs", "start_run"]

R = TypeVar("R")


class TorchBackend:
    """A PyTorch model behind the SDK's `Backend` interface, so a checkpoint is scored by the very same reader or
    detector code as its exported files (the export's parity gate, the formula trainer's page check)."""

    def __init__(self, module: torch.nn.Module, in_name: str, meta: dict[str, str], device="cpu"):
        self.module, self._in, self._meta, self.device = module.eval(), in_name, meta, device
        self.path = Path("<checkpoint>")

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        with torch.no_grad():
            y = self.module(torch.from_numpy(next(iter(feeds.values()))).to(self.device))
        return [t.cpu().numpy() for t in y] if isinstance(y, tuple) else [y.cpu().numpy()]

    def metadata(self) -> dict[str, str]:
        return self._meta

    def input_names(self) -> list[str]:
        return [self._in]

    def input_shape(self) -> list[int | None]:
        return [None, None, None, None]


def load_recipe_file(cls: type[R], path: Path | None, overrides: dict[str, Any]) -> R:
    """defaults < recipe file < overrides; unknown keys are an error, not silently ignored."""
    values: dict = {}
    if path is not None:
        with open(path, "rb") as f:
            values.update(tomllib.load(f))
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown recipe keys {unknown}; known: {sorted(known)}")
    return cls(**values)


def repo_path(path: str) -> Path:
    """A recipe's path (an `init` checkpoint): absolute as given, else from the repository root."""
    p = Path(path)
    return p if p.is_absolute() else Path(__file__).resolve().parents[1] / p


def pick_device(name: str) -> torch.device:
    """`auto` (a CUDA GPU where there is one, else the CPU), `cpu`, `cuda` or `cuda:N`. A device torch does not know,
    or a GPU this machine lacks, is a ValueError naming it, before any data is rendered."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise ValueError(f"unknown device {name!r}: use auto, cpu or cuda") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r}: no CUDA GPU is available on this machine; use --device auto or cpu")
    return dev


def batches_on_device(dev, on_device: bool | None) -> bool:
    """Whether a trainer cuts, jitters and normalises its batches on the device: `on_device`, or by default wherever
    `dev` is not the CPU (there the CPU would keep the GPU waiting)."""
    return torch.device(dev).type != "cpu" if on_device is None else on_device


def start_run(out: Path, seed: int, threads: int, device: str) -> tuple[Path, torch.device]:
    """What every training command does first: the run folder, the torch seed and threads, the device."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    return out, pick_device(device)


def save_checkpoint(path: Path, **state) -> None:
    """Write through a temporary file so an interrupted save never leaves a broken checkpoint."""
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def shard_jobs(out: Path, seed: int, n: int, shard_size: int) -> list[tuple[Path, list[int]]]:
    """(shard path, sample seeds) for the shards of `out` not written yet: an interrupted build resumes."""
    jobs = []
    for k, start in enumerate(range(0, n, shard_size)):
        path = out / f"shard_{k:04d}.npz"
        if not path.exists():
            jobs.append((path, [seed * 1_000_003 + i for i in range(start, min(n, start + shard_size))]))
    return jobs


def render_shards(jobs: list[tuple[Path, list[int]]], worker: Callable[[Any], dict], args: list, workers: int,
                  desc: str, unit: str, progress: bool = True) -> None:
    """Run `worker(arg)` for each job in a process pool and store its arrays as the job's npz shard."""
    if not jobs:
        return
    from tqdm import tqdm

    bar = tqdm(total=sum(len(s) for _, s in jobs), desc=desc, unit=unit, disable=not progress)
    with mp.get_context("fork").Pool(workers) as pool:
        for (path, seeds), arrays in zip(jobs, pool.imap(worker, args)):
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, **arrays)
            tmp.rename(path)
            bar.update(len(seeds))
    bar.close()


def load_shards(path: Path, keys: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Concatenate the shards' arrays; `keys` loads only those (npz members are read lazily)."""
    shards = sorted(Path(path).glob("shard_*.npz"))
    if not shards:
        raise FileNotFoundError(f"no shards in {path}")
    parts = []
    for s in shards:
        with np.load(s) as z:
            parts.append({k: z[k] for k in (keys or z.files)})
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
