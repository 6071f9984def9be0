"""The export formats: one validated table of name, suffix, what writes it and which options it takes.

`pocketocr export CHECKPOINT --to onnx,ort,tflite [--int8]` is checked against this table before any
work starts, so a typo or an option a format does not take fails at once, not after calibration.

>>> [f.name for f in parse_formats("onnx,tflite")]
['onnx', 'tflite']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = ["FORMATS", "Format", "FormatSpec", "parse_formats", "validate_options"]


class Format(str, Enum):
    ONNX = "onnx"
    ORT = "ort"
    TFLITE = "tflite"


@dataclass(frozen=True)
class FormatSpec:
    """One export format.

    Attributes:
        name: what `--to` accepts.
        suffix: the file suffix written (the SDK picks the backend from it).
        writer: the module and function that writes it (documentation; the pipeline calls it).
        options: the options this format accepts.
        needs: formats that must be written first (ORT is converted from the ONNX files).
        runtime: the SDK backend that runs the file.
    """

    name: Format
    suffix: str
    writer: str
    options: frozenset[str]
    needs: tuple[Format, ...]
    runtime: str


FORMATS: dict[Format, FormatSpec] = {
    Format.ONNX: FormatSpec(Format.ONNX, ".onnx", "export.card._export_onnx + export.card._quantize (QDQ)",
                            frozenset({"int8", "calib"}), (), "onnx"),
    Format.ORT: FormatSpec(Format.ORT, ".ort", "export.ort_format.convert_to_ort",
                           frozenset({"int8"}), (Format.ONNX,), "onnx"),
    Format.TFLITE: FormatSpec(Format.TFLITE, ".tflite", "export.tflite.export_tflite (litert-torch, PT2E int8)",
                              frozenset({"int8", "calib"}), (), "tflite"),
}


def parse_formats(text: str | list[str]) -> list[FormatSpec]:
    """Parse `--to` ("onnx,ort,tflite") into specs in dependency order (ONNX before ORT).

    Raises:
        ValueError: an unknown or repeated format name.
    """
    names = [t.strip().lower() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if not names:
        raise ValueError("--to needs at least one format (onnx, ort, tflite)")
    known = {f.value for f in Format}
    bad = [n for n in names if n not in known]
    if bad:
        raise ValueError(f"unknown export format {bad[0]!r} (expected one of {', '.join(sorted(known))})")
    if len(set(names)) != len(names):
        raise ValueError(f"format listed twice in --to: {','.join(names)}")
    wanted = {Format(n) for n in names}
    for f in list(wanted):
        wanted.update(FORMATS[f].needs)  # ORT without ONNX: the ONNX files are written too
    order = [Format.ONNX, Format.ORT, Format.TFLITE]
    return [FORMATS[f] for f in order if f in wanted]


def validate_options(specs: list[FormatSpec], options: dict[str, object]) -> None:
    """Reject options that none of the chosen formats takes (e.g. `calib` without int8).

    Raises:
        ValueError: naming the option and the formats.
    """
    for key, value in options.items():
        if value in (None, False):
            continue
        if not any(key in s.options for s in specs):
            raise ValueError(f"option {key!r} does not apply to {','.join(s.name.value for s in specs)}")
    if options.get("calib") and not options.get("int8"):
        raise ValueError("--calib only applies with --int8 (calibration is for the int8 models)")
