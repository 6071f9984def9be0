"""Model-only benchmark through the public code path (`CardReader.read`, `FormulaDetector.detect`).

Measures, on the machine it runs on (and says which CPU that is): model load time, latency p50/p95/p99
per image with one thread and with N threads, throughput (QPS) with C concurrent workers (one reader
each, as separate serving instances would be), peak RSS and the model files' size. Offline numbers:
end-to-end latency on devices comes from the online logs (`pocketocr report online`).

>>> r = bench("card", images=20)                   # doctest: +SKIP
>>> r.latency_ms["1"]["p95"]                        # doctest: +SKIP
12.3
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ModelError, PocketOCRError

__all__ = [
    "BenchResult",
    "bench",
    "bench_images",
    "card_pair",
    "cpu_name",
    "current_rss_mb",
    "load_predictor",
    "peak_rss_mb",
    "take_turns",
]

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"


@dataclass(frozen=True)
class BenchResult:
    """What `bench` measured. Times in ms, sizes in MB (10^6 bytes)."""

    task: str
    backend: str
    models: list[str]
    model_mb: float
    cpu: str
    images: int
    image_source: str
    load_ms: float
    latency_ms: dict[str, dict[str, float]]   # threads ("1", "N") -> {p50, p95, p99, mean}
    throughput: dict[str, float]              # {"concurrency", "qps", "seconds", "requests"}
    peak_rss_mb: float
    rss_after_load_mb: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def cpu_name() -> str:
    """The CPU model and the cores this process may use, e.g. 'AMD EPYC 7B13 (2 cores, x86_64)'."""
    name = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    name = name or platform.processor() or "unknown CPU"
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    return f"{name} ({cores} cores, {platform.machine()})"


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak * (1 if platform.system() == "Darwin" else 1024) / 1e6, 1)


def current_rss_mb() -> float:
    """Resident memory now, MB (Linux /proc; falls back to the peak elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 1e6, 1)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def card_pair(spec: str | Path) -> tuple[Path, Path]:
    """A card candidate -> (detector, recogniser) files.

    Accepts a folder holding one `card_det*` and one `card_rec*` model of the same format (with an
    int8 and an fp32 of the same format, int8 is taken), or "det_file,rec_file".

    Raises:
        ModelError: nothing or something ambiguous found.
    """
    s = str(spec)
    if "," in s:
        det, rec = (Path(p.strip()) for p in s.split(",", 1))
        for p in (det, rec):
            if not p.is_file():
                raise ModelError(f"{p}: model file not found")
        return det, rec
    folder = Path(s)
    if not folder.is_dir():
        raise ModelError(f"{folder}: not a folder with card_det*/card_rec* models, nor 'det,rec' files")
    for suffix in (".onnx", ".tflite", ".ort"):
        for prec in ("int8", "fp32", ""):
            tail = f"*{prec}*{suffix}" if prec else f"*{suffix}"
            det = sorted(folder.glob(f"card_det{tail}"))
            rec = sorted(folder.glob(f"card_rec{tail}"))
            if len(det) == 1 and len(rec) == 1:
                return det[0], rec[0]
            if len(det) > 1 or len(rec) > 1:
                continue
    raise ModelError(f"{folder}: no unambiguous card_det*/card_rec* model pair "
                     "(name the files: --model det.onnx,rec.onnx)")


def load_predictor(task: str, *, backend: str = "onnx", threads: int | None = None,
                   model: str | Path | None = None) -> tuple[Callable[[Any], Any], list[Path]]:
    """The public predictor for `task` as a one-image function, and the model files it loaded."""
    if task == "card":
        from .tasks.card.predictor import CardReader

        det, rec = card_pair(model) if model else (None, None)
        reader = CardReader(det, rec, backend=backend, threads=threads)
        return reader.read, [reader.det.path, reader.rec.path]
    if task == "formula":
        try:
            from .tasks.formula.predictor import FormulaDetector  # type: ignore[import-not-found]
        except ImportError:
            raise ModelError("the formula detector is not part of this installation yet "
                             "(pocketocr.tasks.formula.predictor is missing)") from None
        detector = FormulaDetector(det_model=model, backend=backend, threads=threads)
        path = getattr(getattr(detector, "det", None), "path", None) or model
        return detector.detect, [Path(path)] if path else []
    raise ModelError(f"unknown task {task!r} (expected 'card' or 'formula')")


def bench_images(task: str, n: int, seed: int = 20_261_126) -> tuple[list[Any], str]:
    """`n` images for `task`: synthetic ones from the generator when [train] is installed (formula: pages
    drawn from a small formula bank, a few seconds to render), else the bundled examples (cycled).
    Returns the images (PIL) and where they came from."""
    try:
        if task == "card":
            from .training.card.synth import make_sample

            # data version pinned: the benchmark's images stay the same as the generator grows
            return [make_sample(seed * 1_000_003 + i, version=2).image for i in range(n)], f"synthetic (seed {seed}, v2)"
        if task == "formula":
            from .training.formula.bank import build_bank
            from .training.formula.synth import make_page

            bank = build_bank(seed=seed, n_inline=120, n_display=60)
            pages = [make_page(seed * 1_000_003 + i, bank).image for i in range(min(n, 8))]
            return [pages[i % len(pages)] for i in range(n)], f"synthetic pages (seed {seed}, {len(pages)} cycled)"
    except ImportError:  # no [train] extra (matplotlib, fonts): the bundled examples
        pass
    from .io import load_image

    folder = EXAMPLES_DIR / ("cards" if task == "card" else "formulas")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp"))
    if not files:
        raise PocketOCRError(f"no benchmark images: install the [train] extra for synthetic ones, "
                             f"or put example images in {folder}")
    imgs = [load_image(files[i % len(files)]) for i in range(n)]
    return imgs, f"bundled examples ({len(files)} files in {folder})"


@dataclass(frozen=True)
class TurnStats:
    """One contender of `take_turns`: median and p95 ms, the ratio of its median to the baseline's, and the
    share of inputs where its output equals the baseline's."""

    median: float
    p95: float
    vs_base: float
    same_as_base: float


def take_turns(contenders: dict[str, Callable[[Any], Any]], inputs: list[Any], repeats: int,
               key: Callable[[Any], Any] = lambda out: out) -> dict[str, TurnStats]:
    """Time each contender on each input, taking turns input by input so that machine noise hits them all
    alike; the first contender is the baseline. `key` picks what of an output to compare (e.g. the number)."""
    for fn in contenders.values():
        fn(inputs[0])  # warm-up: first run allocates
    times: dict[str, list[float]] = {k: [] for k in contenders}
    outs: dict[str, list[Any]] = {k: [] for k in contenders}
    for _ in range(repeats):
        for x in inputs:
            for name, fn in contenders.items():
                t = time.perf_counter()
                out = fn(x)
                times[name].append((time.perf_counter() - t) * 1000)
                outs[name].append(key(out))
    base = next(iter(contenders))
    med0 = statistics.median(times[base])
    stats = {}
    for name, ts in times.items():
        ts = sorted(ts)
        med = statistics.median(ts)
        same = sum(a == b for a, b in zip(outs[name], outs[base])) / len(outs[base])
        stats[name] = TurnStats(med, ts[min(len(ts) - 1, round(0.95 * (len(ts) - 1)))], med / med0, same)
    return stats


def _percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"p50": round(float(np.percentile(a, 50)), 3), "p95": round(float(np.percentile(a, 95)), 3),
            "p99": round(float(np.percentile(a, 99)), 3), "mean": round(float(a.mean()), 3)}


def _latency(fn: Callable[[Any], Any], images: list[Any], repeats: int) -> list[float]:
    fn(images[0])  # warm-up: first run allocates
    ms = []
    for _ in range(repeats):
        for img in images:
            t = time.perf_counter()
            fn(img)
            ms.append((time.perf_counter() - t) * 1000)
    return ms


def _throughput(make: Callable[[], Callable[[Any], Any]], images: list[Any], concurrency: int,
                requests: int) -> dict[str, float]:
    """`concurrency` workers, each with its own predictor, share `requests` reads."""
    workers = [make() for _ in range(concurrency)]
    for w in workers:
        w(images[0])
    lock = threading.Lock()
    counter = [0]
    errors: list[BaseException] = []

    def work(fn):
        while True:
            with lock:
                i = counter[0]
                counter[0] += 1
            if i >= requests:
                return
            try:
                fn(images[i % len(images)])
            except Exception as exc:  # noqa: BLE001 - any failure in a worker thread is surfaced after join
                errors.append(exc)
                return

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    sec = time.perf_counter() - t
    if errors:
        raise errors[0]
    return {"concurrency": concurrency, "qps": round(requests / sec, 3), "seconds": round(sec, 3),
            "requests": requests}


def bench(task: str = "card", *, backend: str = "onnx", threads: int | None = None, concurrency: int = 1,
          images: int = 20, repeats: int = 3, model: str | Path | None = None,
          image_list: list[Any] | None = None) -> BenchResult:
    """Benchmark the public predictor of `task`.

    Args:
        task: "card" or "formula".
        backend: "onnx" or "tflite" (ignored when `model` names files: the suffix decides).
        threads: the N of the N-thread latency (default: cores available); 1-thread latency is always measured.
        concurrency: concurrent workers for the throughput run.
        images: distinct images (synthetic with [train], else bundled examples).
        repeats: passes over the images per latency run.
        model: card: a folder or "det,rec" (see `card_pair`); formula: the detector file. Default: shipped.
        image_list: use these images instead (PIL / arrays / paths).

    Returns:
        BenchResult.

    Raises:
        ModelError: the model or the task's predictor is missing.
    """
    if concurrency < 1 or images < 1 or repeats < 1:
        raise ValueError("concurrency, images and repeats must be >= 1")
    n_threads = threads or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    rss0 = current_rss_mb()
    t = time.perf_counter()
    fn1, files = load_predictor(task, backend=backend, threads=1, model=model)
    load_ms = round((time.perf_counter() - t) * 1000, 3)
    rss_load = current_rss_mb()
    if image_list is not None:
        imgs, source = list(image_list), "given"
    else:
        imgs, source = bench_images(task, images)
    latency = {"1": _percentiles(_latency(fn1, imgs, repeats))}
    notes = []
    if n_threads > 1:
        fnn, _ = load_predictor(task, backend=backend, threads=n_threads, model=model)
        latency[str(n_threads)] = _percentiles(_latency(fnn, imgs, repeats))
        del fnn
    tp = _throughput(lambda: load_predictor(task, backend=backend, threads=1, model=model)[0], imgs,
                     concurrency, max(len(imgs) * repeats, 4 * concurrency))
    if files and files[0].suffix == ".tflite" and any(".int8." in f.name for f in files):
        notes.append("TFLite int8 runs with XNNPACK; on x86 this is a proxy for ARM, not a phone measurement")
    notes.append("model-only offline latency; end-to-end latency: from online logs: see pocketocr report online")
    size = sum(Path(f).stat().st_size for f in files if Path(f).exists())
    return BenchResult(task=task, backend=files[0].suffix.lstrip(".") if files else backend,
                       models=[str(f) for f in files], model_mb=round(size / 1e6, 3), cpu=cpu_name(),
                       images=len(imgs), image_source=source, load_ms=load_ms, latency_ms=latency, throughput=tp,
                       peak_rss_mb=peak_rss_mb(), rss_after_load_mb=round(rss_load - rss0, 1), notes=notes)
