"""pocketocr.online.pan: full card numbers are masked wherever they hide; other digits are left alone."""

from __future__ import annotations

import random
import re

import pytest
from pocketocr.online.pan import MAX_RUN, has_pan, scrub_json, scrub_text
from pocketocr.tasks.card.rules import luhn_valid, mask_number

# Published test numbers of several brands and lengths (all Luhn-valid).
TEST_PANS = ["4111111111111111", "5555555555554444", "378282246310005", "30569309025904",
             "6011111111111117", "3530111333300000", "4222222222222", "6212345678901265", "4000000000000000006"]


def _luhn_windows(text: str) -> list[str]:
    """Every 13–19 digit window of every digit run (spaces/dashes allowed) that passes Luhn."""
    found = []
    for run in re.findall(r"\d(?:[ \-]{0,3}\d)*", text):
        digits = re.sub(r"\D", "", run)
        for length in range(13, 20):
            for i in range(len(digits) - length + 1):
                if luhn_valid(digits[i:i + length]):
                    found.append(digits[i:i + length])
    return found


@pytest.mark.parametrize("pan", TEST_PANS)
def test_a_bare_pan_becomes_its_pci_mask(pan: str) -> None:
    assert luhn_valid(pan)
    out, n = scrub_text(pan)
    assert (out, n) == (mask_number(pan), 1)


@pytest.mark.parametrize("sep", [" ", "-", " - ", "\u00a0", "\u2013"])
def test_separated_pans_are_masked(sep: str) -> None:
    text = f"my card is {sep.join(['4111', '1111', '1111', '1111'])}, please fix"
    out, n = scrub_text(text)
    assert n == 1
    assert "4111111111111111" not in re.sub(r"\D", "", out)
    assert out.startswith("my card is 4111") and out.endswith("1111, please fix")
    assert _luhn_windows(out) == []


def test_a_pan_followed_by_more_digits_is_still_masked() -> None:
    # the run has 20 digits (PAN + expiry), so it is searched window by window
    out, n = scrub_text("card 4111 1111 1111 1111 09 27 thanks")
    assert n == 1 and "1111 1111 1111" not in out
    assert "4111111111111111" not in re.sub(r"\D", "", out)


def test_non_pans_are_left_alone() -> None:
    for text in ["4111111111111113", "order 123456789012", "call +1 415 555 2671", "2025-03-01T10:00:00Z",
                 "411111******1111", "version 1.2.3", "09/27", ""]:
        assert scrub_text(text) == (text, 0), text


def test_full_width_digits_count() -> None:
    out, n = scrub_text("４１１１１１１１１１１１１１１１")
    assert n == 1 and out.count("*") == 6


def test_absurdly_long_runs_are_masked_whole() -> None:
    out, n = scrub_text("7" * (MAX_RUN + 1))
    assert n == 1 and set(out) == {"*"}


def test_scrubbed_text_holds_no_pan_and_scrubbing_is_idempotent() -> None:
    rng = random.Random(5)
    for _ in range(300):
        parts = []
        for _ in range(rng.randint(1, 6)):
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 24)))
            if rng.random() < 0.3:
                digits = rng.choice(TEST_PANS)
            parts.append(digits)
            parts.append(rng.choice([" ", "-", " x ", ", ", "--", "/"]))
        text = "".join(parts)
        out, _ = scrub_text(text)
        assert _luhn_windows(out) == [], (text, out)
        assert not has_pan(out)
        assert scrub_text(out) == (out, 0)


def test_scrub_json_walks_keys_values_and_lists() -> None:
    value = {"text": "4111-1111-1111-1111", "n": 4111111111111111, "list": ["5555555555554444", 3, None],
             "4111111111111111": {"ok": True}}
    out, n = scrub_json(value)
    assert n == 3
    assert out["text"] == "4111-11**-****-1111"
    assert out["n"] == 4111111111111111  # numbers are not text: the schema bounds every number instead
    assert out["list"] == ["555555******4444", 3, None]
    assert "411111******1111" in out
