"""Fixtures for the Android demo's tests: the built web app, a real collector, synthetic camera video.

Everything runs locally: `npm run build` (once per session, skipped when dist/ already carries the same
models), Debian's /usr/bin/chromium through playwright-core, and `pocketocr serve` on a loopback port.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pocketocr.cli.demo import CHROMIUM, app_dir, ensure_built
from pocketocr.zoo import MODELS_DIR

ROOT = Path(__file__).resolve().parents[2]
APP = app_dir()
# The models built into the app and used for the Python side of each comparison (default: the shipped ones;
# POCKETOCR_DEMO_MODELS=DIR tries candidate models in the demo).
MODELS = Path(os.environ.get("POCKETOCR_DEMO_MODELS", MODELS_DIR))
ARTIFACTS = ROOT / "test-artifacts" / "demo"


def have_card_models() -> bool:
    return (MODELS / "card_det.int8.onnx").exists() and (MODELS / "card_rec.int8.onnx").exists()


def have_formula_model() -> bool:
    return (MODELS / "formula_det.int8.onnx").exists()


def _needs_node() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js 20+ and npm are not installed")
    if not (APP / "node_modules").exists():
        pytest.fail(f"{APP}/node_modules is missing: run `make demo-deps` (npm ci in android_demo)")


def needs_browser() -> None:
    _needs_node()
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium; `make test` installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pocketocr.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, check=False)


@pytest.fixture(scope="session")
def dist() -> Path:
    """The built web app with the shipped models (built once per session when missing or stale)."""
    needs_browser()
    if not have_card_models():
        pytest.skip(f"the card models are not shipped yet ({MODELS}/card_*.int8.onnx)")
    return ensure_built(models=MODELS, timeout=600)


@dataclass
class Collector:
    db: str
    port: int
    key: str
    origin: str
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # the server writes to its own copy of the file descriptor: ours can close once it has started
        with open(Path(self.db.removeprefix("sqlite:///")).with_suffix(".log"), "w") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "pocketocr.cli.main", "serve", "--db", self.db,
                                          "--host", "127.0.0.1", "--port", str(self.port), "--cors-origin",
                                          self.origin, "--log-level", "warning"], stdout=log,
                                         stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
            if self.proc.poll() is not None:
                break
        raise RuntimeError("the collector did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def events(self) -> list:
        from pocketocr.online.storage import open_store

        store = open_store(self.db)
        try:
            return store.events()
        finally:
            store.close()

    def image(self, event_id: str):
        from pocketocr.online.storage import open_store

        store = open_store(self.db)
        try:
            return store.image(event_id)
        finally:
            store.close()

    def report(self) -> dict:
        proc = cli("report", "online", "--db", self.db, "--json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)


@pytest.fixture
def collector_factory(tmp_path):
    """collector_factory(app_port, start=True): a real `pocketocr serve` on loopback with a fresh SQLite db and key."""
    made: list[Collector] = []

    def make(app_port: int, start: bool = True) -> Collector:
        db = f"sqlite:///{tmp_path / f'events{len(made)}.sqlite3'}"
        proc = cli("serve", "keys", "create", "demo-e2e", "--db", db)
        assert proc.returncode == 0, proc.stderr
        c = Collector(db, free_port(), proc.stdout.strip().splitlines()[-1], f"http://127.0.0.1:{app_port}")
        made.append(c)
        if start:
            c.start()
        return c

    yield make
    for c in made:
        c.stop()


# --- synthetic camera video -------------------------------------------------------------------------------

def rgb_to_i420(rgb: np.ndarray) -> bytes:
    """(H, W, 3) uint8 RGB, even sides -> I420 planes, BT.601 limited range (what a camera delivers)."""
    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16 + 0.2568 * r + 0.5041 * g + 0.0979 * b
    u = 128 - 0.1482 * r - 0.2910 * g + 0.4392 * b
    v = 128 + 0.4392 * r - 0.3678 * g - 0.0714 * b
    sub = lambda c: c.reshape(c.shape[0] // 2, 2, c.shape[1] // 2, 2).mean((1, 3))
    planes = [np.clip(np.rint(p), 0, 255).astype(np.uint8) for p in (y, sub(u), sub(v))]
    return b"".join(p.tobytes() for p in planes)


def i420_to_rgb(data: bytes, w: int, h: int) -> np.ndarray:
    """Inverse of rgb_to_i420 (nearest chroma upsampling): an approximation of what the browser draws."""
    n = w * h
    y = np.frombuffer(data[:n], np.uint8).reshape(h, w).astype(np.float32)
    u = np.frombuffer(data[n:n + n // 4], np.uint8).reshape(h // 2, w // 2).repeat(2, 0).repeat(2, 1).astype(np.float32)
    v = np.frombuffer(data[n + n // 4:], np.uint8).reshape(h // 2, w // 2).repeat(2, 0).repeat(2, 1).astype(np.float32)
    c, d, e = y - 16, u - 128, v - 128
    rgb = np.stack([1.164 * c + 1.596 * e, 1.164 * c - 0.392 * d - 0.813 * e, 1.164 * c + 2.017 * d], -1)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    """Write RGB frames as a YUV4MPEG2 4:2:0 file (Chromium's fake camera plays it in a loop)."""
    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for fr in frames:
            f.write(b"FRAME\n")
            f.write(rgb_to_i420(fr))
    return path


def card_video_frames(seed: int, size: tuple[int, int] = (1280, 720), n: int = 6) -> tuple[list[np.ndarray], object]:
    """A short hand-held 16:9 video (the app asks the camera for 1280x720) of synthetic card `seed`: the 4:3
    photo scaled to the frame height, its edges extended to the sides, with 0-3 px of jitter per frame."""
    from pocketocr.training.card.synth import make_sample

    s = make_sample(seed, version=2)  # pinned: a newer data version must not change the test video
    w, h = size
    img = s.image.convert("RGB")
    inner = np.asarray(img.resize((round(img.width * h / img.height) // 2 * 2, h), Image.BILINEAR))
    left = (w - inner.shape[1]) // 2
    base = np.pad(inner, ((0, 0), (left, w - inner.shape[1] - left), (0, 0)), mode="edge")
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        dx, dy = (0, 0) if i == 0 else (int(rng.integers(-3, 4)), int(rng.integers(-3, 4)))
        frames.append(np.ascontiguousarray(np.roll(base, (dy, dx), axis=(0, 1))))
    return frames, s


@pytest.fixture(scope="session")
def card_video(tmp_path_factory):
    """(y4m path, truth number, truth expiry): the first synthetic card, from seed 500 on, whose every video
    frame (after the YUV 4:2:0 round trip) the Python SDK reads exactly, so the test checks the app, not the model."""
    from pocketocr.tasks.card.predictor import CardReader

    if not have_card_models():
        pytest.skip("the card models are not shipped yet")
    reader = CardReader(MODELS / "card_det.int8.onnx", MODELS / "card_rec.int8.onnx")
    out = tmp_path_factory.mktemp("video")
    for seed in range(500, 540):
        frames, s = card_video_frames(seed)
        if s.expiry is None:
            continue
        h, w = frames[0].shape[:2]
        seen = [reader.read(i420_to_rgb(rgb_to_i420(f), w, h)) for f in frames]
        if all(r.number == s.number and r.expiry == s.expiry for r in seen):
            return write_y4m(out / "card.y4m", frames), s.number, s.expiry, seed
    pytest.skip("no synthetic card among seeds 500-539 is read exactly by the SDK: the models are too weak for this test")
