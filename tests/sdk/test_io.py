"""pocketocr.io.load_image: every odd input gives an RGB image or a one-line ImageError naming it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pocketocr.errors import ImageError
from pocketocr.io import load_image


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageError, match="empty.jpg: empty file"):
        load_image(p)


def test_truncated_jpeg(tmp_path, jpeg_bytes):
    p = tmp_path / "cut.jpg"
    p.write_bytes(jpeg_bytes[: len(jpeg_bytes) // 3])
    with pytest.raises(ImageError, match="cut.jpg"):
        load_image(p)


def test_not_an_image(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello, not an image\n")
    with pytest.raises(ImageError, match="notes.txt: not a recognised image format"):
        load_image(p)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="is a directory"):
        load_image(tmp_path)


def test_one_pixel_image():
    with pytest.raises(ImageError, match="too small"):
        load_image(_save(Image.new("RGB", (1, 1)), "PNG"))


def test_decompression_bomb():
    # A tiny PNG that declares 30000 x 30000 pixels: refused before decoding.
    data = _save(Image.new("1", (30000, 30000)), "PNG")
    assert len(data) < 200_000
    with pytest.raises(ImageError, match="limit|bomb"):
        load_image(data)


@pytest.mark.parametrize("mode", ["CMYK", "L", "RGBA", "P", "LA", "1"])
def test_modes_become_rgb(mode):
    img = Image.new("RGB", (40, 30), (200, 30, 30)).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    out = load_image(_save(img, fmt))
    assert out.mode == "RGB" and out.size == (40, 30)


def test_rgba_transparent_is_composited_on_white():
    img = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    out = load_image(img)
    assert out.getpixel((5, 5)) == (255, 255, 255)


def test_16bit_grey_keeps_contrast():
    arr = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    img16 = Image.frombytes("I;16", (64, 64), arr.tobytes())
    out = np.asarray(load_image(_save(img16, "PNG")))
    assert out.shape == (64, 64, 3)
    assert out.min() == 0 and out.max() == 255
    assert abs(float(np.median(out)) - 127) < 4  # scaled to 8 bits, not clipped to white


def test_animated_gif_reads_first_frame():
    frames = [Image.new("RGB", (32, 32), c) for c in [(255, 0, 0), (0, 255, 0)]]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    out = load_image(buf.getvalue())
    r, g, _ = out.getpixel((3, 3))
    assert r > 200 and g < 50


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (60, 20), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 10, 20))  # white band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = load_image(_save(img, "JPEG", exif=exif))
    assert out.size == (20, 60)
    assert np.asarray(out)[:10].mean() > 200  # the white band is now on top


def test_numpy_inputs():
    assert load_image(np.zeros((20, 30, 3), np.uint8)).size == (30, 20)
    assert load_image(np.zeros((20, 30), np.uint8)).mode == "RGB"
    with pytest.raises(ImageError, match="uint8"):
        load_image(np.zeros((20, 30, 3), np.float32))
    with pytest.raises(ImageError, match="HxWx3"):
        load_image(np.zeros((20, 30, 5), np.uint8))


def test_message_is_one_line(tmp_path, jpeg_bytes):
    p = tmp_path / "bad.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    with pytest.raises(ImageError) as ei:
        load_image(p)
    assert "\n" not in str(ei.value) and "bad.png" in str(ei.value)


def test_large_jpeg_is_decoded_at_a_reduced_scale():
    """A 12 MP JPEG read with max_side=1600 comes back at half scale (libjpeg's DCT scaling, never below
    max_side), with the factor that maps its pixels back; without max_side every pixel is read."""
    from pocketocr.io import load_image_scaled

    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(0, 255, (3024, 4032, 3), dtype=np.uint8)).resize((4032, 3024))
    big.paste((255, 0, 0), (2000, 1000, 2400, 1400))  # a red square, to check where pixels land
    data = _save(big, "JPEG", quality=90)
    img, factor, size = load_image_scaled(data, max_side=1600)
    assert img.size == (2016, 1512) and factor == 0.5 and size == (4032, 3024)
    r, g, b = img.getpixel((1100, 600))  # the square's centre, at half scale
    assert r > 200 and g < 60 and b < 60
    full, f1, size = load_image_scaled(data)
    assert full.size == size == (4032, 3024) and f1 == 1.0
    assert load_image(data).size == (4032, 3024)  # load_image never reduces


def test_reduction_keeps_the_long_side_at_or_above_max_side():
    from pocketocr.io import load_image_scaled

    # arrays and PNGs are reduced by averaging pixel blocks, by the largest factor that keeps max_side
    img, factor, size = load_image_scaled(np.zeros((3000, 5000, 3), np.uint8), max_side=1600)
    assert img.size == (1667, 1000) and factor == 1 / 3 and size == (5000, 3000)
    png = _save(Image.new("RGB", (3300, 1000), (10, 200, 30)), "PNG")
    img, factor, _ = load_image_scaled(png, max_side=1600)
    assert img.size == (1650, 500) and factor == 0.5 and img.getpixel((5, 5)) == (10, 200, 30)
    # under twice max_side nothing changes, not even a copy's pixels
    small = np.random.default_rng(1).integers(0, 255, (1000, 3199, 3), dtype=np.uint8)
    img, factor, _ = load_image_scaled(small, max_side=1600)
    assert factor == 1.0 and np.array_equal(np.asarray(img), small)
    with pytest.raises(ValueError, match="max_side"):
        load_image_scaled(small, max_side=0)


def test_exif_rotation_applies_to_a_reduced_jpeg():
    from pocketocr.io import load_image_scaled

    img = Image.new("RGB", (4000, 1000), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 500, 1000))  # white band on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out, factor, size = load_image_scaled(_save(img, "JPEG", exif=exif), max_side=1000)
    assert factor == 0.25 and out.size == (250, 1000) and size == (1000, 4000)
    assert np.asarray(out)[:100].mean() > 200  # the white band is now on top
