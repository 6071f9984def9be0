"""Fixtures for the formula tests: a small formula bank (needs matplotlib, the [train] extra)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def small_bank():
    pytest.importorskip("matplotlib")
    from pocketocr.training.formula.bank import build_bank

    return build_bank(seed=0, n_inline=60, n_display=30)
