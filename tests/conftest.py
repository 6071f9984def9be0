"""Shared fixtures: images synthesised on the fly (no downloads), the shipped models."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "sdk" / "pocketocr" / "examples" / "cards"


def run_cli(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the real `pocketocr` command line in a subprocess."""
    return subprocess.run([sys.executable, "-m", "pocketocr.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=ROOT, check=False)


@pytest.fixture(scope="session")
def example_images() -> list[Path]:
    return sorted((EXAMPLES / "images").glob("*.jpg"))


@pytest.fixture
def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(0).random((60, 90, 3)) * 255).astype(np.uint8)).save(buf, "JPEG")
    return buf.getvalue()
