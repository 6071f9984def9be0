"""Exceptions with one-line messages that name the input, so the CLI can print them without a traceback."""

from __future__ import annotations

__all__ = ["ImageError", "ModelError", "PocketOCRError"]


class PocketOCRError(Exception):
    """Base class of every error pocketocr raises on purpose."""


class ImageError(PocketOCRError, ValueError):
    """The input could not be read as an image (empty, truncated, not an image, too large, ...)."""


class ModelError(PocketOCRError, RuntimeError):
    """A model file is missing, corrupt, or needs a backend that is not installed."""
