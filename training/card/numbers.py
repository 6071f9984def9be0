"""Sampling of card numbers, groupings, expiry dates and holder names for the synthetic generator."""

from __future__ import annotations

import random

from pocketocr.tasks.card.rules import (
    BRANDS,
    Brand,
    brand_row,
    default_grouping,
    luhn_check_digit,
    luhn_valid,
)

__all__ = ["GENERATOR_BRANDS", "NON_LUHN_RATE", "OTHER_PREFIX_RATE", "other_prefix", "sample_expiry", "sample_grouping",
           "sample_name", "sample_number"]

# Specimen and test cards often print numbers that fail Luhn; the model must read them as printed.
NON_LUHN_RATE = 0.05
# Brand mix, loosely by how often each is seen, with the long-number brands over-weighted so
# 17–19 digit lines are learned too.
_BRAND_WEIGHTS = {"visa": 24, "mastercard": 20, "amex": 9, "discover": 5, "jcb": 6, "unionpay": 14,
                  "diners": 4, "maestro": 7, "mir": 4, "rupay": 3, "troy": 2}
# The brand table the generator draws and labels by: the rows it draws, in BRANDS' order. The SDK's table also
# lists domestic schemes inside some of these ranges (Elo in Discover's 65); looking numbers up here keeps every
# data version's groupings and "brand" labels as they were drawn.
GENERATOR_BRANDS = tuple(b for b in BRANDS if b.name in _BRAND_WEIGHTS)
# Data version 7 gives this share of the numbers other leading digits (`other_prefix`). On paired photos that
# differ only in the first four digits, domestic prefixes (9704, 8600, 9860, ...) were shown wrong 11 times in
# 245 against 4 for the drawn ones, 9 of the 11 by a misread leading digit (docs/export.md, "Domestic schemes"),
# as if the recogniser had learnt which digits a number starts with. Version 7 measured it: v9 reads the same
# cards as well with other leading digits (docs/export.md, "Data version 7"); the version stays as that check.
OTHER_PREFIX_RATE = 0.25
_OTHER_ROWS = tuple(b for b in BRANDS if b.name not in _BRAND_WEIGHTS)  # the SDK's rows the brand mix never draws

_FIRST = ["JAMES", "MARIA", "WEI", "MIN-JUN", "JOSE", "ANNA", "YUKI", "OLIVIA", "AHMED", "SOFIA", "LUCAS",
          "HANA", "DAVID", "EMMA", "CHEN", "PRIYA", "IVAN", "FATIMA", "NOAH", "SEO-YEON", "LI", "THOMAS",
          "AMELIA", "KENJI", "ELENA", "OMAR", "CLARA", "JI-HO", "PAULO", "ZOE", "A", "M", "J R"]
_LAST = ["SMITH", "GARCIA", "WANG", "KIM", "SANCHEZ", "MUELLER", "TANAKA", "ROSSI", "KHAN", "SILVA", "LEE",
         "NGUYEN", "PARK", "JOHNSON", "DUBOIS", "KOWALSKI", "IVANOV", "CHOI", "HERNANDEZ", "OKAFOR",
         "SATO", "COHEN", "JANSEN", "MARTIN", "PATEL", "ZHANG", "LOPEZ", "BROWN", "STEPHENS", "CULLEN"]


def _pick_brand(rng: random.Random) -> Brand:
    names = list(_BRAND_WEIGHTS)
    name = rng.choices(names, weights=[_BRAND_WEIGHTS[n] for n in names])[0]
    return next(b for b in GENERATOR_BRANDS if b.name == name)


def sample_number(rng: random.Random) -> str:
    """A card number with a real IIN prefix and length; Luhn-valid except NON_LUHN_RATE of the time."""
    brand = _pick_brand(rng)
    length = rng.choice(brand.lengths)
    low, high = rng.choice(brand.ranges)
    prefix = str(rng.randint(low, high))
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    if rng.random() < 0.08:  # test numbers such as 4242 4242 ... or 4000 1234 5678 ...: repetitive runs
        pattern = rng.choice(["4242", "1234", "0000", "8888", "1111", "5678"])
        body = (prefix + pattern * 5)[: length - 1]
    number = body + luhn_check_digit(body)
    if rng.random() < NON_LUHN_RATE:
        last = str((int(number[-1]) + rng.randint(1, 9)) % 10)
        number = number[:-1] + last
        assert not luhn_valid(number)
    return number


def other_prefix(rng: random.Random, number: str) -> tuple[str, str]:
    """(`number` with other leading digits and the same length, "domestic" or "other"): half the time the
    prefix of a scheme the brand mix does not draw (Elo, Verve, Napas, UzCard, Humo, Dankort) where one prints
    this length, else any issuer's (4-6 digits, the first 1-9) that the reader's brand table allows at this
    length (a 19-digit number in Mastercard's 51-55 is no card, and the reader withholds it). The check digit is
    redone; a non-Luhn number stays non-Luhn."""
    rows = [b for b in _OTHER_ROWS if len(number) in b.lengths]
    kind = "domestic" if rows and rng.random() < 0.5 else "other"
    while True:
        if kind == "domestic":
            low, high = rng.choice(rng.choice(rows).ranges)
            prefix = str(rng.randint(low, high))
        else:
            prefix = str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(rng.randint(3, 5)))
        body = prefix + number[len(prefix):-1]
        new = body + luhn_check_digit(body)
        row = brand_row(new)
        if row is None or len(new) in row.lengths:
            break
    if not luhn_valid(number):
        new = new[:-1] + str((int(new[-1]) + rng.randint(1, 9)) % 10)
    return new, kind


def sample_grouping(rng: random.Random, number: str) -> tuple[int, ...]:
    """How the number is printed: the brand's grouping, or sometimes ungrouped (one block)."""
    n = len(number)
    if rng.random() < 0.08:
        return (n,)
    brand = brand_row(number, GENERATOR_BRANDS)
    if brand is not None and n in brand.groupings:
        return rng.choice(brand.groupings[n])
    return default_grouping(number)


def sample_expiry(rng: random.Random) -> str:
    return f"{rng.randint(1, 12):02d}/{rng.randint(15, 39):02d}"


def sample_name(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
