"""Where the synthetic-data generators find font files: Debian's font folder, the folders named in
POCKETOCR_FONT_DIRS (os.pathsep-separated), for machines whose fonts are not installed there (a lent GPU machine
gets them carried beside the code), and matplotlib's bundled fonts (DejaVu, STIX, Computer Modern)."""

from __future__ import annotations

import functools
import glob
import os

__all__ = ["FONT_ROOTS", "font_index"]

FONT_ROOTS = ["/usr/share/fonts", *filter(None, os.environ.get("POCKETOCR_FONT_DIRS", "").split(os.pathsep))]


@functools.lru_cache(maxsize=1)
def font_index() -> dict[str, str]:
    """File name -> path of every font found; the first folder that has a name wins, matplotlib's last."""
    found: dict[str, str] = {}
    for root in FONT_ROOTS:
        for path in glob.glob(os.path.join(root, "**", "*.[ot]t[fc]"), recursive=True):
            found.setdefault(os.path.basename(path), path)
    try:  # optional
        import matplotlib

        for path in glob.glob(os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "*.ttf")):
            found.setdefault(os.path.basename(path), path)
    except ImportError:
        pass
    return found
