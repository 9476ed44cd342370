"""Draw Ambassador's Teams icons: manifests/color.png (192×192) and manifests/outline.png (32×32).

The mark is a speech bubble carrying a star: knowledge shared in your own words, and the recognition it earns.
The colour icon fills its whole square with the accent colour (Teams rounds the corners itself); the outline
icon is the same mark in white on a transparent background, as Teams requires for the app bar.

Run `.venv/bin/python scripts/draw_icons.py` to regenerate both files after changing the drawing.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

MANIFESTS = Path(__file__).resolve().parents[1] / "manifests"
ACCENT = (0x44, 0x47, 0x91)  # the manifest's accentColor, #444791
BUBBLE = (0xFF, 0xFF, 0xFF)
STAR = (0xFF, 0xB9, 0x00)
SUPERSAMPLE = 8  # draw large, then scale down: smooth edges without a vector renderer


def star(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    """The ten corners of a five-pointed star, point up."""
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def bubble(draw: ImageDraw.ImageDraw, box: tuple[float, float, float, float], radius: float,
           fill: int | tuple[int, ...]) -> None:
    """A filled rounded speech bubble in `box` with its tail at the bottom left."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    draw.rounded_rectangle(box, radius=radius, fill=fill)
    draw.polygon([(left + width * 0.18, bottom - radius), (left + width * 0.12, bottom + height * 0.30),
                  (left + width * 0.46, bottom - 1)], fill=fill)


def color_icon(size: int = 192) -> Image.Image:
    """Full-bleed accent background, white bubble, gold star."""
    big = size * SUPERSAMPLE
    image = Image.new("RGB", (big, big), ACCENT)
    draw = ImageDraw.Draw(image)
    s = big / 192
    bubble(draw, (34 * s, 38 * s, 158 * s, 128 * s), 26 * s, BUBBLE)
    draw.polygon(star(96 * s, 84 * s, 34 * s, 14 * s), fill=STAR)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def outline_icon(size: int = 32) -> Image.Image:
    """The same mark in white on transparent: the shape lives only in the alpha channel."""
    big = size * SUPERSAMPLE
    s = big / 32
    shape = Image.new("L", (big, big), 0)
    bubble(ImageDraw.Draw(shape), (3 * s, 4.5 * s, 29 * s, 23 * s), 5.5 * s, 255)
    # The stroke is the silhouette minus itself shrunk by the stroke width, so the tail is outlined too.
    stroke = round(2 * s)
    mask = ImageChops.subtract(shape, shape.filter(ImageFilter.MinFilter(2 * stroke + 1)))
    ImageDraw.Draw(mask).polygon(star(16 * s, 13.8 * s, 6.6 * s, 2.8 * s), fill=255)
    alpha = mask.resize((size, size), Image.Resampling.LANCZOS)
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    image.putalpha(alpha)
    return image


def main(out: Path = MANIFESTS) -> int:
    """Write both icons into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    color_icon().save(out / "color.png", optimize=True)
    outline_icon().save(out / "outline.png", optimize=True)
    print(f"wrote {out / 'color.png'} and {out / 'outline.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else MANIFESTS))
