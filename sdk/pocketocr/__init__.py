"""pocketocr: on-device OCR for payment cards (number, expiry) and math-formula regions.

>>> import pocketocr
>>> result = pocketocr.read_card("card.jpg")          # doctest: +SKIP
>>> result.number, result.expiry                      # doctest: +SKIP
('4111111111111111', '09/27')
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "CardReader",
    "CardResult",
    "Formula",
    "FormulaDetector",
    "FormulaResult",
    "ImageError",
    "ModelError",
    "PocketOCRError",
    "__version__",
    "detect_formulas",
    "read_card",
]


def __getattr__(name: str):
    # Lazy so `import pocketocr` stays cheap (no onnxruntime import until a model is used).
    if name in ("read_card", "CardReader"):
        from .tasks.card import predictor

        return getattr(predictor, name)
    if name == "CardResult":
        from .results import CardResult

        return CardResult
    if name in ("PocketOCRError", "ImageError", "ModelError"):
        from . import errors

        return getattr(errors, name)
    if name in ("detect_formulas", "FormulaDetector"):
        from .tasks.formula import predictor as formula_predictor

        return getattr(formula_predictor, name)
    if name in ("Formula", "FormulaResult"):
        from . import results

        return getattr(results, name)
    raise AttributeError(f"module 'pocketocr' has no attribute {name!r}")
