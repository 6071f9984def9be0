"""ONNX -> ORT format for onnxruntime's reduced (mobile) builds, plus `required_operators.config`.

The config lists exactly the operators (and, with type reduction, the types) the shipped models use; an
Android/iOS onnxruntime build made with `--include_ops_by_config required_operators.config` runs these
models and nothing else, which is what makes it small.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

__all__ = ["ORT_TARGET", "convert_to_ort"]

# Mobile targets are ARM: "arm" keeps the graph free of x86-only fused layouts (NCHWc), so the .ort
# file runs the same on a phone as in the test here.
ORT_TARGET = "arm"


def convert_to_ort(onnx_files: list[Path], out: Path, *, target_platform: str = ORT_TARGET) -> dict[str, Path]:
    """Convert ONNX files to `.ort` in `out` and write one `required_operators.config` for all of them.

    Args:
        onnx_files: the models to ship together (their operators are merged into one config).
        out: output folder; files are named like their source with `.ort`.
        target_platform: "arm" (phones) or "amd64".

    Returns:
        {source file name: .ort path, "required_operators.config": config path}.

    >>> convert_to_ort([Path("card_det.int8.onnx")], Path("out"))   # doctest: +SKIP
    """
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pocketocr-ort-") as tmp:
        src, dst = Path(tmp) / "src", Path(tmp) / "dst"
        src.mkdir()
        for f in onnx_files:
            shutil.copyfile(f, src / Path(f).name)
        # Fixed style: the optimised graph is baked in; the runtime needs no graph optimizer.
        convert_onnx_models_to_ort(src, dst, optimization_styles=[OptimizationStyle.Fixed],
                                   target_platform=target_platform, enable_type_reduction=False)
        written: dict[str, Path] = {}
        for f in onnx_files:
            ort_name = Path(f).with_suffix(".ort").name
            made = dst / ort_name
            if not made.exists():
                raise RuntimeError(f"{f}: onnxruntime did not write {ort_name}")
            shutil.copyfile(made, out / ort_name)
            written[Path(f).name] = out / ort_name
        configs = sorted(dst.glob("*.config"))
        if not configs:
            raise RuntimeError("onnxruntime did not write required_operators.config")
        shutil.copyfile(configs[0], out / "required_operators.config")
        written["required_operators.config"] = out / "required_operators.config"
    return written
