"""Where the synthetic-data generators look for font files: Debian's font folder, plus the folders named in
POCKETOCR_FONT_DIRS (os.pathsep-separated), for machines whose fonts are not installed there (a lent GPU
machine gets them carried beside the code)."""

from __future__ import annotations

import os

__all__ = ["FONT_ROOTS"]

FONT_ROOTS = ["/usr/share/fonts", *filter(None, os.environ.get("POCKETOCR_FONT_DIRS", "").split(os.pathsep))]
