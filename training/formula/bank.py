"""Random LaTeX formulas rendered once with matplotlib mathtext into a bank of ink crops.

Rendering mathtext costs ~15 ms a formula, so pages do not render their own: a bank of a few thousand
formulas (inline-sized and display-sized, several math fonts) is rendered once per seed and pages
scale crops from it to their text size, setting them on the text baseline with the stored depth.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["BANK_EM", "Bank", "build_bank", "load_bank", "random_display", "random_inline", "render_tex"]

BANK_EM = 40            # bank crops are rendered at 40 px per em
MATH_FONTS = ("cm", "stix", "dejavuserif", "dejavusans", "stixsans")

_LAT = "abcdefghijkmnpqrstuvwxyz"
_CAP = "ABCDEFGHIJKLMNPQRSTUVWXYZ"
_GREEK = [r"\alpha", r"\beta", r"\gamma", r"\delta", r"\epsilon", r"\theta", r"\lambda", r"\mu", r"\pi",
          r"\sigma", r"\phi", r"\omega", r"\xi", r"\eta", r"\rho", r"\tau", r"\Gamma", r"\Delta", r"\Omega",
          r"\Sigma", r"\Phi", r"\Lambda"]
_REL = ["=", "=", "=", r"\leq", r"\geq", "<", ">", r"\neq", r"\approx", r"\equiv", r"\in", r"\subset",
        r"\subseteq", r"\to", r"\mapsto", r"\models", r"\vdash", r"\sim", r"\Rightarrow", r"\Leftrightarrow"]
_BIN = ["+", "-", "+", "-", r"\cdot", r"\times", r"\cup", r"\cap", r"\vee", r"\wedge", r"\pm", r"\circ", "/"]
_FUN = [r"\sin", r"\cos", r"\log", r"\exp", r"\ln", r"\tan", r"\max", r"\min", r"\det", r"\lim"]
_WORDS = ["cons", "nil", "Append", "Max", "Sort", "len", "rank", "deg", "mod", "gcd", "Pr", "Var", "Head",
          "Tail", "sign", "card"]


def _sym(r: random.Random) -> str:
    x = r.random()
    if x < 0.5:
        return r.choice(_LAT)
    if x < 0.75:
        return r.choice(_CAP)
    if x < 0.93:
        return r.choice(_GREEK)
    return r"\mathbf{" + r.choice(_CAP) + "}"


def _num(r: random.Random) -> str:
    return r.choice(["0", "1", "2", "1", "2", "3", "n", str(r.randint(2, 99)), f"{r.randint(0, 9)}.{r.randint(1, 99)}"])


def _sub(r: random.Random, base: str) -> str:
    x = r.random()
    if x < 0.35:
        return base + "_" + r.choice(["i", "j", "k", "n", "0", "1", "2", "m", "t"])
    if x < 0.5:
        return base + "_{" + r.choice(["i+1", "n-1", "ij", "k,l", "i-1", "0"]) + "}"
    if x < 0.65:
        return base + "^" + r.choice(["2", "3", "n", "k", r"\prime", "*", "T", "-1"])
    if x < 0.75:
        return base + "_" + r.choice(["i", "n", "k"]) + "^" + r.choice(["2", "*", r"\prime"])
    return base


def _atom(r: random.Random, depth: int = 0) -> str:
    x = r.random()
    if x < 0.45 or depth > 2:
        return _sub(r, _sym(r))
    if x < 0.55:
        return _num(r)
    if x < 0.65:
        return r.choice(_FUN) + " " + _sub(r, _sym(r))
    if x < 0.75:
        return r"\mathrm{" + r.choice(_WORDS) + "}(" + ",".join(_atom(r, depth + 1) for _ in range(r.randint(1, 3))) + ")"
    if x < 0.82:
        return r.choice("fghFGP") + "(" + ",".join(_sub(r, _sym(r)) for _ in range(r.randint(1, 3))) + ")"
    if x < 0.88:
        return r"\frac{" + _expr(r, depth + 1, 2) + "}{" + _expr(r, depth + 1, 2) + "}"
    if x < 0.93:
        return r"\sqrt{" + _expr(r, depth + 1, 2) + "}"
    if x < 0.97:
        return r"\left(" + _expr(r, depth + 1, 3) + r"\right)"
    return r"\{" + ",".join(_sub(r, _sym(r)) for _ in range(r.randint(1, 3))) + r"\}"


def _expr(r: random.Random, depth: int = 0, max_terms: int = 4) -> str:
    terms = [_atom(r, depth)]
    for _ in range(r.randint(0, max_terms - 1)):
        terms.append(r.choice(_BIN))
        terms.append(_atom(r, depth))
    return " ".join(terms)


def random_inline(r: random.Random) -> str:
    """Inline formulas: mostly one symbol or a short relation, as in running text."""
    x = r.random()
    if x < 0.38:
        return _sym(r)
    if x < 0.60:
        return _sub(r, _sym(r))
    if x < 0.80:
        return _sub(r, _sym(r)) + " " + r.choice(_REL) + " " + _expr(r, 3, 2)
    if x < 0.90:
        return _atom(r, 2)
    if x < 0.95:
        return r"\{" + _sub(r, r.choice(_LAT)) + r", \ldots, " + _sub(r, r.choice(_LAT)) + r"\}"
    return _expr(r, 1, 3)


def random_display(r: random.Random) -> str:
    """Display formulas: relations with sums, integrals, fractions, roots, sub/superscripts."""
    lhs = _expr(r, 0, 2)
    x = r.random()
    if x < 0.25:
        rhs = r"\sum_{" + r.choice("ijkn") + "=" + r.choice(["0", "1"]) + "}^{" + r.choice(["n", "N", r"\infty", "m"]) + "} " + _expr(r, 1, 3)
    elif x < 0.45:
        rhs = r"\int_{" + r.choice(["0", "a", r"-\infty", r"\Omega"]) + "}^{" + r.choice(["1", "b", r"\infty", "t"]) + "} " + _expr(r, 1, 2) + r"\,d" + r.choice("xtsu")
    elif x < 0.6:
        rhs = r"\frac{" + _expr(r, 1, 3) + "}{" + _expr(r, 1, 3) + "}"
    elif x < 0.7:
        rhs = r"\prod_{" + r.choice("ik") + "=1}^{n} " + _expr(r, 1, 2)
    elif x < 0.78:
        rhs = r"\lim_{" + r.choice("nxt") + r" \to " + r.choice([r"\infty", "0"]) + "} " + _expr(r, 1, 3)
    else:
        rhs = _expr(r, 0, 5)
    s = lhs + " " + r.choice(_REL) + " " + rhs
    if r.random() < 0.3:
        s += " " + r.choice(_BIN) + " " + _expr(r, 1, 3)
    return s


@functools.lru_cache(maxsize=1)
def _parser():
    from matplotlib.mathtext import MathTextParser

    return MathTextParser("agg")


def render_tex(tex: str, font: str = "cm", em: int = BANK_EM) -> tuple[np.ndarray, int] | None:
    """Render `$tex$` -> (ink uint8 (h, w), 0 = paper, 255 = full ink, tightly cropped; depth below the
    baseline in pixels). None when mathtext cannot parse it."""
    from matplotlib.font_manager import FontProperties

    try:
        r = _parser().parse(f"${tex}$", dpi=72, prop=FontProperties(size=em, math_fontfamily=font))
    except Exception:  # noqa: BLE001 - mathtext raises ValueError/ParseFatalException on unsupported input
        return None
    img = np.asarray(r.image, np.uint8)
    if img.size == 0 or img.max() < 64:
        return None
    ys, xs = np.nonzero(img > 40)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    baseline = img.shape[0] - int(round(r.depth))    # row of the baseline in the uncropped image
    return np.ascontiguousarray(img[y0:y1, x0:x1]), baseline - y0


@dataclass
class Bank:
    """Rendered formulas: `ink[i]` (h, w) uint8 at BANK_EM px/em, `base[i]` baseline row, `display[i]`."""

    ink: list[np.ndarray]
    base: np.ndarray
    display: np.ndarray
    font: list[str]
    tex: list[str]

    def pick(self, r: random.Random, display: bool) -> int:
        idx = self._display_idx if display else self._inline_idx
        return idx[r.randrange(len(idx))]

    def pick_short(self, r: random.Random, max_em: float = 1.8) -> int:
        """An inline formula at most `max_em` ems wide (a variable such as x_1, an item of a list), drawn as
        `pick` draws; the last draw when eight draws find none."""
        for _ in range(8):
            i = self.pick(r, display=False)
            if self.ink[i].shape[1] <= max_em * BANK_EM:
                break
        return i

    def __post_init__(self):
        self._display_idx = np.nonzero(self.display)[0].tolist()
        self._inline_idx = np.nonzero(~self.display)[0].tolist()


def _render_many(args) -> list[tuple]:
    seed, lo, hi, n_inline = args
    out = []
    for i in range(lo, hi):
        r = random.Random(seed * 7919 + i)
        display = i >= n_inline
        for _ in range(5):
            tex = random_display(r) if display else random_inline(r)
            # STIX (Times-like) first: journals and worksheets are mostly set in Times-like faces.
            font = r.choices(MATH_FONTS, (0.25, 0.4, 0.15, 0.1, 0.1))[0]
            got = render_tex(tex, font)
            if got is not None and (not display or got[0].shape[1] < 40 * BANK_EM):
                out.append((got[0], got[1], display, font, tex))
                break
    return out


def build_bank(seed: int = 0, n_inline: int = 2400, n_display: int = 1200, workers: int = 1) -> Bank:
    """Render the bank (reproducible by seed)."""
    n = n_inline + n_display
    chunks = [(seed, lo, min(n, lo + 200), n_inline) for lo in range(0, n, 200)]
    if workers > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_render_many, chunks)
    else:
        parts = [_render_many(c) for c in chunks]
    rows = [x for p in parts for x in p]
    return Bank([x[0] for x in rows], np.array([x[1] for x in rows], np.int32), np.array([x[2] for x in rows], bool),
                [x[3] for x in rows], [x[4] for x in rows])


def load_bank(path: Path | None, seed: int = 0, n_inline: int = 2400, n_display: int = 1200,
              workers: int = 1) -> Bank:
    """The bank at `path` (rendered and saved there first if missing); no path: render in memory."""
    if path is not None and Path(path).exists():
        z = np.load(path, allow_pickle=False)
        shapes, flat = z["shapes"], z["flat"]
        ink, o = [], 0
        for h, w in shapes:
            ink.append(flat[o:o + h * w].reshape(h, w))
            o += h * w
        return Bank(ink, z["base"], z["display"], z["font"].tolist(), z["tex"].tolist())
    bank = build_bank(seed, n_inline, n_display, workers)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(str(path) + ".tmp.npz")
        np.savez(tmp, shapes=np.array([a.shape for a in bank.ink], np.int32),
                 flat=np.concatenate([a.ravel() for a in bank.ink]), base=bank.base, display=bank.display,
                 font=np.array(bank.font), tex=np.array(bank.tex))
        tmp.rename(path)
    return bank
