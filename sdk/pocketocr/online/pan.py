"""Mask full payment-card numbers (PANs) hidden in free text, before anything is stored or logged.

Clients send only masked numbers, but the collector defends itself: any run of 13–19 digits that passes
Luhn, with spaces or dashes between the digits, has its middle digits replaced by ``*``, keeping at most
the first 6 and the last 4 (PCI DSS display rule, as `mask_number`).

Every 13–19 digit window of a run that passes Luhn is masked, so a PAN followed by more digits
("4111 1111 1111 1111 09 27") is still caught. The price is false positives: about one in ten 13-digit
numbers and most long ones lose some middle digits. A run of more than `MAX_RUN` digits is masked
whole, which bounds the work an absurd input can cause.

The collector applies this to every string of an event except `event_id` and `session_id` (stored as
sent; the schema refuses ids that could hold a number) and the base64 of a consented image.
"""

from __future__ import annotations

import re
from typing import Any

from pocketocr.tasks.card.rules import luhn_valid

__all__ = ["MAX_RUN", "has_pan", "scrub_json", "scrub_text"]

# Digits, with up to 3 separators (spaces, no-break spaces, hyphens and dashes) between two digits.
_SEPARATORS = " \t\u00a0\u2007\u202f\\-\u2010\u2011\u2012\u2013\u2014\u2212"
_RUN_RE = re.compile(rf"\d(?:[{_SEPARATORS}]{{0,3}}\d)*")
_MIN_PAN, _MAX_PAN = 13, 19
_KEEP_HEAD, _KEEP_TAIL = 6, 4
# Longer digit runs are masked entirely instead of window by window (7 Luhn checks per digit otherwise).
MAX_RUN = 64


def _masked_positions(digits: str) -> set[int]:
    """Indices into `digits` to replace by '*': the middle of every Luhn-valid 13–19 digit window."""
    n = len(digits)
    if n > MAX_RUN:
        return set(range(n))
    out: set[int] = set()
    for length in range(_MIN_PAN, min(_MAX_PAN, n) + 1):
        for start in range(n - length + 1):
            if luhn_valid(digits[start:start + length]):
                out.update(range(start + _KEEP_HEAD, start + length - _KEEP_TAIL))
    return out


def _scrub_run(run: str) -> tuple[str, bool]:
    positions = [i for i, ch in enumerate(run) if ch.isdecimal()]
    if len(positions) < _MIN_PAN:
        return run, False
    # int() of a Unicode digit (e.g. full-width '４') is its value, so those are PANs too.
    digits = "".join(str(int(run[i])) for i in positions)
    masked = _masked_positions(digits)
    if not masked:
        return run, False
    chars = list(run)
    for k in masked:
        chars[positions[k]] = "*"
    return "".join(chars), True


def scrub_text(text: str) -> tuple[str, int]:
    """Mask every full card number in `text`.

    Args:
        text: any string.

    Returns:
        The text with the middle digits of each Luhn-valid 13–19 digit run replaced by ``*``, and the
        number of runs masked.

    >>> scrub_text("my card 4111 1111 1111 1111, exp 09/27")
    ('my card 4111 11** **** 1111, exp 09/27', 1)
    >>> scrub_text("order 4111111111111113")  # no 13–19 digit window passes Luhn: left alone
    ('order 4111111111111113', 0)
    """
    count = 0

    def _sub(m: re.Match[str]) -> str:
        nonlocal count
        out, hit = _scrub_run(m.group(0))
        count += hit
        return out

    if not any(ch.isdigit() for ch in text):
        return text, 0
    return _RUN_RE.sub(_sub, text), count


def scrub_json(value: Any) -> tuple[Any, int]:
    """`scrub_text` applied to every string, dictionary keys included, of a decoded JSON value.

    Args:
        value: what `json.loads` returns (dict, list, str, int, float, bool or None).

    Returns:
        A scrubbed copy and the number of card numbers masked.

    >>> scrub_json({"text": "4111-1111-1111-1111", "n": 3})
    ({'text': '4111-11**-****-1111', 'n': 3}, 1)
    """
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, list):
        total = 0
        items = []
        for item in value:
            item, n = scrub_json(item)
            items.append(item)
            total += n
        return items, total
    if isinstance(value, dict):
        total = 0
        out = {}
        for key, item in value.items():
            key, nk = scrub_text(key) if isinstance(key, str) else (key, 0)
            item, ni = scrub_json(item)
            out[key] = item
            total += nk + ni
        return out, total
    return value, 0


def has_pan(text: str) -> bool:
    """True when `text` holds a full card number that `scrub_text` would mask.

    >>> has_pan("411111******1111"), has_pan("4111111111111111")
    (False, True)
    """
    return scrub_text(text)[1] > 0
