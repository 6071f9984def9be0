"""Payment-card domain rules: Luhn, brands (IIN ranges and lengths), groupings and expiry parsing.

Shared by the decoder (to choose among candidates) and by the training generator (to make numbers),
so the two can never disagree about what a valid number looks like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BRANDS",
    "Brand",
    "brand_of",
    "brand_row",
    "default_grouping",
    "luhn_check_digit",
    "luhn_valid",
    "mask_number",
    "parse_expiry",
    "plausible_length",
    "plausible_number",
    "printed_grouping",
]


@dataclass(frozen=True)
class Brand:
    name: str
    # IIN prefixes as inclusive (low, high) ranges of equal digit count.
    ranges: tuple[tuple[int, int], ...]
    lengths: tuple[int, ...]
    # Printed groupings seen on cards of this brand, keyed by length.
    groupings: dict[int, tuple[tuple[int, ...], ...]]


def _g(*gs: str) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(x) for x in g.split("-")) for g in gs)


# Ordered most specific first: brand_of() returns the first whose prefix matches. Domestic schemes (Elo, Verve,
# Napas, UzCard, Humo, Dankort) are listed so that their lengths hold too: with an unknown brand any 13-19 digits
# pass, and a misread that drops or adds a digit is shown instead of withheld (docs/export.md, "Domestic schemes").
BRANDS: tuple[Brand, ...] = (
    Brand("amex", ((34, 34), (37, 37)), (15,), {15: _g("4-6-5")}),
    # Elo (Brazil): its ranges outside Visa's 4, ahead of Discover's 65 and UnionPay's 62 that hold them
    Brand("elo", ((504175, 504175), (506699, 506778), (509000, 509999), (627780, 627780), (636297, 636297),
                  (636368, 636368), (650031, 650033), (650035, 650051), (650405, 650439), (650485, 650538),
                  (650541, 650598), (650700, 650718), (650720, 650727), (650901, 650978), (651652, 651679),
                  (655000, 655019), (655021, 655058)), (16,), {16: _g("4-4-4-4")}),
    Brand("verve", ((506099, 506198), (507865, 507964), (650002, 650027)), (16, 18, 19),
          {16: _g("4-4-4-4"), 18: _g("4-4-4-6"), 19: _g("4-4-4-4-3")}),
    Brand("diners", ((300, 305), (36, 36), (38, 39)), (14, 16), {14: _g("4-6-4"), 16: _g("4-4-4-4")}),
    Brand("jcb", ((3528, 3589),), (16, 19), {16: _g("4-4-4-4"), 19: _g("4-4-4-4-3")}),
    Brand("discover", ((6011, 6011), (644, 649), (65, 65)), (16, 19), {16: _g("4-4-4-4"), 19: _g("4-4-4-4-3")}),
    Brand("unionpay", ((62, 62), (81, 81)), (16, 17, 18, 19),
          {16: _g("4-4-4-4"), 17: _g("4-4-4-5", "6-11"), 18: _g("6-12", "4-4-4-6"), 19: _g("4-4-4-4-3", "6-13")}),
    Brand("mastercard", ((51, 55), (2221, 2720)), (16,), {16: _g("4-4-4-4")}),
    Brand("maestro", ((5018, 5018), (5020, 5020), (5038, 5038), (5893, 5893), (6304, 6304), (6759, 6759),
                      (6761, 6763)), (16, 18, 19), {16: _g("4-4-4-4"), 18: _g("4-4-4-6"), 19: _g("4-4-4-4-3")}),
    Brand("mir", ((2200, 2204),), (16, 19), {16: _g("4-4-4-4"), 19: _g("4-4-4-4-3")}),
    Brand("rupay", ((60, 60), (652, 652)), (16,), {16: _g("4-4-4-4")}),
    Brand("troy", ((9792, 9792),), (16,), {16: _g("4-4-4-4")}),
    Brand("napas", ((9704, 9704),), (16, 19), {16: _g("4-4-4-4"), 19: _g("4-4-4-4-3")}),
    Brand("uzcard", ((8600, 8600),), (16,), {16: _g("4-4-4-4")}),
    Brand("humo", ((9860, 9860),), (16,), {16: _g("4-4-4-4")}),
    Brand("dankort", ((5019, 5019),), (16,), {16: _g("4-4-4-4")}),
    Brand("visa", ((4, 4),), (13, 16, 19), {13: _g("4-3-3-3"), 16: _g("4-4-4-4"), 19: _g("4-4-4-4-3")}),
)

_EXPIRY_RE = re.compile(r"^(\d{2})/(\d{2})$")


def luhn_valid(number: str) -> bool:
    """True when `number` (digits only) passes the Luhn check.

    >>> luhn_valid("4111111111111111")
    True
    """
    if not number.isdigit() or len(number) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_check_digit(body: str) -> str:
    """The digit that makes `body + digit` Luhn-valid."""
    for d in "0123456789":
        if luhn_valid(body + d):
            return d
    raise AssertionError("unreachable")


def brand_row(number: str, table: tuple[Brand, ...] = BRANDS) -> Brand | None:
    """The first row of `table` (default BRANDS) whose IIN prefix matches `number`."""
    for brand in table:
        for low, high in brand.ranges:
            width = len(str(low))
            if len(number) >= width and low <= int(number[:width]) <= high:
                return brand
    return None


def brand_of(number: str) -> str | None:
    """The brand whose IIN prefix matches `number`, or None."""
    brand = brand_row(number)
    return brand.name if brand else None


def plausible_length(number: str) -> bool:
    """True when the length fits the number's brand (any 13–19 when the brand is unknown)."""
    brand = brand_row(number)
    return len(number) in brand.lengths if brand else 13 <= len(number) <= 19


def plausible_number(number: str) -> bool:
    """A length that fits the brand (`plausible_length`) and a first digit other than 0: ISO/IEC 7812 gives
    major industry identifier 0 to no card issuer, and a leading 0 read off a card is a misread (most often
    the number with its first digit lost and a stray 0 in front)."""
    return number[:1] != "0" and plausible_length(number)


def printed_grouping(number: str, groups: tuple[int, ...]) -> bool:
    """True when `groups` (digits per printed group, in reading order) is a grouping the number's brand prints at
    its length, e.g. (4, 4, 4, 6) for an 18-digit Maestro number; False for an unknown brand."""
    brand = brand_row(number)
    return brand is not None and groups in brand.groupings.get(len(number), ())


def default_grouping(number: str) -> tuple[int, ...]:
    """The usual printed grouping for a number, e.g. (4, 6, 5) for Amex."""
    brand = brand_row(number)
    if brand is not None and len(number) in brand.groupings:
        return brand.groupings[len(number)][0]
    n = len(number)
    groups = [4] * (n // 4)
    if n % 4:
        groups.append(n % 4)
    return tuple(groups)


def parse_expiry(text: str) -> str | None:
    """Normalise a recognised expiry to "MM/YY", or None when it is not a valid month.

    >>> parse_expiry("09/27"), parse_expiry("13/27"), parse_expiry("0927")
    ('09/27', None, '09/27')
    """
    t = text.strip()
    if len(t) == 4 and t.isdigit():
        t = t[:2] + "/" + t[2:]
    m = _EXPIRY_RE.match(t)
    if not m or not 1 <= int(m.group(1)) <= 12:
        return None
    return t


def mask_number(number: str | None) -> str | None:
    """PCI-style mask: first 6 and last 4 digits at most, the rest as '*'.

    >>> mask_number("4111111111111111")
    '411111******1111'
    """
    if number is None:
        return None
    digits = "".join(ch for ch in number if ch.isdigit())
    if len(digits) <= 10:
        return "*" * len(digits)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
