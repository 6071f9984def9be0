"""Model requirements: a TOML file per model that CI checks before a release (`pocketocr check FILE`).

The file says what the model must do; `check` measures it here (offline evaluation + model-only
benchmark) and returns one row per requirement, naming the file line of each. See docs/requirements.md.

```toml
[model]
task = "card"            # card | formula
path = "shipped"         # "shipped", a folder, "det.onnx,rec.onnx" (card) or a file (formula); relative to this file
backend = "onnx"         # onnx | tflite
[latency]
p95_ms = 60              # one thread, model-only, per image
[accuracy]
dataset = "synthetic"                    # or a labelled folder, relative to this file
synthetic = {n = 100, seed = 4242}       # "synthetic" (or a missing folder): rendered into the cache ([train]);
                                         # optional version = card data version (default 1)
min = {number_exact = 0.95}
max = {digit_cer = 0.02}
[memory]
max_model_mb = 2
max_rss_mb = 600
[throughput]
qps = 20                 # with `concurrency` workers (default 1)
[serving]
target = "android-arm64" # android-arm64 | ios-arm64 | browser-wasm | cpu-x86_64 | server-gpu
```

>>> req = load_requirements(Path("requirements/card.toml"))     # doctest: +SKIP
>>> all(r.passed for r in check(req).rows)                      # doctest: +SKIP
True
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from .errors import ModelError, PocketOCRError

__all__ = [
    "END_TO_END_NOTE",
    "CheckReport",
    "CheckRow",
    "Requirements",
    "RequirementsError",
    "ServingTarget",
    "check",
    "load_requirements",
]

END_TO_END_NOTE = "end-to-end latency: from online logs: see pocketocr report online"


class RequirementsError(PocketOCRError, ValueError):
    """The requirements file is malformed (unknown key, wrong type, bad value)."""


class ServingTarget(str, Enum):
    ANDROID_ARM64 = "android-arm64"
    IOS_ARM64 = "ios-arm64"
    BROWSER_WASM = "browser-wasm"
    CPU_X86_64 = "cpu-x86_64"
    SERVER_GPU = "server-gpu"


# Which model formats each target can run (onnxruntime-web has no TFLite; phones run both).
_TARGET_FORMATS = {
    ServingTarget.ANDROID_ARM64: {"onnx", "ort", "tflite"},
    ServingTarget.IOS_ARM64: {"onnx", "ort", "tflite"},
    ServingTarget.BROWSER_WASM: {"onnx", "ort"},
    ServingTarget.CPU_X86_64: {"onnx", "ort", "tflite"},
    ServingTarget.SERVER_GPU: {"onnx"},
}

# section -> key -> allowed python types. Unknown keys are rejected (a typo must not pass silently).
_SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "model": {"task": (str,), "path": (str,), "backend": (str,)},
    "latency": {"p95_ms": (int, float)},
    "accuracy": {"dataset": (str,), "synthetic": (dict,), "min": (dict,), "max": (dict,)},
    "memory": {"max_model_mb": (int, float), "max_rss_mb": (int, float)},
    "throughput": {"qps": (int, float), "concurrency": (int,)},
    "serving": {"target": (str,)},
}


@dataclass(frozen=True)
class Requirements:
    file: Path
    task: str
    model_path: str                       # "shipped" or a path / "det,rec" as written (resolved at check time)
    backend: str
    p95_ms: float | None
    dataset: Path | None
    synthetic: dict[str, int] | None
    min_metrics: dict[str, float]
    max_metrics: dict[str, float]
    max_model_mb: float | None
    max_rss_mb: float | None
    qps: float | None
    concurrency: int
    target: ServingTarget | None
    lines: dict[str, int]                 # "latency.p95_ms" -> line number in the file


@dataclass(frozen=True)
class CheckRow:
    key: str                              # "latency.p95_ms", "accuracy.min.number_exact", ...
    line: int | None                      # where the requirement is written
    required: str                         # "<= 60 ms"
    measured: str                         # "23.4 ms"
    passed: bool
    note: str = ""

    def where(self, file: Path) -> str:
        return f"{file}:{self.line}" if self.line else str(file)


@dataclass(frozen=True)
class CheckReport:
    file: str
    task: str
    models: list[str]
    cpu: str
    rows: list[CheckRow]
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows)

    def failed(self) -> list[CheckRow]:
        return [r for r in self.rows if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passed"] = self.passed
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def _load_toml(text: str) -> dict:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(text)


def _line_numbers(text: str) -> dict[str, int]:
    """'section.key' (and 'section.key.sub' for inline tables) -> 1-based line number."""
    out: dict[str, int] = {}
    section = ""
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        m = re.match(r"^\[([A-Za-z0-9_.\-]+)\]$", line)
        if m:
            section = m.group(1)
            out.setdefault(section, i)
            continue
        m = re.match(r"^([A-Za-z0-9_\-]+)\s*=\s*(.*)$", line)
        if m:
            key = f"{section}.{m.group(1)}" if section else m.group(1)
            out.setdefault(key, i)
            if m.group(2).startswith("{"):
                for sub in re.findall(r"([A-Za-z0-9_.\-]+)\s*=", m.group(2)):
                    out.setdefault(f"{key}.{sub}", i)
    return out


def load_requirements(path: Path) -> Requirements:
    """Parse and validate a requirements TOML.

    Raises:
        RequirementsError: unreadable file, unknown section or key, wrong type or value.
    """
    path = Path(path)
    try:
        text = path.read_text()
        data = _load_toml(text)
    except OSError as exc:
        raise RequirementsError(f"{path}: cannot read ({exc.strerror})") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise RequirementsError(f"{path}: not valid TOML ({exc})") from None
    lines = _line_numbers(text)
    for section, body in data.items():
        if section not in _SCHEMA:
            raise RequirementsError(f"{path}:{lines.get(section, '?')}: unknown section [{section}] "
                                    f"(expected {', '.join(_SCHEMA)})")
        if not isinstance(body, dict):
            raise RequirementsError(f"{path}: {section} must be a [section]")
        for key, value in body.items():
            where = f"{path}:{lines.get(f'{section}.{key}', '?')}"
            if key not in _SCHEMA[section]:
                raise RequirementsError(f"{where}: unknown key {section}.{key} "
                                        f"(expected {', '.join(_SCHEMA[section])})")
            types = _SCHEMA[section][key]
            if not isinstance(value, types) or isinstance(value, bool):
                raise RequirementsError(f"{where}: {section}.{key} must be "
                                        f"{' or '.join(t.__name__ for t in types)}, not {value!r}")
    model = data.get("model", {})
    task = model.get("task")
    if task not in ("card", "formula"):
        raise RequirementsError(f"{path}: [model] task must be 'card' or 'formula', not {task!r}")
    backend = model.get("backend", "onnx")
    if backend not in ("onnx", "tflite"):
        raise RequirementsError(f"{path}:{lines.get('model.backend', '?')}: [model] backend must be 'onnx' or "
                                f"'tflite', not {backend!r}")
    acc = data.get("accuracy", {})
    for kind in ("min", "max"):
        for name, value in acc.get(kind, {}).items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise RequirementsError(f"{path}:{lines.get(f'accuracy.{kind}', '?')}: accuracy.{kind}.{name} "
                                        f"must be a number")
    if (acc.get("min") or acc.get("max")) and "dataset" not in acc:
        raise RequirementsError(f"{path}: [accuracy] min/max need a dataset folder")
    synthetic = acc.get("synthetic")
    if synthetic is not None and (set(synthetic) - {"n", "seed", "version"}
                                  or not all(isinstance(v, int) for v in synthetic.values())):
        raise RequirementsError(f"{path}:{lines.get('accuracy.synthetic', '?')}: accuracy.synthetic takes "
                                f"integers n, seed and (optional) version")
    target = data.get("serving", {}).get("target")
    try:
        target_enum = ServingTarget(target) if target is not None else None
    except ValueError:
        raise RequirementsError(f"{path}:{lines.get('serving.target', '?')}: serving.target must be one of "
                                f"{', '.join(t.value for t in ServingTarget)}, not {target!r}") from None
    thr = data.get("throughput", {})
    if thr.get("concurrency", 1) < 1:
        raise RequirementsError(f"{path}: throughput.concurrency must be >= 1")
    dataset = acc.get("dataset")
    if dataset == "synthetic" and not synthetic:
        raise RequirementsError(f"{path}:{lines.get('accuracy.dataset', '?')}: dataset = \"synthetic\" needs "
                                "`synthetic = {n = ..., seed = ...}`")
    return Requirements(
        file=path, task=task, model_path=model.get("path", "shipped"), backend=backend,
        p95_ms=data.get("latency", {}).get("p95_ms"),
        dataset=(Path("synthetic") if dataset == "synthetic" else path.parent / dataset) if dataset else None,
        synthetic=synthetic,
        min_metrics=dict(acc.get("min", {})), max_metrics=dict(acc.get("max", {})),
        max_model_mb=data.get("memory", {}).get("max_model_mb"), max_rss_mb=data.get("memory", {}).get("max_rss_mb"),
        qps=thr.get("qps"), concurrency=thr.get("concurrency", 1), target=target_enum, lines=lines)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pocketocr" / "datasets"


def _resolve_dataset(req: Requirements) -> tuple[Path, str]:
    """The dataset folder; generated into the cache when missing and `synthetic` says how."""
    assert req.dataset is not None
    if req.dataset != Path("synthetic") and any((req.dataset / f).exists() for f in ("labels.jsonl", "annotations.jsonl")):
        return req.dataset, str(req.dataset)
    if not req.synthetic:
        how = ("add `synthetic = {n = ..., seed = ...}` to generate one" if req.task == "card" else
               "the formula trainer writes its validation sets: `pocketocr train formula`")
        raise PocketOCRError(f"{req.file}: dataset folder {req.dataset} is missing ({how})")
    n, seed = int(req.synthetic.get("n", 100)), int(req.synthetic.get("seed", 4242))
    version = int(req.synthetic.get("version", 1))  # the card generator's data version (1: before versions)
    out = _cache_dir() / (f"{req.task}_s{seed}_n{n}" + ("" if version == 1 else f"_v{version}"))
    if (out / "labels.jsonl").exists():
        return out, f"{out} (synthetic n={n} seed={seed} v{version}, cached)"
    if req.task != "card":
        raise PocketOCRError(f"{req.file}: dataset folder {req.dataset} is missing (synthetic formula pages need a "
                             "rendered formula bank: write one with the formula trainer and point `dataset` at it)")
    try:
        from .training.card.synth import write_dataset
    except ImportError:
        raise PocketOCRError(f"{req.file}: dataset folder {req.dataset} is missing and generating a synthetic one "
                             "needs the [train] extra") from None
    tmp = out.with_name(out.name + ".tmp")
    write_dataset(tmp, n, seed, progress=False, version=version)
    if out.exists():  # another check finished first
        return out, f"{out} (synthetic n={n} seed={seed} v{version})"
    tmp.rename(out)
    return out, f"{out} (synthetic n={n} seed={seed} v{version}, generated)"


def _model_arg(req: Requirements) -> str | None:
    """None for the shipped model; else the path(s) resolved relative to the requirements file."""
    if req.model_path in ("", "shipped", "default"):
        return None
    parts = [p.strip() for p in req.model_path.split(",")]
    resolved = [str(p if Path(p).is_absolute() else (req.file.parent / p)) for p in parts]
    return ",".join(resolved)


def _lookup(report: dict, name: str) -> Any:
    """A metric as named in `pocketocr eval --json`: top-level ('number_exact'), dotted for nested
    ('latency_ms.p95', 'slices.scene.flat.number_exact')."""
    if name in report:
        return report[name]
    node: Any = report
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _evaluate(req: Requirements, dataset: Path, model: str | None) -> dict:
    if req.task == "card":
        from .bench import card_pair
        from .eval.card import evaluate_cards
        from .tasks.card.predictor import CardReader

        det, rec = card_pair(model) if model else (None, None)
        reader = CardReader(det, rec, backend=req.backend, threads=1)
        rep = evaluate_cards(reader.read, dataset, progress=False, model_version=reader.model_version)
    else:
        try:
            from .eval.formula import evaluate_formulas  # type: ignore[import-not-found]
            from .tasks.formula.predictor import FormulaDetector  # type: ignore[import-not-found]
        except ImportError:
            raise ModelError("the formula detector is not part of this installation yet") from None
        det = FormulaDetector(model, backend=req.backend, threads=1)
        rep = evaluate_formulas(det.detect, dataset, progress=False, model_version=det.model_version)
    rep.pop("samples", None)
    return rep


def check(req: Requirements, *, images: int = 20, repeats: int = 3) -> CheckReport:
    """Measure everything the requirements name and compare.

    Args:
        req: from `load_requirements`.
        images: benchmark images (latency, throughput).
        repeats: benchmark passes over them.

    Returns:
        CheckReport; `.passed` is True only when every row passes.

    Raises:
        ModelError: the model is missing (e.g. the formula model before it ships).
        PocketOCRError: the dataset is missing and cannot be generated.
    """
    from .bench import bench, peak_rss_mb

    model = _model_arg(req)
    line = req.lines.get
    rows: list[CheckRow] = []
    notes = []
    try:
        result = bench(req.task, backend=req.backend, threads=1, concurrency=req.concurrency, images=images,
                       repeats=repeats, model=model)
    except ModelError as exc:
        raise ModelError(f"{req.file}:{line('model', '?')}: [model] {exc}") from None
    if req.dataset is not None:
        dataset, source = _resolve_dataset(req)
        notes.append(f"accuracy dataset: {source}")
        rep = _evaluate(req, dataset, model)
        for kind, table, ok in (("min", req.min_metrics, lambda v, t: v >= t),
                                ("max", req.max_metrics, lambda v, t: v <= t)):
            for name, limit in table.items():
                value = _lookup(rep, name)
                key = f"accuracy.{kind}.{name}"
                measured = "missing" if not isinstance(value, (int, float)) else f"{value:.4f}"
                passed = isinstance(value, (int, float)) and ok(float(value), float(limit))
                note = "" if isinstance(value, (int, float)) else f"no metric {name!r} in `pocketocr eval --json`"
                rows.append(CheckRow(key, line(key) or line(f"accuracy.{kind}"),
                                     f"{'>=' if kind == 'min' else '<='} {limit}", measured, passed, note))
    lat = result.latency_ms["1"]
    if req.p95_ms is not None:
        rows.append(CheckRow("latency.p95_ms", line("latency.p95_ms"), f"<= {req.p95_ms} ms",
                             f"{lat['p95']:.2f} ms", lat["p95"] <= req.p95_ms,
                             "one thread, model-only (offline)"))
    if req.max_model_mb is not None:
        rows.append(CheckRow("memory.max_model_mb", line("memory.max_model_mb"), f"<= {req.max_model_mb} MB",
                             f"{result.model_mb:.3f} MB", result.model_mb <= req.max_model_mb))
    if req.max_rss_mb is not None:
        rss = peak_rss_mb()
        rows.append(CheckRow("memory.max_rss_mb", line("memory.max_rss_mb"), f"<= {req.max_rss_mb} MB",
                             f"{rss:.0f} MB", rss <= req.max_rss_mb, "peak RSS of the check process"))
    if req.qps is not None:
        q = result.throughput["qps"]
        rows.append(CheckRow("throughput.qps", line("throughput.qps"), f">= {req.qps} QPS",
                             f"{q:.1f} QPS", q >= req.qps, f"{req.concurrency} worker(s), 1 thread each"))
    if req.target is not None:
        fmt = Path(result.models[0]).suffix.lstrip(".") if result.models else req.backend
        ok = fmt in _TARGET_FORMATS[req.target]
        rows.append(CheckRow("serving.target", line("serving.target"), f"runs on {req.target.value}",
                             f"{fmt} model", ok,
                             f"measured on {result.cpu}" + ("" if req.target is ServingTarget.CPU_X86_64
                                                            else f", not on {req.target.value}")))
    notes.append("latency here is model-only (offline, this machine); " + END_TO_END_NOTE)
    return CheckReport(str(req.file), req.task, result.models, result.cpu, rows, notes)
