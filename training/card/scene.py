"""Place a rendered card in a photo-like scene and degrade it like a phone camera would.

A scene is the card on a table, desk or cloth, or held in a hand, seen with perspective (up to ~30°),
in-plane rotation (±20°, or ±90° for a sideways phone), at 30–100% of the frame; then glare, shadows,
colour casts, blur, low resolution, noise and JPEG. All field quads are carried through the warp.
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..geometry import homography
from .face import CardFace
from .fonts import pick_font

__all__ = ["apply_h", "compose_scene", "homography"]

_SIZES = [(640, 480), (800, 600), (960, 720), (1280, 720), (1024, 768), (720, 1280), (600, 800), (480, 640),
          (1280, 960), (1600, 1200)]


def apply_h(h: np.ndarray, pts) -> np.ndarray:
    p = np.asarray(pts, np.float64).reshape(-1, 2)
    q = np.c_[p, np.ones(len(p))] @ h.T
    return q[:, :2] / q[:, 2:3]


def _table(rng: random.Random, w: int, h: int) -> Image.Image:
    kind = rng.choice(["wood", "desk", "cloth", "paper", "dark", "noise"])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    if kind == "wood":
        base = np.array([rng.randint(90, 190), rng.randint(55, 120), rng.randint(20, 70)], np.float32)
        t = np.sin(yy / rng.uniform(3, 12) + np.sin(xx / rng.uniform(40, 200)) * rng.uniform(1, 5))
        arr = base * (0.85 + 0.15 * t[..., None])
    elif kind == "cloth":
        base = np.array([rng.randint(20, 230) for _ in range(3)], np.float32)
        p = rng.uniform(3, 8)
        t = (np.sin(xx / p * math.pi) * np.sin(yy / p * math.pi))
        arr = base * (0.9 + 0.1 * t[..., None])
    elif kind == "noise":
        n = 0.5 + (nrng.random((h // 16 + 1, w // 16 + 1, 3)).astype(np.float32) - 0.5) * rng.uniform(0.1, 0.6)
        arr = np.asarray(Image.fromarray((n * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC), np.float32)
    else:
        lvl = {"desk": rng.randint(150, 235), "paper": rng.randint(200, 250), "dark": rng.randint(15, 70)}[kind]
        tint = np.array([rng.uniform(0.9, 1.1) for _ in range(3)], np.float32)
        arr = np.full((h, w, 3), lvl, np.float32) * tint
    arr += nrng.normal(0, rng.uniform(1, 8), (h, w, 1)).astype(np.float32)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    # Clutter: papers, coins, pens, printed text with digits (distractors outside the card).
    d = ImageDraw.Draw(img, "RGBA")
    for _ in range(rng.randint(0, 6)):
        k = rng.random()
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        if k < 0.3:
            pts = [(x + rng.uniform(-300, 300), y + rng.uniform(-300, 300)) for _ in range(4)]
            d.polygon(pts, fill=(rng.randint(200, 255),) * 3 + (rng.randint(150, 255),))
        elif k < 0.5:
            r = rng.uniform(10, 40)
            d.ellipse([x - r, y - r, x + r, y + r], fill=(rng.randint(120, 220), rng.randint(100, 180), 60, 255))
        elif k < 0.65:
            d.line([x, y, x + rng.uniform(-300, 300), y + rng.uniform(-300, 300)],
                   fill=tuple(rng.randint(0, 255) for _ in range(3)) + (255,), width=rng.randint(4, 14))
        else:
            font, _ = pick_font(rng, ["sans", "mono", "serif"], rng.randint(10, 30))
            txt = rng.choice(["TOTAL 12.50", "Receipt #00421", "2024-03-11", "Tel 555 0134 2210", "ORDER 88231",
                              "VAT 20%", "합계 12,000원", "3 x 4.99", "Thank you!"])
            d.text((x, y), txt, font=font, fill=(rng.randint(0, 80),) * 3 + (255,))
    return img


def _camera_quad(rng: random.Random, cw: int, ch: int, W: int, H: int, kind: str) -> np.ndarray:
    """Where the card's corners land in the photo: 3D tilt, in-plane rotation, scale and position."""
    if kind == "render":  # a flat render or scan: the card fills the image, no perspective
        m = rng.uniform(0.0, 0.08)
        s = min(W * (1 - 2 * m) / cw, H * (1 - 2 * m) / ch)
        x0, y0 = (W - cw * s) / 2, (H - ch * s) / 2
        return np.array([[x0, y0], [x0 + cw * s, y0], [x0 + cw * s, y0 + ch * s], [x0, y0 + ch * s]])
    rx, ry = math.radians(rng.uniform(-30, 30)), math.radians(rng.uniform(-30, 30))
    rz = math.radians(rng.uniform(-20, 20) if rng.random() < 0.85 else rng.uniform(-6, 6))
    if rng.random() < 0.08:
        rz += math.pi / 2 * rng.choice([-1, 1])
    pts = np.array([[-cw / 2, -ch / 2, 0], [cw / 2, -ch / 2, 0], [cw / 2, ch / 2, 0], [-cw / 2, ch / 2, 0]], float)
    cx, sx, cy, sy, cz, sz = math.cos(rx), math.sin(rx), math.cos(ry), math.sin(ry), math.cos(rz), math.sin(rz)
    r = (np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]]) @ np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
         @ np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]]))
    p = pts @ r.T
    f = max(cw, ch) * rng.uniform(1.2, 3.0)
    p2 = p[:, :2] * (f / (f + p[:, 2:3]))
    span = np.ptp(p2, axis=0)
    frac = rng.uniform(0.3, 1.0)  # card size as a fraction of the frame
    s = frac * min(W / span[0], H / span[1])
    p2 = p2 * s
    lo, hi = p2.min(0), p2.max(0)
    ox = rng.uniform(-lo[0], W - hi[0]) if W - hi[0] > -lo[0] else W / 2
    oy = rng.uniform(-lo[1], H - hi[1]) if H - hi[1] > -lo[1] else H / 2
    return p2 + np.array([ox, oy])


def _hand(rng: random.Random, img: Image.Image, quad: np.ndarray, keep_clear: list[np.ndarray]) -> None:
    """A thumb and fingers over one edge of the card, never over a labelled field (labels stay true)."""
    skin = (rng.randint(120, 245), rng.randint(80, 200), rng.randint(60, 170), 255)
    clear = [(q.min(0), q.max(0)) for q in keep_clear]
    for _ in range(12):
        i = rng.randrange(4)
        a, b = quad[i], quad[(i + 1) % 4]
        edge = np.linalg.norm(b - a) + 1e-6
        c = a + (b - a) * rng.uniform(0.15, 0.85)
        r = edge * rng.uniform(0.05, 0.1)
        blobs = [c + (b - a) / edge * k * r * 1.8 for k in range(rng.randint(1, 3))]
        boxes = [(bc - (r, r * 1.6), bc + (r, r * 1.6)) for bc in blobs]
        if any(np.all(lo1 < hi2) and np.all(lo2 < hi1) for lo1, hi1 in boxes for lo2, hi2 in clear):
            continue
        d = ImageDraw.Draw(img, "RGBA")
        for lo, hi in boxes:
            d.ellipse([lo[0], lo[1], hi[0], hi[1]], fill=skin)
        return


def _lighting(rng: random.Random, arr: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, list]:
    """Uneven light, hard shadows, glare, colour cast and gamma. Maps are built at 1/4 size (smooth anyway).

    Also returns the glare spots drawn, (centre, sx, sy, angle, amplitude) each, for the condition slices."""
    h, w = arr.shape[:2]
    sh, sw = max(2, h // 4), max(2, w // 4)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float32) * 4
    mul = np.ones((sh, sw), np.float32)
    add = np.zeros((sh, sw), np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    g = (xx * math.cos(ang) + yy * math.sin(ang)) / max(w, h)
    mul *= 1 + rng.uniform(-0.35, 0.35) * (g - g.mean())
    if rng.random() < 0.3:  # hard-edged shadow (phone or hand) across part of the image
        ang = rng.uniform(0, 2 * math.pi)
        t = (xx - rng.uniform(0, w)) * math.cos(ang) + (yy - rng.uniform(0, h)) * math.sin(ang)
        mul *= 1 - rng.uniform(0.2, 0.55) / (1 + np.exp(np.clip(-t / rng.uniform(3, 40), -60, 60)))
    glares = []
    for _ in range(rng.choice([0, 0, 1, 1, 2])):  # glare / specular highlight on the card
        c = quad.mean(0) + (quad[rng.randrange(4)] - quad.mean(0)) * rng.uniform(0, 0.9)
        sx, sy = rng.uniform(0.03, 0.18) * w, rng.uniform(0.02, 0.12) * h
        a = rng.uniform(-1, 1)
        # strong enough to wash out some digits, not (as a too-bright blob did) the whole card
        amp = rng.uniform(40, 200)
        add += amp * _spot(xx, yy, c, sx, sy, a)
        glares.append((c, sx, sy, a, amp))
    mul_full = np.asarray(Image.fromarray(mul, "F").resize((w, h), Image.BILINEAR))
    add_full = np.asarray(Image.fromarray(add, "F").resize((w, h), Image.BILINEAR))
    out = arr.astype(np.float32) * mul_full[..., None] + add_full[..., None]
    out *= np.array([rng.uniform(0.82, 1.18) for _ in range(3)], np.float32)  # colour cast
    return 255 * (np.clip(out, 0, 255) / 255) ** rng.uniform(0.7, 1.4), glares


def _spot(x: np.ndarray, y: np.ndarray, c, sx: float, sy: float, a: float) -> np.ndarray:
    """A glare spot's shape at (x, y): an elliptical Gaussian centred on c, rotated by a, peak 1."""
    dx, dy = x - c[0], y - c[1]
    u, v = dx * math.cos(a) + dy * math.sin(a), -dx * math.sin(a) + dy * math.cos(a)
    return np.exp(-(u ** 2 / (2 * sx ** 2) + v ** 2 / (2 * sy ** 2)))


def _glare_at(glares: list, pts: np.ndarray) -> float:
    """The strongest glare brightness (grey levels added) at any of the points `pts` (K, 2)."""
    return max([float((amp * _spot(pts[:, 0], pts[:, 1], c, sx, sy, a)).max()) for c, sx, sy, a, amp in glares],
               default=0.0)


def _motion_blur(arr: np.ndarray, length: int, angle: float) -> np.ndarray:
    acc = np.zeros_like(arr, dtype=np.float32)
    for i in range(length):
        t = i - (length - 1) / 2
        dx, dy = int(round(t * math.cos(angle))), int(round(t * math.sin(angle)))
        acc += np.roll(arr, (dy, dx), axis=(0, 1))
    return acc / length


def _degrade(rng: random.Random, img: Image.Image, strength: float) -> tuple[Image.Image, float]:
    """Blur, low resolution, noise and JPEG; also returns a rough blur size in pixels (the condition slices)."""
    arr = np.asarray(img, np.float32)
    blur_px = 0.0
    if rng.random() < 0.25 * strength:
        length = rng.randint(2, 7)
        arr = _motion_blur(arr, length, rng.uniform(0, math.pi))
        blur_px += length / 2
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.4 * strength:
        radius = rng.uniform(0.3, 1.8)
        img = img.filter(ImageFilter.GaussianBlur(radius))
        blur_px += radius
    if rng.random() < 0.35 * strength:  # low resolution sensor / digital zoom
        f = rng.uniform(0.35, 0.8)
        blur_px += 1 / f - 1
        small = img.resize((max(8, int(img.width * f)), max(8, int(img.height * f))), Image.BILINEAR)
        img = small.resize(img.size, Image.BILINEAR)
    arr = np.asarray(img, np.float32)
    if rng.random() < 0.6 * strength:
        sigma = rng.uniform(1, 12)
        arr = arr + np.random.default_rng(rng.randrange(1 << 30)).normal(0, sigma, arr.shape).astype(np.float32)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if rng.random() < 0.85:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(max(20, int(95 - 70 * strength)), 95))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return img, blur_px


def _conditions(number_quads: list[np.ndarray], glares: list, blur_px: float) -> dict:
    """Slice labels that say how hard the number is to read, from what the scene did to it: its line
    height in the photo, blur relative to that height, and glare on it. Recorded, not drawn: they change
    no random draw, so every data version keeps its images."""
    heights = [np.linalg.norm(q[3] - q[0]) / 2 + np.linalg.norm(q[2] - q[1]) / 2 for q in number_quads]
    px = float(np.median(heights))
    rel = blur_px / max(px, 1.0)
    # glare where the digits are: a 3 x 16 grid over each line's quad (its corners alone miss a spot on the middle)
    u, v = np.meshgrid(np.linspace(0, 1, 16), np.linspace(0, 1, 3))
    u, v = u.reshape(-1, 1), v.reshape(-1, 1)
    grid = [(1 - v) * ((1 - u) * q[0] + u * q[1]) + v * ((1 - u) * q[3] + u * q[2]) for q in map(np.asarray, number_quads)]
    glare = _glare_at(glares, np.concatenate(grid))
    return {"digit_px": "<14" if px < 14 else "14-24" if px < 24 else "24+",
            "blur": "none" if blur_px == 0 else "light" if rel < 0.08 else "heavy",
            "glare": "none" if glare < 30 else "light" if glare < 100 else "strong"}


def compose_scene(rng: random.Random, face: CardFace, kind: str | None = None) -> tuple[Image.Image, dict]:
    """Photograph `face`: returns the RGB photo and labels (quads in photo pixels)."""
    kind = kind or rng.choices(["photo", "render", "hand"], weights=[6, 2.5, 1.5])[0]
    W, H = rng.choice(_SIZES) if kind != "render" else rng.choice([(856, 540), (600, 380), (1000, 630),
                                                                     (320, 200), (800, 600), (640, 480)])
    if kind == "render" and face.image.height > face.image.width:
        W, H = H, W
    cw, ch = face.image.size
    quad = _camera_quad(rng, cw, ch, W, H, kind)
    src = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], float)
    h_card_to_photo = homography(src, quad)
    h_inv = np.linalg.inv(h_card_to_photo)
    coeffs = (h_inv / h_inv[2, 2]).flatten()[:8]
    if kind == "render":
        bg = Image.new("RGB", (W, H), tuple(rng.randint(200, 255) for _ in range(3)) if rng.random() < 0.7
                       else tuple(rng.randint(0, 255) for _ in range(3)))
    else:
        bg = _table(rng, W, H)
    warped = face.image.transform((W, H), Image.PERSPECTIVE, tuple(coeffs), Image.BICUBIC)
    if kind != "render":  # drop shadow under the card
        sh = warped.getchannel("A").filter(ImageFilter.GaussianBlur(rng.uniform(2, 10)))
        off = (rng.randint(-8, 8), rng.randint(0, 12))
        shadow = Image.new("L", (W, H), 0)
        shadow.paste(sh, off)
        bg.paste(Image.new("RGB", (W, H), (0, 0, 0)), (0, 0), shadow.point(lambda v: int(v * 0.45)))
    bg.paste(warped, (0, 0), warped)
    number_quads = [apply_h(h_card_to_photo, q) for q in face.number_quads]
    if kind == "hand":
        fields = list(number_quads)
        if face.expiry_quad is not None:
            fields.append(apply_h(h_card_to_photo, face.expiry_quad))
        _hand(rng, bg, quad, fields)
    glares: list = []
    if kind != "render" or rng.random() < 0.3:
        lit, glares = _lighting(rng, np.asarray(bg), quad)
        bg = Image.fromarray(np.clip(lit, 0, 255).astype(np.uint8))
    bg, blur_px = _degrade(rng, bg, 1.0 if kind != "render" else 0.3)
    labels = {
        "card_quad": quad.round(1).tolist(),
        "number_quads": [q.round(1).tolist() for q in number_quads],
        "expiry_quad": None if face.expiry_quad is None else apply_h(h_card_to_photo, face.expiry_quad).round(1).tolist(),
        "scene": kind,
        "conditions": _conditions(number_quads, glares, blur_px),
    }
    return bg, labels
