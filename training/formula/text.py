"""Words and fonts for the synthetic pages: English, Korean and other Latin-script text, plus look-alikes
(references, equation tags, italic emphasis, numbers) that resemble math but are not formulas."""

from __future__ import annotations

import functools
import random

from PIL import ImageFont

from ..font_dirs import font_index as _index

__all__ = ["FAMILIES", "HANGUL", "citation", "distractor", "family_font", "hangul_font", "words"]

EN = ["the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "be", "by", "on", "this", "are", "we", "which", "from", "or", "an", "can", "at", "not", "if", "then", "there", "each", "given", "set", "let", "such", "program", "clause", "statement", "procedure", "computation", "goal", "variable", "function", "semantics", "logic", "theorem", "proof", "model", "interpretation", "denotation", "called", "following", "shown", "defined", "where", "value", "any", "every", "all", "only", "one", "two", "three", "first", "second", "new", "more", "most", "general", "example", "case", "section", "result", "above", "below", "since", "thus", "hence", "therefore", "implies", "holds", "obtain", "equation", "solution", "problem", "order", "method", "term", "list", "element", "constant", "relation", "operational", "fixpoint", "least", "greatest", "lemma", "corollary", "definition", "consider", "suppose", "assume", "satisfies", "follows", "consequence", "derivation", "resolution", "sequence", "language", "predicate", "system", "approach", "paper", "show", "prove", "note", "observe", "similarly", "respectively", "finite", "infinite", "number", "space", "point", "line", "curve", "area", "length", "positive", "negative", "integer", "real", "complex", "matrix"]
DE = ["die", "der", "und", "ist", "eine", "Gleichung", "für", "alle", "mit", "Lösung", "gilt", "über", "Menge", "daß", "Funktion", "wobei", "jede", "Beweis"]
FR = ["la", "le", "et", "est", "une", "équation", "pour", "tout", "avec", "où", "donc", "ensemble", "fonction", "démonstration", "soit", "alors", "très"]
ES = ["la", "el", "y", "es", "una", "ecuación", "para", "todo", "con", "donde", "función", "solución", "entonces", "según", "número", "además"]
KO = ["함수", "방정식", "다음", "값을", "구하시오", "그러므로", "따라서", "이때", "정리", "증명", "실수", "정수", "집합", "모든", "대하여", "만족하는", "조건", "경우", "그래프", "넓이", "길이", "점", "직선", "곡선", "해", "근", "계수", "문제", "풀이", "보기", "옳은", "것은", "하자", "이다", "라", "하면", "의", "에서", "와", "과", "는", "은", "를", "을", "이", "가", "로", "최댓값", "최솟값", "수열", "극한", "미분", "적분", "확률", "통계", "벡터", "행렬"]

FAMILIES = {  # (regular, italic, bold)
    "serif": [("LiberationSerif-Regular.ttf", "LiberationSerif-Italic.ttf", "LiberationSerif-Bold.ttf"),
              ("NimbusRoman-Regular.otf", "NimbusRoman-Italic.otf", "NimbusRoman-Bold.otf"),
              ("C059-Roman.otf", "C059-Italic.otf", "C059-Bold.otf"),
              ("P052-Roman.otf", "P052-Italic.otf", "P052-Bold.otf"),
              ("texgyretermes-regular.otf", "texgyretermes-italic.otf", "texgyretermes-bold.otf"),
              ("texgyrepagella-regular.otf", "texgyrepagella-italic.otf", "texgyrepagella-bold.otf"),
              ("DejaVuSerif.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerif-Bold.ttf"),
              ("FreeSerif.ttf", "FreeSerifItalic.ttf", "FreeSerifBold.ttf"),
              ("URWBookman-Light.otf", "URWBookman-LightItalic.otf", "URWBookman-Demi.otf")],
    "sans": [("LiberationSans-Regular.ttf", "LiberationSans-Italic.ttf", "LiberationSans-Bold.ttf"),
             ("DejaVuSans.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-Bold.ttf"),
             ("NimbusSans-Regular.otf", "NimbusSans-Italic.otf", "NimbusSans-Bold.otf"),
             ("OpenSans-Regular.ttf", "OpenSans-Italic.ttf", "OpenSans-Bold.ttf"),
             ("Lato-Regular.ttf", "Lato-Italic.ttf", "Lato-Bold.ttf"),
             ("texgyreheros-regular.otf", "texgyreheros-italic.otf", "texgyreheros-bold.otf")],
}
HANGUL = [("NanumMyeongjo.ttf", "NanumMyeongjo.ttf", "NanumMyeongjoBold.ttf"),
          ("NanumGothic.ttf", "NanumGothic.ttf", "NanumGothicBold.ttf"),
          ("NanumBarunGothic.ttf", "NanumBarunGothic.ttf", "NanumBarunGothicBold.ttf"),
          ("NanumSquareR.ttf", "NanumSquareR.ttf", "NanumSquareB.ttf")]


@functools.lru_cache(maxsize=2048)
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(_index()[name], size)


def _available(triples):
    idx = _index()
    return [t for t in triples if all(n in idx for n in t)]


def family_font(r: random.Random, style: str) -> tuple[str, str, str]:
    """A (regular, italic, bold) triple of installed font names for 'serif' or 'sans'."""
    ok = _available(FAMILIES[style]) or _available(FAMILIES["serif"] + FAMILIES["sans"])
    if not ok:
        raise RuntimeError("no text fonts found: install the Debian font packages listed in the Makefile")
    return r.choice(ok)


def hangul_font(r: random.Random) -> tuple[str, str, str] | None:
    ok = _available(HANGUL)
    return r.choice(ok) if ok else None


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return _font(name, max(6, int(size)))


def words(r: random.Random, lang: str) -> list[str]:
    return {"en": EN, "ko": KO, "de": DE + EN[:40], "fr": FR + EN[:40], "es": ES + EN[:40]}[lang]


def citation(r: random.Random) -> str:
    """A citation list or reference range, as papers set them: "[6, 7, 15]", "[5, 18]", "[3-5]", "(1)"."""
    x = r.random()
    if x < 0.6:
        return "[" + ", ".join(str(n) for n in sorted(r.sample(range(1, 40), r.randint(2, 4)))) + "]"
    if x < 0.8:
        a = r.randint(1, 30)
        return f"[{a}-{a + r.randint(1, 4)}]"
    return f"({r.randint(1, 12)})"


def distractor(r: random.Random) -> str:
    """Text that looks like math to a careless detector but is not a formula."""
    x = r.random()
    if x < 0.2:
        return f"[{r.randint(1, 40)}]"
    if x < 0.35:
        return f"({r.randint(1, 9)}{r.choice(['', 'a', 'b'])})"
    if x < 0.5:
        return str(r.choice([1976, 1984, 2021, r.randint(2, 500)]))
    if x < 0.6:
        return r.choice(["i.e.", "e.g.", "cf.", "etc.", "Fig.", "Eq.", "pp.", "vs."])
    if x < 0.7:
        return r.choice(["IEEE", "ACM", "SL", "AND", "OR", "II", "III", "IV", "CPU", "PDF"])
    if x < 0.8:
        return f"{r.randint(1, 99)}-{r.randint(1, 99)}"
    if x < 0.9:
        return f"{r.randint(1, 12)}번"
    return r.choice(["A.", "B.", "(i)", "(ii)", "§3", "No.", "%"])
