"""Draw the Open Badges images: plugin/static/img/badges/<slug>.png, one 256×256 medal per badge of the registry.

Each medal is a coloured disc with a lighter ring and a white symbol, with no words, so one image serves Dutch and
English; the badge's name travels in the BadgeClass next to it. Open Badges asks for a square PNG or SVG of at
least 90 px and at most 256 kB.

Run `.venv/bin/python scripts/draw_badges.py` to regenerate every image after changing the drawing.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plugin.domain.badges import BADGES  # noqa: E402 - after the path set-up, so the script runs from anywhere

OUT = ROOT / "plugin" / "static" / "img" / "badges"
SIZE = 256
SUPERSAMPLE = 4  # draw large, then scale down: smooth edges without a vector renderer
S = SIZE * SUPERSAMPLE
WHITE = (255, 255, 255, 255)
Draw = ImageDraw.ImageDraw


def _u(value: float) -> float:
    """A length on the 256-unit canvas, in supersampled pixels."""
    return value * SUPERSAMPLE


def _box(cx: float, cy: float, r: float) -> tuple[float, float, float, float]:
    return (_u(cx - r), _u(cy - r), _u(cx + r), _u(cy + r))


def _star(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((_u(cx + radius * math.cos(angle)), _u(cy + radius * math.sin(angle))))
    return points


def first_share(d: Draw, ink: tuple) -> None:
    """A paper plane taking off."""
    d.polygon([(_u(72), _u(132)), (_u(186), _u(80)), (_u(118), _u(184)), (_u(112), _u(144))], fill=WHITE)
    d.polygon([(_u(112), _u(144)), (_u(186), _u(80)), (_u(126), _u(150))], fill=ink)
    d.line([(_u(112), _u(144)), (_u(186), _u(80))], fill=ink, width=int(_u(3)))


def personal_touch(d: Draw, ink: tuple) -> None:
    """Quotation marks: your own words."""
    for x in (96, 148):
        d.ellipse(_box(x, 118, 20), fill=WHITE)
        d.polygon([(_u(x - 4), _u(130)), (_u(x + 20), _u(118)), (_u(x - 14), _u(170))], fill=WHITE)


def conversation_starter(d: Draw, ink: tuple) -> None:
    """Two speech bubbles."""
    d.rounded_rectangle((_u(70), _u(78), _u(160), _u(138)), radius=_u(16), fill=WHITE)
    d.polygon([(_u(88), _u(134)), (_u(84), _u(158)), (_u(108), _u(134))], fill=WHITE)
    d.rounded_rectangle((_u(108), _u(120), _u(190), _u(176)), radius=_u(16), fill=WHITE, outline=ink,
                        width=int(_u(5)))
    d.polygon([(_u(168), _u(172)), (_u(176), _u(194)), (_u(152), _u(174))], fill=WHITE)
    for x in (132, 149, 166):
        d.ellipse(_box(x, 148, 5), fill=ink)


def connector(d: Draw, ink: tuple) -> None:
    """People linked in a network."""
    nodes = [(128, 84), (80, 150), (176, 150), (128, 128)]
    for a, b in ((0, 3), (1, 3), (2, 3), (0, 1), (0, 2), (1, 2)):
        d.line([(_u(nodes[a][0]), _u(nodes[a][1])), (_u(nodes[b][0]), _u(nodes[b][1]))], fill=WHITE,
               width=int(_u(6)))
    for i, (x, y) in enumerate(nodes):
        d.ellipse(_box(x, y, 18 if i < 3 else 13), fill=WHITE, outline=ink, width=int(_u(4)))


def expert_voice(d: Draw, ink: tuple) -> None:
    """A light bulb: an idea worth sharing."""
    d.ellipse(_box(128, 112, 40), fill=WHITE)
    d.polygon([(_u(104), _u(130)), (_u(152), _u(130)), (_u(144), _u(160)), (_u(112), _u(160))], fill=WHITE)
    d.rounded_rectangle((_u(110), _u(164), _u(146), _u(176)), radius=_u(4), fill=WHITE)
    d.rounded_rectangle((_u(114), _u(180), _u(142), _u(190)), radius=_u(4), fill=WHITE)
    d.line([(_u(128), _u(160)), (_u(128), _u(124)), (_u(116), _u(110))], fill=ink, width=int(_u(5)))
    d.line([(_u(128), _u(124)), (_u(140), _u(110))], fill=ink, width=int(_u(5)))


def steady(d: Draw, ink: tuple) -> None:
    """Four weeks in a row, each a bit higher."""
    for i, height in enumerate((34, 54, 74, 94)):
        left = 76 + i * 28
        d.rounded_rectangle((_u(left), _u(176 - height), _u(left + 20), _u(176)), radius=_u(4), fill=WHITE)
    d.line([(_u(70), _u(186)), (_u(186), _u(186))], fill=WHITE, width=int(_u(6)))


def programme_graduate(d: Draw, ink: tuple) -> None:
    """A mortarboard."""
    d.polygon([(_u(128), _u(78)), (_u(200), _u(110)), (_u(128), _u(142)), (_u(56), _u(110))], fill=WHITE)
    d.polygon([(_u(88), _u(128)), (_u(168), _u(128)), (_u(168), _u(166)), (_u(128), _u(180)), (_u(88), _u(166))],
              fill=WHITE)
    d.line([(_u(128), _u(110)), (_u(186), _u(122)), (_u(186), _u(160))], fill=ink, width=int(_u(4)))
    d.ellipse(_box(186, 164, 7), fill=ink)


def ambassador(d: Draw, ink: tuple) -> None:
    """A star, recognised by others."""
    d.polygon(_star(128, 134, 64, 27), fill=WHITE)


#: Each badge's colour (Fluent palette tones dark enough for white symbols) and symbol.
DESIGNS: dict[str, tuple[tuple[int, int, int], Callable[[Draw, tuple], None]]] = {
    "first-share": ((0x0F, 0x6C, 0xBD), first_share),
    "personal-touch": ((0x8A, 0x3F, 0x9E), personal_touch),
    "conversation-starter": ((0x03, 0x83, 0x87), conversation_starter),
    "connector": ((0x13, 0x7B, 0x4B), connector),
    "expert-voice": ((0xC2, 0x4E, 0x00), expert_voice),
    "steady": ((0x2E, 0x5E, 0xAA), steady),
    "programme-graduate": ((0x44, 0x47, 0x91), programme_graduate),
    "ambassador": ((0xA4, 0x26, 0x2C), ambassador),
}


def draw(slug: str) -> Image.Image:
    """The medal of one badge, 256×256 RGBA."""
    colour, symbol = DESIGNS[slug]
    ring = tuple(min(255, int(c + (255 - c) * 0.45)) for c in colour) + (255,)
    ink = colour + (255,)
    image = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    d.ellipse(_box(128, 128, 124), fill=ring)
    d.ellipse(_box(128, 128, 106), fill=ink)
    d.ellipse(_box(128, 128, 98), outline=WHITE, width=int(_u(2)))
    symbol(d, ink)
    return image.resize((SIZE, SIZE), Image.Resampling.LANCZOS)


def main() -> int:
    """Draw every badge of the registry; fail when one has no design."""
    missing = sorted(set(BADGES) - set(DESIGNS))
    if missing:
        print(f"no design for: {', '.join(missing)}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    for slug in BADGES:
        path = OUT / f"{slug}.png"
        draw(slug).save(path, format="PNG", optimize=True)
        print(f"{path.relative_to(ROOT)} ({path.stat().st_size // 1024} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
