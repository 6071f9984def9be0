"""Synthetic math pages with formula boxes: layout, then scan or phone-photo simulation.

`make_page(seed, bank)` is reproducible by seed. Layouts: one or two columns, running header and page
number, paragraphs in serif or sans at several sizes (English, Korean, German/French/Spanish), inline
formulas on the text baseline at the text size, display formulas centred or indented, numbered,
multi-line aligned or wrapped (one box per line), theorem/proof blocks, numbered problems with
multiple-choice options (①-⑤), figures and tables as distractors, and text that looks like math but is
not (references, tags, numbers, italic emphasis). Photos: perspective, rotation, page curl, desk
background, partial pages, uneven light and shadow, blur, noise, JPEG.

Data versions (`make_page(..., version=)`): 1 draws the pages v1-v3 of the detector were trained on; 2 adds
what the v3 detector boxed on the real scans: punctuation set right after inline and display formulas
(outside the box), sentence-initial capitals and the article "a"/"A", short function words in italics
("of", "a", "is") and running headers whose title keeps such words in lower case ("Logic as a Language");
3 adds what the v4 detector still boxed or merged on the real scans: sentences opened by the words math papers
open them with ("A clause", "We", "If", "It", "In", "Let") and lists of formulas in running text set as the real
sets box them, each item its own formula and the ellipsis between them text ("x_1, ..., x_m": two boxes);
4 adds what the v5 detector missed outright on the real scans: one-letter variables set in the text face, italic
("an *n*-ary predicate", "terms *x*, *z*") or bold ("the set of clauses **A**", "if **A** is true"), in mid-sentence
and now and then opening one, each boxed as a formula (the suffix of "*n*-ary" and punctuation after it are text),
relations with spaced signs ("X ⊢ Y", "w := t_1": one box; v5 boxed their sides apart), and argument lists and sets
in the text face whose ellipsis, inside the brackets, is inside the one box ("P(t_1, . . . , t_m)",
"{C_1, . . . , C_n}"; v5 split them at the ellipsis, as version 3 sets bare lists).
Older versions' pages stay exactly as they were: every random draw a version adds happens only from it on.

Box convention (as the real sets): one axis-aligned box per formula piece as typeset on one line, tight
around the ink; under perspective, the box around the warped piece.
"""

from __future__ import annotations

import io
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..geometry import homography
from .bank import BANK_EM, Bank
from .text import citation, distractor, family_font, font, hangul_font, words

__all__ = ["DATA_VERSIONS", "LATEST", "PageSample", "make_page", "write_dataset"]

CIRCLED = "①②③④⑤"
DATA_VERSIONS = (1, 2, 3, 4)
LATEST = DATA_VERSIONS[-1]
# Short words a detector trained on version 1 takes for italic variables when they are set in italics.
SHORT = ["a", "of", "as", "is", "in", "on", "to", "by", "if", "or", "an", "at", "it", "we"]
# Version 3: words that open sentences in math papers; the v4 detector boxed an upright "A", "We", "If" or "It"
# at a sentence start on every real page (the short ones look like a one-letter variable).
OPENERS = ["A", "A", "A", "An", "We", "We", "If", "It", "In", "I", "Let", "Then", "Thus", "For", "By", "As",
           "On", "To", "The", "This", "Since", "Each", "Hence", "Now", "Note", "Here", "Suppose", "Consider"]
ELLIPSES = ["...,", ". . . ,", "\u2026,", "...", ". . ."]
# Version 4: one-letter variables in the text face. Italic: what papers name terms, counts and interpretations by;
# bold: sets and structures ("the set of clauses A"). The v5 detector missed most such letters on the real scans.
ITALIC_VARS = "nnnmkijxyztuvpqABCDEFGHIJKLMNPQRSTUVWXYZ"
BOLD_VARS = "AAABCDEFGHIJKLMNPRSTUVWXYZ"
VAR_SUFFIXES = ["-ary", "-tuple", "-th", "-place", "-fold"]
TEXT_ELLIPSES = [". . .", "...", "\u2026", ". . . "]
TEXT_RELATIONS = ["\u22a2", "\u22a8", "=", "=", ":=", "\u2208", "\u2286", "\u2192", "\u2264", "\u2228", "\u2227"]  # ⊢ ⊨ ∈ ⊆ → ≤ ∨ ∧
SYMBOL_FONT = "DejaVuSerif.ttf"  # relation signs a text face lacks (fonts-dejavu-core)


@dataclass
class PageSample:
    image: Image.Image                                   # RGB
    boxes: list[tuple[float, float, float, float, str]]  # x1, y1, x2, y2, kind; image pixels
    cores: list[list[tuple[float, float]]]               # per box, the quad of its core region (see data.py)
    slices: dict[str, str] = field(default_factory=dict)


class _Page:
    """Ink layer (0 = paper, 255 = ink) and the formula pieces placed on it, page pixels."""

    def __init__(self, w: int, h: int):
        self.w, self.h = w, h
        self.ink = Image.new("L", (w, h), 0)
        self.draw = ImageDraw.Draw(self.ink)
        self.pieces: list[list] = []     # [x1, y1, x2, y2, kind]

    def text(self, x: float, base: float, s: str, f) -> float:
        self.draw.text((x, base), s, font=f, fill=255, anchor="ls")
        return f.getlength(s)

    def formula(self, bank: Bank, i: int, x: float, base: float, em: float, kind: str | None) -> tuple:
        """Paste bank formula i with its baseline at `base`; returns its box. kind None: not recorded."""
        s = em / BANK_EM
        a = bank.ink[i]
        w, h = max(1, round(a.shape[1] * s)), max(1, round(a.shape[0] * s))
        y0 = round(base - bank.base[i] * s)
        x0 = round(x)
        im = np.asarray(Image.fromarray(a).resize((w, h), Image.LANCZOS if s < 1 else Image.BILINEAR))
        xa, ya, xb, yb = max(0, x0), max(0, y0), min(self.w, x0 + w), min(self.h, y0 + h)
        if xb <= xa or yb <= ya:
            return (x0, y0, x0 + w, y0 + h)
        region = np.asarray(self.ink.crop((xa, ya, xb, yb)))
        patch = np.maximum(region, im[ya - y0:yb - y0, xa - x0:xb - x0])
        self.ink.paste(Image.fromarray(patch), (xa, ya))
        ys, xs = np.nonzero(im[ya - y0:yb - y0, xa - x0:xb - x0] > 60)
        if len(xs) == 0:
            return (x0, y0, x0 + w, y0 + h)
        box = [xa + xs.min(), ya + ys.min(), xa + xs.max() + 1, ya + ys.max() + 1]
        if kind:
            self.pieces.append([*map(float, box), kind])
        return tuple(box)

    def glyphs(self, x: float, base: float, runs: list[tuple], kind: str) -> tuple:
        """Version 4: draw `runs` ((text, font, dy) each, set one after another, dy below the baseline for a
        subscript) as one formula piece in the text face, boxed tight around its ink."""
        pad = 4
        x1, y1, x2, y2 = x, base, x, base
        xx = x
        for text, f, dy in runs:
            b = self.draw.textbbox((xx, base + dy), text, font=f, anchor="ls")
            x1, y1, x2, y2 = min(x1, b[0]), min(y1, b[1]), max(x2, b[2]), max(y2, b[3])
            xx += f.getlength(text)
        x0, y0 = math.floor(x1) - pad, math.floor(y1) - pad
        tile = Image.new("L", (math.ceil(x2) - x0 + pad, math.ceil(y2) - y0 + pad), 0)
        td = ImageDraw.Draw(tile)
        xx = x
        for text, f, dy in runs:
            td.text((xx - x0, base + dy - y0), text, font=f, fill=255, anchor="ls")
            self.draw.text((xx, base + dy), text, font=f, fill=255, anchor="ls")
            xx += f.getlength(text)
        ys, xs = np.nonzero(np.asarray(tile) > 60)
        if len(xs) == 0:
            return (x1, y1, x2, y2)
        box = [max(0, x0 + xs.min()), max(0, y0 + ys.min()), min(self.w, x0 + xs.max() + 1), min(self.h, y0 + ys.max() + 1)]
        if box[2] > box[0] and box[3] > box[1]:
            self.pieces.append([*map(float, box), kind])
        return tuple(box)

    def width_of(self, bank: Bank, i: int, em: float) -> float:
        return bank.ink[i].shape[1] * em / BANK_EM


class _Writer:
    """Flows blocks down a column: paragraphs, display formulas, problems, figures, tables."""

    def __init__(self, page: _Page, bank: Bank, r: random.Random, x0: float, x1: float, y0: float, y1: float,
                 em: float, fonts: tuple, lang: str, hfonts: tuple | None, version: int = 1):
        self.p, self.bank, self.r = page, bank, r
        self.version = version
        self.x0, self.x1, self.y, self.y1 = x0, x1, y0, y1
        self.em, self.lang = em, lang
        self.fonts = hfonts if (lang == "ko" and hfonts) else fonts
        self.latin = fonts
        self.pitch = em * r.uniform(1.2, 1.55)
        self.eq = r.randint(1, 20)
        self.justify = r.random() < 0.7

    def full(self, need: float = 0) -> bool:
        return self.y + self.pitch + need > self.y1

    # -- paragraphs -------------------------------------------------------------------------------
    def _tokens(self, n: int, p_math: float, italic: bool = False) -> list[tuple]:
        """("m", bank index, trailing punctuation), ("w", word, style 0/1/2) and, from version 4, ("v", pieces,
        trailing text) tokens of a paragraph (`_text_formula`)."""
        if self.version >= 2:
            return self._tokens_v2(n, p_math, italic)
        r, vocab = self.r, words(self.r, self.lang)
        toks: list[tuple] = []
        for _ in range(n):
            x = r.random()
            if x < p_math:
                toks.append(("m", self.bank.pick(r, display=False), ""))
            elif x < p_math + 0.04:
                toks.append(("w", distractor(r), 0))
            elif x < p_math + 0.08 and self.lang != "ko":
                toks.append(("w", r.choice(vocab), 1))      # italic emphasis: not a formula
            elif x < p_math + 0.09:
                toks.append(("w", r.choice(vocab), 2))      # bold word
            else:
                w = r.choice(vocab)
                if r.random() < 0.08:
                    w += r.choice([",", ".", ";", ":"])
                toks.append(("w", w, 1 if italic else 0))
        return toks

    def _tokens_v2(self, n: int, p_math: float, italic: bool) -> list[tuple]:
        """Version 2: real pages set punctuation right after a formula, outside its box ("of P.", "m > 0,"),
        start sentences with upright capitals ("A set", "By means"), use the article "a", and italicise
        short words; the v3 detector boxed each of these on the real scans."""
        r, vocab = self.r, words(self.r, self.lang)
        cased = self.lang != "ko"
        toks: list[tuple] = []
        sentence_start = cased and r.random() < 0.7
        for _ in range(n):
            x = r.random()
            if x < p_math:
                if self.version >= 3 and r.random() < 0.12:  # "x_1, ..., x_m": items boxed apart, "..." is text
                    toks.append(("m", self.bank.pick_short(r), ","))
                    toks.append(("w", r.choice(ELLIPSES), 0))
                punct = r.choice([",", ".", ".", ";", ":", ")"]) if r.random() < 0.3 else ""
                toks.append(("m", self.bank.pick_short(r) if toks and toks[-1][1] in ELLIPSES
                             else self.bank.pick(r, display=False), punct))
                sentence_start = cased and punct == "."
                continue
            if x < p_math + 0.04:
                toks.append(("w", citation(r) if cased and r.random() < 0.3 else distractor(r), 0))
            elif x < p_math + 0.08 and cased:               # italic emphasis, often a short word: not a formula
                toks.append(("w", r.choice(SHORT) if r.random() < 0.4 else r.choice(vocab), 1))
            elif x < p_math + 0.09:
                toks.append(("w", r.choice(vocab), 2))      # bold word
            else:
                w = "a" if cased and r.random() < 0.05 else r.choice(vocab)
                if self.version >= 4 and cased and r.random() < (0.1 if sentence_start else 0.07):
                    toks.append(self._text_formula(italic))
                    sentence_start = toks[-1][2] == "."
                    continue
                if sentence_start:
                    w = w[:1].upper() + w[1:]
                    if self.version >= 3 and self.lang == "en" and r.random() < 0.5:
                        w = r.choice(OPENERS)
                if r.random() < 0.08:
                    w += r.choice([",", ".", ".", ";", ":"])
                toks.append(("w", w, 1 if italic else 0))
            sentence_start = cased and toks[-1][1].endswith(".")
        return toks

    def _text_formula(self, italic: bool) -> tuple:
        """Version 4: a formula set in the text face, as older papers set them: ("v", pieces, trailing text), each
        piece (text, style, subscript 0/1), style 0/1/2 regular/italic/bold of the text face or 4 the symbol font.
        Mostly a one-letter variable, italic or bold (bold only in italic text, where an italic letter would not
        stand out), "-ary" or punctuation after it outside the box; else a subscripted variable "C_1", a relation
        with spaced sign "X ⊢ Y", "w := t_1", one box over it all, or an argument list or set whose ellipsis lies
        inside its brackets and so inside its one box: "P(t_1, . . . , t_m)", "{C_1, . . . , C_n}"."""
        r = self.r
        x = r.random()
        style = 2 if italic or r.random() < 0.45 else 1
        letter = r.choice(BOLD_VARS if style == 2 else ITALIC_VARS)
        arg = r.choice("ttxyzCLAB" if style == 1 else "ttxyz")
        item = lambda i: ((arg, 1, 0), (i, 0 if i.isdigit() else 1, 1))
        trail = ""
        if x < 0.55:
            pieces: tuple = ((letter, style, 0),)
            if style == 1 and letter in "nmk" and r.random() < 0.4:
                trail = r.choice(VAR_SUFFIXES)
        elif x < 0.67:
            pieces = item(r.choice("1in"))
        elif x < 0.82:
            rhs = item(r.choice("12in")) if r.random() < 0.4 else ((r.choice(BOLD_VARS if style == 2 else "XYZPQABxyz"),
                                                                    style, 0),)
            pieces = ((letter, style, 0), (" " + r.choice(TEXT_RELATIONS) + " ", 4, 0)) + rhs
        else:
            first, last = r.choice([("1", "m"), ("1", "n"), ("1", "k"), ("0", "n"), ("i", "j")])
            dots = r.choice(TEXT_ELLIPSES)
            shape = r.choice(["call", "call", "tuple", "set"])  # P(t_1, ..., t_m), (t_1, ..., t_m), {t_1, ..., t_m}
            head = {"call": ((letter, style, 0), ("(", 0, 0)), "tuple": (("(", 0, 0),), "set": (("{", 0, 0),)}[shape]
            closing = "}" if shape == "set" else ")"
            pieces = head + item(first) + ((", " + dots + ", ", 0, 0),) + item(last) + ((closing, 0, 0),)
        if not trail and r.random() < 0.3:
            trail = r.choice([",", ".", ".", ";", ":", ")"])
        return ("v", pieces, trail)

    def paragraph(self, indent: float = 0.0, p_math: float | None = None, italic: bool = False,
                  lead: tuple | None = None, toks: list[tuple] | None = None) -> None:
        """Flow a paragraph of `toks` (default: drawn by `_tokens`); word style 3 is small capitals."""
        r = self.r
        if toks is None:
            p_math = r.choice([0.03, 0.06, 0.1, 0.15, 0.2, 0.3]) if p_math is None else p_math
            toks = self._tokens(r.randint(12, 90), p_math, italic)
        if lead:
            toks = [lead] + toks
        fs = {k: font(self.fonts[k], self.em) for k in range(3)}
        fs[3] = font(self.fonts[0], self.em * 0.8)
        space = fs[0].getlength(" ") * r.uniform(0.9, 1.3)
        x = self.x0 + indent
        line: list[tuple] = []

        vfs = {}  # text-face formulas (version 4): Latin regular / italic / bold, subscripts at 0.7 em, symbol font
        if self.version >= 4:
            vfs = {(k, sub): font(self.latin[k], self.em * (0.7 if sub else 1.0)) for k in range(3) for sub in (0, 1)}
            vfs[4, 0] = font(SYMBOL_FONT, self.em)

        def runs(pieces):
            return [(text, vfs[style, sub], self.em * 0.22 * sub) for text, style, sub in pieces]

        def width(t):
            if t[0] == "m":
                return self.p.width_of(self.bank, t[1], self.em) + (self.em * 0.04 + fs[0].getlength(t[2]) if t[2] else 0.0)
            if t[0] == "v":
                return sum(f.getlength(text) for text, f, _ in runs(t[1])) + fs[0].getlength(t[2])
            return fs[t[2]].getlength(t[1])

        def flush(last: bool):
            if not line or self.full():
                return
            base = self.y + self.em * 0.95
            total = sum(width(t) for t in line) + space * (len(line) - 1)
            start = self.x0 + (indent if flush.first else 0)
            gap = space
            if self.justify and not last and len(line) > 1:
                gap = space + max(0.0, (self.x1 - start - total) / (len(line) - 1))
                gap = min(gap, space * 3)
            xx = start
            for t in line:
                if t[0] == "m":
                    self.p.formula(self.bank, t[1], xx, base, self.em, "embedded")
                    if t[2]:  # punctuation set tight after the formula, not part of its box
                        self.p.text(xx + self.p.width_of(self.bank, t[1], self.em) + self.em * 0.04, base, t[2], fs[0])
                elif t[0] == "v":  # "-ary" or punctuation after the formula is text
                    box = self.p.glyphs(xx, base, runs(t[1]), "embedded")
                    if t[2]:
                        self.p.text(max(box[2] + 1, xx + width(t) - fs[0].getlength(t[2])), base, t[2], fs[0])
                else:
                    self.p.text(xx, base, t[1], fs[t[2]])
                xx += width(t) + gap
            self.y += self.pitch
            flush.first = False

        flush.first = True
        for t in toks:
            w = width(t)
            if line and x + w > self.x1:
                flush(False)
                line = []
                x = self.x0
            if w > self.x1 - self.x0:       # a formula wider than the column: skip it
                continue
            line.append(t)
            x += w + space
        flush(True)
        self.y += self.pitch * r.uniform(0.0, 0.6)

    # -- display formulas -------------------------------------------------------------------------
    def display(self) -> None:
        r, bank = self.r, self.bank
        em = self.em * r.uniform(1.0, 1.2)
        colw = self.x1 - self.x0
        n_lines = 1 if r.random() < 0.65 else r.randint(2, 4)
        numbered = r.random() < 0.5
        centred = r.random() < 0.7
        self.y += self.em * r.uniform(0.3, 0.9)
        idx = []
        for _ in range(n_lines):
            for _ in range(6):
                i = bank.pick(r, display=True)
                if bank.ink[i].shape[1] * em / BANK_EM < colw * (0.8 if numbered else 0.95):
                    break
            else:
                i = bank.pick(r, display=False)
            idx.append(i)
        x_align = self.x0 + colw * r.uniform(0.08, 0.3)
        for k, i in enumerate(idx):
            a = bank.ink[i]
            h_above = bank.base[i] * em / BANK_EM
            h_below = (a.shape[0] - bank.base[i]) * em / BANK_EM
            if self.full(h_above + h_below):
                return
            base = self.y + max(h_above, self.em)
            w = a.shape[1] * em / BANK_EM
            if n_lines > 1:
                x = x_align if k == 0 or r.random() < 0.8 else x_align + colw * 0.05
            elif centred:
                x = self.x0 + (colw - w) / 2
            else:
                x = self.x0 + self.em * r.uniform(1.5, 4)
            x = min(x, self.x1 - w)
            if numbered and k == 0 and x > self.x0 + self.em * 3 and r.random() < 0.25:   # "(3a) formula"
                f = font(self.latin[0], self.em)
                self.p.text(self.x0 + self.em * r.uniform(0, 1.5), base, f"({self.eq}{r.choice('ab')})", f)
                self.eq += 1
                numbered = False
            self.p.formula(bank, i, x, base, em, "isolated")
            if self.version >= 2 and r.random() < 0.35:  # the sentence goes on through the display, outside the box
                self.p.text(x + w + em * 0.1, base, r.choice([",", ".", ".", ";"]), font(self.latin[0], self.em))
            if numbered and (k == len(idx) - 1 or r.random() < 0.3):
                tag = f"({self.eq})" if r.random() < 0.8 else f"({self.eq}{r.choice('ab')})"
                self.eq += 1
                f = font(self.latin[0], self.em)
                self.p.text(self.x1 - f.getlength(tag), base, tag, f)
            self.y = base + max(h_below, self.em * 0.3) + self.em * r.uniform(0.2, 0.6)
        self.y += self.em * r.uniform(0.2, 0.8)

    # -- other blocks -----------------------------------------------------------------------------
    def references(self) -> None:
        """Version 2: a bibliography, as at the end of a paper: "[12] KOWALSKI, R. A. Predicate logic as a
        programming language. Proc. IFIP 74 (1974), 569-574." Initials, small-capital names, volume and
        page numbers and years look like math to a detector and are not formulas."""
        r = self.r
        self.heading("References" if r.random() < 0.8 else "REFERENCES")
        em = self.em
        self.em = em * r.uniform(0.8, 0.95)
        k = r.randint(1, 30)
        for _ in range(r.randint(3, 9)):
            if self.full(self.em * 2):
                break
            toks: list[tuple] = [("w", f"[{k}]" if r.random() < 0.6 else f"{k}.", 0)]
            for a in range(r.randint(1, 3)):
                name = r.choice(words(r, "en")).upper()
                inits = " ".join(f"{r.choice('ABCDEFGHJKLMNPRSTW')}." for _ in range(r.randint(1, 2)))
                toks += [("w", name + ",", 3), ("w", inits + (" AND" if a == 0 and r.random() < 0.3 else ""), 0)]
            title = [r.choice(words(r, "en")) for _ in range(r.randint(3, 9))]
            toks += [("w", w.capitalize() if i == 0 else w, 0) for i, w in enumerate(title)]
            toks[-1] = (toks[-1][0], toks[-1][1] + ".", 0)
            journal = r.choice(["J. ACM", "Comm. ACM", "Proc. IFIP", "Inform. Process. Lett.", "Math. Ann.",
                                "Ann. of Math.", "SIAM J. Comput.", "Machine Intelligence"])
            toks += [("w", w, 1) for w in journal.split()]
            vol = f"{r.randint(1, 40)}, {r.randint(1, 12)} ({r.randint(1950, 1990)}),"
            toks += [("w", w, 0) for w in vol.split()] + [("w", f"{r.randint(1, 400)}-{r.randint(401, 900)}.", 0)]
            self.paragraph(toks=toks)
            k += 1
        self.em = em

    def heading(self, s: str) -> None:
        if self.full(self.em):
            return
        f = font(self.latin[2], self.em * self.r.uniform(1.0, 1.4))
        self.y += self.em * 0.5
        self.p.text(self.x0, self.y + self.em * 1.1, s, f)
        self.y += self.pitch * 1.3

    def theorem(self) -> None:
        r = self.r
        name = r.choice(["Theorem", "Lemma", "Proposition", "Corollary", "Definition"]) if self.lang != "ko" \
            else r.choice(["정리", "보조정리", "정의"])
        self.paragraph(p_math=0.2, italic=r.random() < 0.6, lead=("w", f"{name} {r.randint(1, 9)}.", 2))
        if r.random() < 0.5:
            self.display()
        if r.random() < 0.7:
            self.paragraph(p_math=0.15, lead=("w", "Proof." if self.lang != "ko" else "증명.", 1))
            if not self.full():
                f = font(self.latin[0], self.em)
                self.p.text(self.x1 - self.em, self.y - self.pitch * 0.3, "□" if r.random() < 0.5 else "■", f)

    def problem(self, k: int) -> None:
        r = self.r
        label = r.choice([f"{k}.", f"{k})", f"문제 {k}." if self.lang == "ko" else f"Problem {k}."])
        self.paragraph(p_math=0.2, lead=("w", label, 2))
        if r.random() < 0.4:
            self.display()
        if r.random() < 0.8 and not self.full(self.em * 2):
            per_row = r.choice([5, 5, 3, 2, 1])
            colw = (self.x1 - self.x0) / per_row
            f = font(self.fonts[0], self.em)
            for j in range(5):
                if j % per_row == 0:
                    if self.full():
                        break
                    base = self.y + self.em * 1.1
                    self.y += self.pitch * 1.2
                x = self.x0 + (j % per_row) * colw + self.em
                x += self.p.text(x, base, CIRCLED[j], f) + self.em * 0.4
                i = self.bank.pick(r, display=False)
                if self.p.width_of(self.bank, i, self.em) < colw - self.em * 2.5:
                    self.p.formula(self.bank, i, x, base, self.em, "embedded")
                else:
                    self.p.text(x, base, str(r.randint(-20, 99)), f)
        self.y += self.pitch * 0.5

    def figure(self) -> None:
        r = self.r
        colw = self.x1 - self.x0
        h = colw * r.uniform(0.25, 0.6)
        if self.full(h + self.pitch * 2):
            return
        w = colw * r.uniform(0.4, 0.9)
        x0 = self.x0 + (colw - w) / 2
        y0 = self.y + self.em * 0.5
        d = self.p.draw
        lw = max(1, round(self.em / 12))
        kind = r.random()
        if kind < 0.4:   # a plot: axes and a curve
            d.line([(x0, y0 + h), (x0 + w, y0 + h)], fill=255, width=lw)
            d.line([(x0, y0), (x0, y0 + h)], fill=255, width=lw)
            a, b, c = r.uniform(0.5, 3), r.uniform(0, 6), r.uniform(0.2, 0.45)
            pts = [(x0 + t * w, y0 + h * (0.5 - c * math.sin(a * t * 6 + b))) for t in np.linspace(0, 1, 60)]
            d.line(pts, fill=255, width=lw)
            for t in np.linspace(0, 1, r.randint(3, 8)):
                d.line([(x0 + t * w, y0 + h), (x0 + t * w, y0 + h + self.em * 0.3)], fill=255, width=lw)
        elif kind < 0.7:  # a diagram: boxes, circles and arrows
            for _ in range(r.randint(3, 8)):
                cx, cy, s = x0 + r.uniform(0.1, 0.9) * w, y0 + r.uniform(0.1, 0.9) * h, self.em * r.uniform(1, 3)
                (d.ellipse if r.random() < 0.5 else d.rectangle)([cx - s, cy - s * 0.6, cx + s, cy + s * 0.6],
                                                                  outline=255, width=lw)
                d.line([(cx, cy), (x0 + r.uniform(0, 1) * w, y0 + r.uniform(0, 1) * h)], fill=255, width=lw)
        else:             # a photo-like grey block, smaller
            d.rectangle([x0 + w * 0.25, y0, x0 + w * 0.75, y0 + h * 0.6], fill=r.randint(40, 140))
        self.y = y0 + h + self.em * 0.6
        cap = f"{r.choice(['Figure', 'Fig.', '그림'])} {r.randint(1, 9)}."
        self.paragraph(p_math=0.05, lead=("w", cap, 2))

    def table(self) -> None:
        r = self.r
        rows, cols = r.randint(3, 7), r.randint(2, 6)
        colw = (self.x1 - self.x0) * r.uniform(0.5, 1.0) / cols
        rh = self.pitch * 1.2
        if self.full(rows * rh + self.pitch):
            return
        x0 = self.x0 + ((self.x1 - self.x0) - cols * colw) / 2
        y0 = self.y + self.em * 0.5
        d = self.p.draw
        f = font(self.fonts[0], self.em * 0.9)
        vocab = words(r, self.lang)
        for i in range(rows + 1):
            if i in (0, 1, rows) or r.random() < 0.3:
                d.line([(x0, y0 + i * rh), (x0 + cols * colw, y0 + i * rh)], fill=255, width=1)
        for i in range(rows):
            for j in range(cols):
                s = r.choice(vocab) if (i == 0 or j == 0) else r.choice(
                    [str(r.randint(0, 999)), f"{r.uniform(0, 100):.2f}", f"{r.randint(1, 99)}%", "-"])
                self.p.text(x0 + j * colw + self.em * 0.3, y0 + i * rh + rh * 0.75, s, f)
        self.y = y0 + rows * rh + self.pitch


def _layout(r: random.Random, bank: Bank, version: int = 1) -> tuple[_Page, dict[str, str]]:
    H = r.randint(1300, 2000)
    W = round(H * r.choice([0.707, 0.773, 0.66, 0.7]))
    page = _Page(W, H)
    lang = r.choices(["en", "ko", "de", "fr", "es"], [0.6, 0.25, 0.05, 0.05, 0.05])[0]
    style = "serif" if r.random() < 0.7 else "sans"
    fonts = family_font(r, style)
    hfonts = hangul_font(r)
    ncol = 1 if r.random() < 0.7 else 2
    em = H * r.uniform(0.0095, 0.0165) * (0.85 if ncol == 2 else 1.0)
    mx, my = W * r.uniform(0.06, 0.13), H * r.uniform(0.04, 0.08)
    # running header and page number
    fh = font(fonts[1] if r.random() < 0.6 else fonts[0], em * 0.95)
    if r.random() < 0.8:
        title = " ".join(r.choice(words(r, "en")).capitalize() for _ in range(r.randint(3, 7)))
        if version >= 2:  # titles keep short words lower case: "The Semantics of Predicate Logic as a Language"
            title = " ".join(t if i == 0 or r.random() < 0.6 else r.choice(SHORT) + " " + t
                             for i, t in enumerate(title.split()))
        page.text(mx, my, title, fh)
        page.text(W - mx - fh.getlength(str(r.randint(1, 999))), my, str(r.randint(1, 999)), fh)
    if r.random() < 0.5:
        s = str(r.randint(1, 999))
        page.text((W - fh.getlength(s)) / 2, H - my * 0.6, s, fh)
    gap = em * 2
    colw = (W - 2 * mx - (ncol - 1) * gap) / ncol
    kind = r.choices(["paper", "worksheet", "textbook"], [0.5, 0.25, 0.25])[0]
    prob_k = 1
    for c in range(ncol):
        x0 = mx + c * (colw + gap)
        w = _Writer(page, bank, r, x0, x0 + colw, my + em * 1.5, H - my * 1.2, em, fonts, lang, hfonts, version)
        while not w.full(em * 2):
            if version >= 2 and kind == "paper" and r.random() < 0.04:
                w.references()
                continue
            x = r.random()
            if kind == "worksheet" and x < 0.55:
                w.problem(prob_k)
                prob_k += 1
            elif x < 0.45:
                w.paragraph(indent=em * r.choice([0, 1.5, 2]))
            elif x < 0.7:
                w.display()
            elif x < 0.78:
                w.theorem()
            elif x < 0.83:
                w.heading(f"{r.randint(1, 9)}. " + " ".join(r.choice(words(r, lang)).capitalize()
                                                           for _ in range(r.randint(1, 4))))
            elif x < 0.9:
                w.figure()
            elif x < 0.95:
                w.table()
            else:
                w.paragraph(p_math=0.0)      # plain text only
    return page, {"lang": lang, "font": style, "columns": str(ncol), "layout": kind}


# -- imaging --------------------------------------------------------------------------------------

def _bilinear(img: np.ndarray, xs: np.ndarray, ys: np.ndarray, fill: float) -> np.ndarray:
    """Sample a (H, W) float image at float coordinates; outside -> fill."""
    h, w = img.shape
    x0, y0 = np.floor(xs).astype(np.int64), np.floor(ys).astype(np.int64)
    fx, fy = (xs - x0).astype(np.float32), (ys - y0).astype(np.float32)
    inside = (x0 >= 0) & (y0 >= 0) & (x0 < w - 1) & (y0 < h - 1)
    x0c, y0c = np.clip(x0, 0, w - 2), np.clip(y0, 0, h - 2)
    a, b = img[y0c, x0c], img[y0c, x0c + 1]
    c, d = img[y0c + 1, x0c], img[y0c + 1, x0c + 1]
    out = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy
    return np.where(inside, out, fill).astype(np.float32)


def _apply_h(hm: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = hm[2, 0] * x + hm[2, 1] * y + hm[2, 2]
    return (hm[0, 0] * x + hm[0, 1] * y + hm[0, 2]) / d, (hm[1, 0] * x + hm[1, 1] * y + hm[1, 2]) / d


def _desk(r: random.Random, w: int, h: int) -> np.ndarray:
    """(h, w, 3) float32 desk background: a colour with low-frequency blotches and optional grain."""
    col = np.array([r.uniform(40, 220) for _ in range(3)], np.float32)
    small = np.random.default_rng(r.randrange(2**31)).normal(0, 1, (8, 8, 1)).astype(np.float32)
    blot = np.asarray(Image.fromarray(((small[..., 0] * 30) + 128).clip(0, 255).astype(np.uint8)).resize(
        (w, h), Image.BICUBIC), np.float32)[..., None] - 128
    out = col + blot * r.uniform(0.2, 1.0)
    if r.random() < 0.4:   # wood-like grain
        ys = np.arange(h, dtype=np.float32)[:, None, None]
        out = out + 12 * np.sin(ys / r.uniform(3, 12) + np.arange(w, dtype=np.float32)[None, :, None] * 0.01)
    return out


def _simulate(r: random.Random, page: _Page, photo: bool) -> tuple[Image.Image, list, list]:
    """Scan or photo of the page -> RGB image, boxes (AABB of warped pieces), core quads."""
    rng = np.random.default_rng(r.randrange(2**31))
    W, H = page.w, page.h
    colour = r.uniform(0, 70) if r.random() < 0.7 else r.uniform(0, 25)
    ink = np.asarray(page.ink, np.float32) / 255.0
    paper = 255.0 - ink * (255.0 - colour)                        # (H, W) grey page
    if photo:
        fit = r.uniform(0.75, 1.0) if r.random() < 0.8 else r.uniform(1.0, 1.5)   # > 1: partial page
        out_h = r.randint(1400, 2100)
        out_w = round(out_h * r.uniform(0.68, 0.8))
        s = min(out_w / W, out_h / H) * fit
        cx, cy = out_w / 2 + r.uniform(-0.08, 0.08) * out_w, out_h / 2 + r.uniform(-0.06, 0.06) * out_h
        ang = math.radians(r.uniform(-8, 8))
        jit = 0.07 * r.random()
    else:
        out_w, out_h = W, H
        s, cx, cy = 1.0, W / 2, H / 2
        ang = math.radians(r.gauss(0, 0.6))
        jit = 0.004 * r.random()
    corners = np.array([[0, 0], [W, 0], [W, H], [0, H]], np.float64)
    ca, sa = math.cos(ang), math.sin(ang)
    dst = []
    for x, y in corners:
        x, y = (x - W / 2) * s, (y - H / 2) * s
        x, y = x * ca - y * sa + cx, x * sa + y * ca + cy
        dst.append([x + r.uniform(-jit, jit) * out_w, y + r.uniform(-jit, jit) * out_h])
    hm = homography(corners, np.asarray(dst))
    hinv = np.linalg.inv(hm)
    # Page curl: the page's y shifts by a smooth function of x (a bent page seen from above).
    amp = (H * r.uniform(0.0, 0.015)) if photo and r.random() < 0.6 else 0.0
    ph, fr = r.uniform(0, math.pi), r.uniform(0.5, 1.5)

    def curl(x):
        return amp * np.sin(ph + fr * math.pi * np.asarray(x) / W)

    ys, xs = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    qx, qy = _apply_h(hinv, xs, ys)
    py = qy - curl(qx)
    grey = _bilinear(paper, qx.astype(np.float32), py.astype(np.float32), fill=-1.0)
    inside = grey >= 0
    if photo:
        tint = np.array([r.uniform(235, 255), r.uniform(230, 252), r.uniform(215, 245)], np.float32) / 255.0
    else:   # scanners see (nearly) neutral paper
        tint = np.full(3, r.uniform(0.9, 1.0), np.float32) * np.array([1.0, 1.0, r.uniform(0.96, 1.0)], np.float32)
    rgb = grey[..., None] * tint
    if photo:
        rgb = np.where(inside[..., None], rgb, _desk(r, out_w, out_h))
        # light: a smooth gradient times an optional soft shadow
        gx, gy = np.linspace(-1, 1, out_w)[None, :], np.linspace(-1, 1, out_h)[:, None]
        light = 1 + r.uniform(-0.25, 0.25) * gx + r.uniform(-0.25, 0.25) * gy
        light = light * r.uniform(0.7, 1.05)
        if r.random() < 0.5:
            a, b = r.uniform(-1, 1), r.uniform(-1, 1)
            edge = (gx * math.cos(a * 3) + gy * math.sin(a * 3)) - b
            light = light * (1 - r.uniform(0.2, 0.5) / (1 + np.exp(-edge * r.uniform(4, 20))))
        rgb = rgb * light[..., None].astype(np.float32)
    else:
        rgb = np.where(inside[..., None], rgb, 255.0)
        if r.random() < 0.3:
            rgb = rgb * (1 - 0.08 * np.linspace(0, 1, out_w)[None, :, None]).astype(np.float32)
    rgb = rgb + rng.normal(0, r.uniform(0.5, 7 if photo else 4), (out_h, out_w, 1)).astype(np.float32)
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    blur = r.uniform(0, 1.4) if photo else r.choice([0, 0, 0.3, 0.6])
    if blur > 0.2:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    if not photo:
        x = r.random()
        if x < 0.12:     # ink spread of old prints: strokes thicken
            img = img.filter(ImageFilter.MinFilter(3))
        elif x < 0.27:   # photocopy / bilevel scan: threshold, then the scanner's slight blur
            g = np.asarray(img.convert("L"))
            img = Image.fromarray(np.where(g < r.uniform(110, 170), 20, 245).astype(np.uint8)).filter(
                ImageFilter.GaussianBlur(r.uniform(0.3, 0.8)))
        if r.random() < 0.5 or img.mode != "RGB":
            img = img.convert("L").convert("RGB")
    if photo or r.random() < 0.5:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=r.randint(40 if photo else 70, 95))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")

    def fwd(x, y):
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        return _apply_h(hm, x, y + curl(x))

    boxes, cores = [], []
    for x1, y1, x2, y2, kind in page.pieces:
        t = np.linspace(0, 1, 9)
        px = np.concatenate([x1 + (x2 - x1) * t, x1 + (x2 - x1) * t, [x1, x1, x2, x2]])
        py_ = np.concatenate([np.full(9, y1), np.full(9, y2), [y1, y2, y1, y2]])
        u, v = fwd(px, py_)
        bx = (float(u.min()), float(v.min()), float(u.max()), float(v.max()))
        cbx = max(0.0, min(bx[2], out_w)) - max(0.0, bx[0])
        cby = max(0.0, min(bx[3], out_h)) - max(0.0, bx[1])
        if cbx <= 0 or cby <= 0 or cbx * cby < 0.6 * (bx[2] - bx[0]) * (bx[3] - bx[1]):
            continue   # mostly outside a partial page: not labelled, and not drawn as a core either
        # core quad, shrunk in page coordinates (see data.core_quad)
        sh = min(y2 - y1, x2 - x1) * 0.3
        cx_ = [x1 + sh, x2 - sh, x2 - sh, x1 + sh]
        cy_ = [y1 + sh, y1 + sh, y2 - sh, y2 - sh]
        if sh * 2 >= min(y2 - y1, x2 - x1):
            cx_, cy_ = [(x1 + x2) / 2] * 4, [(y1 + y2) / 2] * 4
        cu, cv = fwd(cx_, cy_)
        boxes.append((max(0.0, bx[0]), max(0.0, bx[1]), min(float(out_w), bx[2]), min(float(out_h), bx[3]), kind))
        cores.append(list(zip(cu.tolist(), cv.tolist())))
    return img, boxes, cores


def make_page(seed: int, bank: Bank, photo: bool | None = None, version: int = 1) -> PageSample:
    """Render one synthetic page of data `version` (reproducible by seed). photo None: 50/50 scan or photo."""
    if version not in DATA_VERSIONS:
        raise ValueError(f"formula data version {version} unknown; known: {DATA_VERSIONS}")
    r = random.Random(seed)
    if photo is None:
        photo = r.random() < 0.5
    page, slices = _layout(r, bank, version)
    img, boxes, cores = _simulate(r, page, photo)
    slices["capture"] = "photo" if photo else "scan"
    return PageSample(img, boxes, cores, slices)


def write_dataset(out: Path, n: int, seed: int, bank: Bank, photo: bool | None = None, version: int = 1) -> Path:
    """Write `n` pages (seeds seed * 1_000_003 + i) of data `version` as an eval dataset: images/ + annotations.jsonl."""
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        s = make_page(seed * 1_000_003 + i, bank, photo, version)
        name = f"images/page_{i:05d}.{'jpg' if s.slices['capture'] == 'photo' else 'png'}"
        if name.endswith(".jpg"):
            s.image.save(out / name, quality=92)
        else:
            s.image.convert("L").save(out / name)
        lines.append(json.dumps({"file": name, "boxes": [[round(v, 1) for v in b[:4]] + [b[4]] for b in s.boxes],
                                 "width": s.image.width, "height": s.image.height, **s.slices}))
    (out / "annotations.jsonl").write_text("\n".join(lines) + "\n")
    return out
