"""The one `pocketocr` command. Each subcommand is a module with `add_parser(sub)` and `run(args) -> int`.

Subcommand modules import only the standard library at module level; heavy imports (torch, FastAPI,
onnx) happen inside `run`, so `pocketocr card` never pays for them and works without the extras.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .. import __version__

__all__ = ["COMMANDS", "main"]

# (command name, module under pocketocr.cli, one-line help). One explicit list, no discovery magic.
COMMANDS: list[tuple[str, str, str]] = [
    ("card", "card", "read card numbers and expiry dates from images"),
    ("formula", "formula", "detect math-formula regions in page photos"),
    ("models", "models", "list the shipped models"),
    ("eval", "eval", "offline evaluation on a labelled dataset"),
    ("train", "train", "train a model from synthetic data (needs the [train] extra)"),
    ("synth", "synth", "write synthetic datasets and sample grids (needs the [train] extra)"),
    ("export", "export", "export a checkpoint to ONNX (fp32/int8) with a model card (needs [export])"),
    ("bench", "bench", "benchmark a model: load time, latency percentiles, QPS, peak RSS, size"),
    ("check", "check", "check a model against a requirements TOML (CI release gate)"),
    ("plan", "plan", "capacity planner: devices needed for a target QPS"),
    ("compare", "compare", "compare candidate models on one dataset, with a disagreement gallery"),
    ("serve", "serve", "run the online-evaluation event collector (needs the [server] extra)"),
    ("report", "report", "online reports: correction rate, VoC, offline-online gap (needs [server])"),
    ("export-feedback", "export_feedback", "write consented formula sessions as a labelled dataset"),
    ("demo", "demo", "the Android demo: replay a dataset through the web app"),
]


def _build() -> tuple[argparse.ArgumentParser, dict[str, object]]:
    parser = argparse.ArgumentParser(prog="pocketocr", description="On-device OCR for payment cards and formulas.")
    parser.add_argument("--version", action="version", version=f"pocketocr {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules: dict[str, object] = {}
    for name, module, help_ in COMMANDS:
        try:
            mod = importlib.import_module(f"pocketocr.cli.{module}")
        except ModuleNotFoundError as exc:  # a subcommand whose module is not there yet / not installed
            if exc.name and exc.name.startswith("pocketocr.cli"):
                continue
            raise
        p = mod.add_parser(sub)  # type: ignore[attr-defined]
        p.description = p.description or help_
        modules[name] = mod
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = _build()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(modules[args.command].run(args) or 0)  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
