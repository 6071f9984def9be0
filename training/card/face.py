"""Render the face of a payment card: artwork, chip, logos, number, expiry, distractors, holder name.

Coordinates are card pixels on a 856x540 canvas (85.6 x 54 mm at 10 px/mm), or 540x856 for vertical
cards. Every text field returns its quad (tl, tr, br, bl) so the scene can warp it with the card.
"""

from __future__ import annotations

import colorsys
import math
import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from .fonts import font_files, load_font, pick_font
from .numbers import sample_name

__all__ = ["CARD_H", "CARD_W", "CardFace", "render_face"]

CARD_W, CARD_H = 856, 540
Quad = list[tuple[float, float]]

_BANKS_LATIN = ["NORTHWIND BANK", "Banco Solar", "FIRST CAPITAL", "Credit Mutuel", "Sparkasse", "ALPINE",
                "bank of the coast", "MetroPay", "Nordea", "Summit Credit Union", "PLATINUM", "Rewards",
                "World Elite", "DEBIT", "Business", "Signature", "Infinite", "GOLD", "CLASSIC", "cashback+"]
_BANKS_HANGUL = ["한빛은행", "우리카드", "새마을금고", "하나 체크카드", "신한 플래티넘", "국민 포인트", "카카오뱅크"]
_BANKS_CJK = ["招商银行", "中国银行", "建设银行", "交通银行", "銀聯", "三井住友カード", "楽天カード", "信用卡"]
_BRAND_WORDS = ["VISA", "mastercard", "AMERICAN EXPRESS", "DISCOVER", "JCB", "UnionPay", "银联", "Maestro",
                "MIR", "RuPay", "Diners Club"]
_EXPIRY_LABELS = ["VALID\nTHRU", "GOOD\nTHRU", "VALID THRU", "EXP", "EXPIRES", "EXPIRES END", "MONTH/YEAR",
                  "EXP DATE", "유효기간", "有效期", "VALID\nDATES", "", "", "THRU"]
_FROM_LABELS = ["VALID\nFROM", "VALID FROM", "MEMBER\nSINCE", "MEMBER SINCE", "FROM", "SINCE"]
_HOLDER_LABELS = ["CARD HOLDER", "CARDHOLDER NAME", "NAME", "Card Holder", "MEMBER", "예금주", "持卡人"]
# Where the expiry goes (data version 2): under the number from the left third (the only place in
# version 1), at the right end under the number, or on the holder-name row at the right, with its label
# above it (the common "CARD HOLDER ... EXPIRES" layout that version 1 never drew: real cards missed it).
_EXPIRY_PLACES = (["below", "right", "name_row"], [5, 2, 3])


@dataclass
class CardFace:
    image: Image.Image                  # RGBA, transparent outside the rounded corners
    number_quads: list[Quad]            # one quad per printed line of the number
    number_lines: list[str]             # the digits printed on each of those lines
    expiry_quad: Quad | None
    style: str                          # "embossed" | "flat"
    layout: str
    extra: dict = field(default_factory=dict)


def _rand_color(rng: random.Random, light: bool | None = None) -> tuple[int, int, int]:
    h = rng.random()
    s = rng.uniform(0.0, 0.9)
    v = rng.uniform(0.05, 0.45) if light is False else rng.uniform(0.65, 1.0) if light else rng.random()
    r, g, b = colorsys.hsv_to_rgb(h, s, v)
    return int(r * 255), int(g * 255), int(b * 255)


def _luma(c: tuple[int, int, int]) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _background(rng: random.Random, w: int, h: int) -> Image.Image:
    """Card artwork: gradients, patterns or busy artwork."""
    kind = rng.choices(["solid", "linear", "radial", "stripes", "waves", "blobs", "poly", "noise"],
                       weights=[1, 4, 2, 1.5, 1.5, 3, 2, 1])[0]
    c1, c2 = _rand_color(rng), _rand_color(rng)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "solid":
        arr = np.broadcast_to(np.array(c1, np.float32), (h, w, 3)).copy()
    elif kind in ("linear", "stripes", "waves", "noise"):
        ang = rng.uniform(0, 2 * math.pi)
        t = (xx * math.cos(ang) + yy * math.sin(ang))
        t = (t - t.min()) / (np.ptp(t) + 1e-6)
        if kind == "stripes":
            t = 0.5 + 0.5 * np.sign(np.sin(t * rng.uniform(10, 60))) * rng.uniform(0.1, 0.5)
        elif kind == "waves":
            t = 0.5 + 0.5 * np.sin(t * rng.uniform(5, 30) + np.sin(yy / rng.uniform(20, 80)) * 2)
        elif kind == "noise":
            n = np.random.default_rng(rng.randrange(1 << 30)).random((h // 8 + 1, w // 8 + 1)).astype(np.float32)
            t = np.asarray(Image.fromarray((n * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC),
                           np.float32) / 255
        arr = np.asarray(c1, np.float32) * (1 - t[..., None]) + np.asarray(c2, np.float32) * t[..., None]
    else:
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        t = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2) / math.hypot(w, h)
        arr = np.asarray(c1, np.float32) * (1 - t[..., None]) + np.asarray(c2, np.float32) * t[..., None]
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    if kind in ("blobs", "poly"):
        d = ImageDraw.Draw(img, "RGBA")
        for _ in range(rng.randint(4, 25)):
            col = _rand_color(rng) + (rng.randint(40, 200),)
            if kind == "blobs":
                x, y, r = rng.uniform(-100, w), rng.uniform(-100, h), rng.uniform(20, 300)
                d.ellipse([x - r, y - r * rng.uniform(0.3, 1), x + r, y + r], fill=col)
            else:
                pts = [(rng.uniform(-200, w + 200), rng.uniform(-200, h + 200)) for _ in range(3)]
                d.polygon(pts, fill=col)
        img = img.filter(ImageFilter.GaussianBlur(rng.choice([0, 0, 2, 6, 15])))
    return img


def _draw_chip(rng: random.Random, img: Image.Image, x: float, y: float, s: float) -> None:
    d = ImageDraw.Draw(img)
    gold = rng.random() < 0.6
    base = (rng.randint(190, 230), rng.randint(160, 190), rng.randint(80, 120)) if gold else \
        (rng.randint(180, 215),) * 3
    w, h = 110 * s, 85 * s
    d.rounded_rectangle([x, y, x + w, y + h], radius=14 * s, fill=base, outline=tuple(c - 60 for c in base),
                        width=max(1, int(2 * s)))
    line = tuple(c - 70 for c in base)
    for fy in (0.33, 0.66):
        d.line([x, y + h * fy, x + w * 0.35, y + h * fy], fill=line, width=max(1, int(2 * s)))
        d.line([x + w * 0.65, y + h * fy, x + w, y + h * fy], fill=line, width=max(1, int(2 * s)))
    d.rectangle([x + w * 0.35, y + h * 0.2, x + w * 0.65, y + h * 0.8], outline=line, width=max(1, int(2 * s)))


def _draw_logo(rng: random.Random, img: Image.Image, x: float, y: float, avoid: list[Quad] | None = None,
               plain: bool = False, version: int = 1) -> None:
    """A brand mark at (x, y): two circles, a brand word or a hologram. With `avoid` (data version 4 on) a
    mark that would touch one of those quads is left out, as the chip is: real cards print no logo under
    their number or expiry. Versions 1-3 drew one touching a field on 73 of 600 faces (bounding boxes), often
    over the digits in a colour close to theirs."""
    d = ImageDraw.Draw(img, "RGBA")
    kind = rng.random()
    if kind < 0.35:  # two overlapping circles
        r = rng.uniform(28, 45)
        if _touches((x, y, x + 3.25 * r, y + 2 * r), avoid):
            return
        d.ellipse([x, y, x + 2 * r, y + 2 * r], fill=(235, 0, 27, 255))
        d.ellipse([x + 1.25 * r, y, x + 3.25 * r, y + 2 * r], fill=(247, 158, 27, 220))
    elif kind < 0.8:
        font, _ = pick_font(rng, ["sans", "serif"], rng.randint(30, 60), plain)
        col = (255, 255, 255) if rng.random() < 0.5 else _rand_color(rng)
        word = rng.choice(_BRAND_WORDS)
        font = _script_font(word, font, version)
        if _touches(d.textbbox((x, y), word, font=font), avoid):
            return
        d.text((x, y), word, font=font, fill=col)
    else:  # hologram: iridescent rounded patch
        w, h = rng.uniform(60, 110), rng.uniform(40, 70)
        if _touches((x, y, x + w, y + h), avoid):
            return
        patch = Image.new("RGBA", (int(w), int(h)))
        pa = np.zeros((int(h), int(w), 4), np.uint8)
        xs = np.linspace(0, 1, int(w))[None, :] + np.linspace(0, 0.5, int(h))[:, None]
        for i in range(3):
            pa[..., i] = (127 + 120 * np.sin(xs * 12 + i * 2.1)).astype(np.uint8)
        pa[..., 3] = 200
        patch = Image.fromarray(pa, "RGBA")
        img.paste(patch, (int(x), int(y)), patch)


def _text_mask(text: str, font: ImageFont.FreeTypeFont, tracking: float) -> tuple[Image.Image, tuple[float, ...]]:
    """Render `text` into an L mask with extra letter spacing; returns mask and ink bbox (x0,y0,x1,y1)."""
    asc, desc = font.getmetrics()
    widths = [font.getlength(ch) for ch in text]
    total = sum(widths) + tracking * max(0, len(text) - 1)
    mask = Image.new("L", (int(total) + 8, asc + desc + 8), 0)
    d = ImageDraw.Draw(mask)
    x = 4.0
    for ch, wch in zip(text, widths):
        d.text((x, 4), ch, font=font, fill=255)
        x += wch + tracking
    bbox = mask.getbbox() or (0, 0, 1, 1)
    return mask, bbox


def _paint_text(rng: random.Random, card: Image.Image, mask: Image.Image, pos: tuple[int, int], style: str,
                color: tuple[int, int, int], emboss: dict | None) -> None:
    """Composite a text mask onto the card as flat ink or as embossed (raised) characters."""
    if style == "flat":
        card.paste(Image.new("RGB", mask.size, color), pos, mask)
        return
    assert emboss is not None
    dx, dy = emboss["dx"], emboss["dy"]
    if emboss.get("bold"):  # data version 3: the raised strokes are wider than the font's
        mask = mask.filter(ImageFilter.MaxFilter(2 * emboss["bold"] + 1))
    soft = mask.filter(ImageFilter.GaussianBlur(emboss["soft"]))
    shadow = ImageChops.offset(soft, dx, dy)
    light = ImageChops.offset(soft, -dx, -dy)
    card.paste(Image.new("RGB", mask.size, (0, 0, 0)), pos, shadow.point(lambda v: int(v * emboss["shadow"])))
    card.paste(Image.new("RGB", mask.size, (255, 255, 255)), pos, light.point(lambda v: int(v * emboss["light"])))
    top = soft if emboss["tip"] is None else mask
    if emboss["tip"] is None:  # untipped: the raised plastic keeps the card colour, slightly lighter
        patch = Image.new("RGB", mask.size, tuple(min(255, int(c * 1.08 + 8)) for c in color))
        card.paste(patch, pos, top.point(lambda v: int(v * 0.6)))
    else:
        tip = np.zeros((mask.size[1], mask.size[0], 3), np.float32)
        grad = np.linspace(0.75, 1.15, mask.size[1])[:, None, None]
        tip[:] = np.asarray(emboss["tip"], np.float32) * grad
        card.paste(Image.fromarray(np.clip(tip, 0, 255).astype(np.uint8)), pos, top)


def _quad(x0: float, y0: float, x1: float, y1: float) -> Quad:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _script_font(text: str, font: ImageFont.FreeTypeFont, version: int) -> ImageFont.FreeTypeFont:
    """`font`, or from data version 5 one of the same size that has the glyphs of a Hangul or CJK label: versions
    1-4 drew "유효기간", "有效期" and "持卡人" in a Latin sans, as rows of empty boxes."""
    if version < 5 or all(ord(ch) < 0x1100 for ch in text):
        return font
    hangul = any(0xAC00 <= ord(ch) <= 0xD7A3 for ch in text)
    files = font_files("hangul" if hangul else "cjk") or font_files("cjk") or font_files("hangul")
    return load_font(files[0], font.size) if files else font


def render_face(rng: random.Random, number: str, grouping: tuple[int, ...], expiry: str | None,
                vertical: bool = False, *, version: int) -> CardFace:
    """Render one card face with the number printed in `grouping` and an optional expiry.

    `version` is the data version (see `synth.DATA_VERSIONS`); version 1 draws exactly what it always
    drew, so the models trained on it stay reproducible.
    """
    w, h = (CARD_H, CARD_W) if vertical else (CARD_W, CARD_H)
    card = _background(rng, w, h)
    bg_luma = float(np.asarray(card.convert("L")).mean())
    style = "embossed" if rng.random() < 0.45 else "flat"

    # -- decorations (drawn first so text sits on top) --
    # The chip is drawn last, and only where it covers no field: real cards never print digits on it.
    chip = (rng.uniform(50, 110), rng.uniform(140, 230) if not vertical else rng.uniform(200, 380),
            rng.uniform(0.8, 1.2)) if rng.random() < 0.85 else None
    # Version 4 on draws the logos and the bank name after the fields, where they cover none (`_marks`), and
    # picks no knockout font (`fonts.is_knockout`): faults of versions 1-3 that no real card has.
    plain = version >= 4
    if not plain:
        _marks(rng, card, None, False)
    d = ImageDraw.Draw(card)
    bank_script = rng.choices(["latin", "hangul", "cjk"], weights=[6, 2, 2])[0]
    bank_font, _ = pick_font(rng, {"latin": ["sans", "serif"], "hangul": ["hangul"], "cjk": ["cjk"]}[bank_script],
                             rng.randint(26, 52), plain)
    bank = rng.choice({"latin": _BANKS_LATIN, "hangul": _BANKS_HANGUL, "cjk": _BANKS_CJK}[bank_script])
    text_col = (250, 250, 250) if bg_luma < 128 else (20, 20, 30)
    bank_at = (rng.uniform(30, 90), rng.uniform(25, 70))
    if not plain:
        d.text(bank_at, bank, font=bank_font, fill=text_col)

    # -- the number --
    if style == "embossed":
        # version 4 on: most embossed cards print in Farrington 7B, drawn by farrington.py
        groups_fonts = ["farrington_7b"] if plain and rng.random() < 0.55 else ["farrington_like", "ocr_a", "ocr_b"]
    else:
        groups_fonts = rng.choice([["ocr_a", "ocr_b"], ["sans"], ["mono"], ["serif"], ["farrington_like"], ["sans", "mono"]]
                                  + ([["farrington_7b"]] if plain else []))
    size = int(rng.uniform(34, 62) * (0.85 if vertical else 1.0))
    font, font_path = pick_font(rng, groups_fonts, size, plain)
    tracking = rng.uniform(-0.05, 0.35) * size
    sep = " " * rng.choice([1, 1, 2])  # gap between digit groups
    if bg_luma < 110:
        ink = _rand_color(rng, light=True) if rng.random() < 0.3 else (rng.randint(215, 255),) * 3
    elif bg_luma > 150:
        ink = _rand_color(rng, light=False) if rng.random() < 0.3 else (rng.randint(0, 60),) * 3
    else:
        ink = (255, 255, 255) if rng.random() < 0.5 else (10, 10, 10)
    emboss = None
    if style == "embossed":
        tip = rng.choice([None, None, (205, 205, 210), (225, 225, 230), (215, 180, 90), (240, 240, 240), (30, 30, 30)])
        emboss = {"dx": rng.choice([1, 2, 2, 3]), "dy": rng.choice([1, 2, 2, 3]), "soft": rng.uniform(0.3, 1.2),
                  "shadow": rng.uniform(0.35, 0.8), "light": rng.uniform(0.3, 0.8), "tip": tip}
        ink = tuple(int(c) for c in np.asarray(card).reshape(-1, 3).mean(0)) if tip is None else tip
        if version >= 3:  # real embossing: a bevel that grows with the digits, and bolder strokes
            k = size / 40
            emboss.update(dx=max(1, round(rng.uniform(1.0, 3.5) * k)), dy=max(1, round(rng.uniform(1.0, 3.5) * k)),
                          soft=rng.uniform(0.4, 1.4) * k, shadow=rng.uniform(0.55, 0.95),
                          light=rng.uniform(0.5, 0.95), bold=rng.choice([0, 1, 1, 2]))

    # Lines of the number: usually one; sometimes two or four stacked (vertical cards, some debit cards).
    groups = list(_split_groups(number, grouping))
    r = rng.random()
    if vertical:
        layout_lines = rng.choice([1, 2, 2, 4]) if len(groups) >= 4 else rng.choice([1, 2])
    else:
        layout_lines = 4 if (r < 0.04 and len(groups) == 4) else (2 if r < 0.07 and len(groups) >= 3 else 1)
    lines = _chunk(groups, layout_lines)
    line_masks = []
    for line_groups in lines:
        mask, bbox = _text_mask(sep.join(line_groups), font, tracking)
        line_masks.append((mask, bbox))
    max_w = max(b[2] - b[0] for _, b in line_masks)
    line_h = max(b[3] - b[1] for _, b in line_masks)
    scale = min(1.0, (w * 0.9) / max(1, max_w))
    if scale < 1.0:  # too long for the card: re-render smaller
        font = _reload(font_path, max(16, int(size * scale)))
        tracking *= scale
        line_masks = [_text_mask(sep.join(g), font, tracking) for g in lines]
        max_w = max(b[2] - b[0] for _, b in line_masks)
        line_h = max(b[3] - b[1] for _, b in line_masks)
    # version 2 also stacks lines tightly (a real 4-line card has gaps of a quarter of a line)
    pitch = line_h * rng.uniform(1.35 if version == 1 else 1.2, 1.8)
    block_h = line_h + pitch * (len(lines) - 1)
    place = rng.choices(["middle", "low", "high", "right"], weights=[7, 1.5, 1, 1])[0]
    if vertical:
        x0 = rng.uniform(25, max(26, w - max_w - 25))
        y0 = rng.uniform(h * 0.35, max(h * 0.35 + 1, h - block_h - 140))
    elif place == "middle":
        x0 = rng.uniform(w * 0.04, max(w * 0.04 + 1, min(w * 0.14, w - max_w - 20)))
        y0 = rng.uniform(h * 0.44, h * 0.6) - (block_h - line_h) / 2
    elif place == "low":
        x0 = rng.uniform(w * 0.04, max(w * 0.04 + 1, w - max_w - 20))
        y0 = rng.uniform(h * 0.72, h * 0.8)
    elif place == "high":
        x0 = rng.uniform(w * 0.04, max(w * 0.04 + 1, w - max_w - 20))
        y0 = rng.uniform(h * 0.18, h * 0.3)
    else:
        x0 = max(20, w - max_w - rng.uniform(20, 80))
        y0 = rng.uniform(h * 0.35, h * 0.65) - (block_h - line_h) / 2
    y0 = max(5, min(y0, h - block_h - 5))
    number_quads: list[Quad] = []
    align_right = place == "right" or (len(lines) > 1 and rng.random() < 0.4)
    for i, (mask, bbox) in enumerate(line_masks):
        lw = bbox[2] - bbox[0]
        lx = x0 + (max_w - lw if align_right else 0)
        ly = y0 + i * pitch
        pos = (int(round(lx - bbox[0])), int(round(ly - bbox[1])))
        _paint_text(rng, card, mask, pos, style, ink, emboss)
        number_quads.append(_quad(pos[0] + bbox[0], pos[1] + bbox[1], pos[0] + bbox[2], pos[1] + bbox[3]))
    num_bottom = y0 + block_h

    # Small printed copy of the first four digits under the number (a common distractor).
    small_font, _ = pick_font(rng, ["sans", "ocr_b"], rng.randint(12, 18), plain)
    if rng.random() < 0.2 and len(lines) == 1:
        d.text((x0, num_bottom + 4), number[:4], font=small_font, fill=ink if style == "flat" else text_col)

    # -- expiry and distractor dates --
    expiry_quad = None
    exp_size = int(size * rng.uniform(0.5, 0.85))
    exp_font = font if rng.random() < 0.7 else pick_font(rng, groups_fonts, exp_size, plain)[0]
    expiry_face = "number's" if exp_font is font else "other"
    if exp_font is font:
        exp_font = _reload(font_path, exp_size)
    elif version >= 5 and rng.random() < 0.4:
        # version 5: a date in a squared display face unlike the number's (the real card_014 prints "09/15" so,
        # under an "EXPIRES" label, and the detector marked the label)
        exp_font = pick_font(rng, ["farrington_7b"], exp_size, plain)[0]
        expiry_face = "display"
    # labels up to 0.65 of the date's size from version 5 (card_014's is about 0.6; versions 1-4 drew 0.3-0.5)
    label_font, _ = pick_font(rng, ["sans"], max(9, int(exp_size * rng.uniform(0.3, 0.5 if version < 5 else 0.65))),
                              plain)
    ey = num_bottom + rng.uniform(0.25, 0.9) * line_h + (16 if rng.random() < 0.2 else 0)
    ex = rng.uniform(w * 0.25, w * 0.55) if not vertical else rng.uniform(30, w * 0.4)
    dates: list[tuple[str, str, bool]] = []
    if rng.random() < 0.25:
        dates.append((rng.choice(_FROM_LABELS), f"{rng.randint(1, 12):02d}/{rng.randint(10, 24):02d}", False))
    if expiry is not None:
        dates.append((rng.choice(_EXPIRY_LABELS), expiry, True))
    elif rng.random() < 0.1:
        dates.append(("MEMBER SINCE", str(rng.randint(1990, 2024)), False))
    # with no expiry two dates are VALID FROM and MEMBER SINCE: no pair of the kind below
    dates_kind = "no_expiry" if expiry is None else ("pair" if len(dates) == 2 else "one")
    if version >= 6 and dates_kind == "pair" and rng.random() < 0.35:
        # version 6: a VALID FROM and a THRU date side by side with no labels, as the real card_024 prints them
        # (draws only version 6 makes, after all of version 5's date draws)
        dates = [("", value, is_expiry) for _, value, is_expiry in dates]
        dates_kind = "pair_unlabelled"
    label_above = rng.random() < 0.25
    cursor = ex
    name_size = None
    if version >= 2:
        place_exp = "below" if vertical else rng.choices(*_EXPIRY_PLACES)[0]
        if place_exp == "name_row":
            label_above = rng.random() < 0.75
            name_size = int(size * rng.uniform(0.45, 0.7))
            ey = min(h - max(name_size, exp_size) * 1.3 - 8, num_bottom + rng.uniform(0.7, 1.8) * line_h)
        if place_exp != "below":  # right-aligned: measure the dates first
            widths = []
            for label, value, _ in dates:
                vb = _text_mask(value, exp_font, tracking * 0.6)[1]
                lw = 0.0 if not label or label_above else \
                    d.multiline_textbbox((0, 0), label, font=_script_font(label, label_font, version), spacing=1)[2] + 8
                widths.append(lw + vb[2] - vb[0] + 40)
            cursor = max(w * 0.3, w - sum(widths) - rng.uniform(10, 50))
    dates_left = cursor
    for label, value, is_expiry in dates:
        if ey + exp_size * 1.2 > h - 8:
            ey = h - exp_size * 1.3 - 8
        lx = cursor
        if label and not label_above:
            lf = _script_font(label, label_font, version)
            d.multiline_text((lx, ey + exp_size * 0.1), label, font=lf, fill=text_col, spacing=1)
            lb = d.multiline_textbbox((lx, ey), label, font=lf, spacing=1)
            lx = lb[2] + rng.uniform(4, 12)
        elif label:
            d.text((lx, ey - label_font.size - 3), label.replace("\n", " "), font=_script_font(label, label_font, version),
                   fill=text_col)
        mask, bbox = _text_mask(value, exp_font, tracking * 0.6)
        pos = (int(round(lx - bbox[0])), int(round(ey - bbox[1])))
        _paint_text(rng, card, mask, pos, style, ink, emboss)
        q = _quad(pos[0] + bbox[0], pos[1] + bbox[1], pos[0] + bbox[2], pos[1] + bbox[3])
        if is_expiry:
            expiry_quad = q
        cursor = pos[0] + bbox[2] + rng.uniform(20, 60)

    # -- holder name --
    name_path = font_path
    if "farrington_7b" in groups_fonts:  # a digits-only face: the name in another embossing font
        name_path = pick_font(rng, ["farrington_like", "ocr_a"], size, plain)[1]
    if name_size is None:
        name_font = _reload(name_path, int(size * rng.uniform(0.45, 0.7))) if rng.random() < 0.6 else \
            pick_font(rng, ["sans", "mono"], int(size * 0.55), plain)[0]
        ny = min(h - name_font.size - 10, ey + exp_size * rng.uniform(1.2, 1.8))
    else:  # the expiry shares the name's row
        name_font = _reload(name_path, name_size) if rng.random() < 0.6 else pick_font(rng, ["sans", "mono"], name_size, plain)[0]
        ny = ey
    name = sample_name(rng)
    name_mask, nb = _text_mask(name, name_font, tracking * 0.3)
    nx = int(rng.uniform(30, 80))
    while name_size is not None and nx + nb[2] > dates_left - 15 and " " in name:  # keep clear of the expiry
        name = name.rsplit(" ", 1)[0]
        name_mask, nb = _text_mask(name, name_font, tracking * 0.3)
    _paint_text(rng, card, name_mask, (nx, int(ny - nb[1])), style, ink, emboss)
    if version >= 2 and (name_size is not None and label_above or rng.random() < 0.15):
        holder = rng.choice(_HOLDER_LABELS)
        d.text((nx, ny - label_font.size - 3), holder, font=_script_font(holder, label_font, version), fill=text_col)

    fields = number_quads + ([expiry_quad] if expiry_quad else [])
    if chip is not None:
        cx0, cy0, cs = chip
        if not _touches((cx0, cy0, cx0 + 110 * cs, cy0 + 85 * cs), fields):
            _draw_chip(rng, card, cx0, cy0, cs)
    if plain:
        if not _touches(d.textbbox(bank_at, bank, font=bank_font), fields):
            d.text(bank_at, bank, font=bank_font, fill=text_col)
        _marks(rng, card, fields, True, version)

    # Rounded corners via alpha.
    alpha = Image.new("L", (w, h), 0)
    ImageDraw.Draw(alpha).rounded_rectangle([0, 0, w - 1, h - 1], radius=rng.uniform(18, 36), fill=255)
    card = card.convert("RGBA")
    card.putalpha(alpha)
    layout = ("vertical-" if vertical else "") + (f"{len(lines)}line" if len(lines) > 1 else place)
    extra = {"font": font_path.rsplit("/", 1)[-1]}
    if version >= 2:
        extra["expiry_place"] = place_exp if expiry is not None else "none"
    if version >= 5:
        extra["expiry_face"] = expiry_face if expiry is not None else "none"
    if version >= 6:
        extra["dates"] = dates_kind
    return CardFace(card, number_quads, ["".join(g) for g in lines], expiry_quad, style, layout, extra)


def _marks(rng: random.Random, card: Image.Image, avoid: list[Quad] | None, plain: bool, version: int = 1) -> None:
    """The brand logos: usually one at the lower right, sometimes one at the top."""
    w, h = card.size
    if rng.random() < 0.8:
        _draw_logo(rng, card, rng.uniform(w * 0.55, w - 190), rng.uniform(h * 0.72, h - 100), avoid, plain, version)
    if rng.random() < 0.3:
        _draw_logo(rng, card, rng.uniform(w * 0.5, w - 150), rng.uniform(20, 60), avoid, plain, version)


def _touches(box: tuple[float, float, float, float], quads: list[Quad] | None) -> bool:
    """Whether the box comes within the margin of any of the quads (none given: never)."""
    return any(_overlaps(box, q) for q in quads or [])


def _overlaps(box: tuple[float, float, float, float], quad: Quad, margin: float = 6) -> bool:
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    return not (box[2] + margin < min(xs) or max(xs) < box[0] - margin or
                box[3] + margin < min(ys) or max(ys) < box[1] - margin)


def _reload(path: str, size: int) -> ImageFont.FreeTypeFont:
    from .fonts import load_font

    return load_font(path, size)


def _split_groups(number: str, grouping: tuple[int, ...]):
    i = 0
    for g in grouping:
        yield number[i:i + g]
        i += g
    if i < len(number):
        yield number[i:]


def _chunk(groups: list[str], n_lines: int) -> list[list[str]]:
    n_lines = max(1, min(n_lines, len(groups)))
    per = math.ceil(len(groups) / n_lines)
    return [groups[i:i + per] for i in range(0, len(groups), per)]
