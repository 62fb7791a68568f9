"""Draws the Teams app icons: ``color.png`` (192x192, full colour) and
``outline.png`` (32x32, white on transparent), as Teams asks.

Run from the project root after changing the design, and commit the PNGs:
``.venv/bin/python teams/make_icons.py``. Pillow comes with matplotlib.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
ACCENT = (46, 107, 94, 255)  # the manifest's accentColor, #2E6B5E
WHITE = (255, 255, 255, 255)
SCALE = 8  # drawn large and scaled down, for smooth edges


def piece(size: int, inset: float) -> Image.Image:
    """A white jigsaw piece on transparent: a square with a knob on top and
    on the right, and a socket on the left, filling ``size`` less ``inset``."""
    big = size * SCALE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    edge = big * inset
    span = big - 2 * edge
    body = span * 0.78  # room left for the knobs
    left, top = edge, edge + span - body
    right, bottom = left + body, top + body
    draw.rectangle((left, top, right, bottom), fill=255)
    knob = body * 0.22
    mid_x, mid_y = (left + right) / 2, (top + bottom) / 2
    draw.ellipse((mid_x - knob, top - 2 * knob * 0.85, mid_x + knob, top + knob * 0.3), fill=255)
    draw.ellipse((right - knob * 0.3, mid_y - knob, right + 2 * knob * 0.85, mid_y + knob),
                 fill=255)
    draw.ellipse((left - knob, mid_y - knob * 0.9, left + knob * 0.9, mid_y + knob * 0.9),
                 fill=0)
    white = Image.new("RGBA", (big, big), (255, 255, 255, 0))
    white.putalpha(mask)
    return white.resize((size, size), Image.Resampling.LANCZOS)


def color_icon() -> Image.Image:
    size = 192
    big = size * SCALE
    tile = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    ImageDraw.Draw(tile).rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.18,
                                           fill=ACCENT)
    tile = tile.resize((size, size), Image.Resampling.LANCZOS)
    tile.alpha_composite(piece(size, 0.2))
    return tile


def outline_icon() -> Image.Image:
    icon = piece(32, 0.04)
    # Teams wants only white and transparency: every pixel white, coverage in alpha.
    alpha = icon.getchannel("A")
    icon = Image.new("RGBA", icon.size, (255, 255, 255, 0))
    icon.putalpha(alpha)
    return icon


def main() -> None:
    color_icon().save(HERE / "color.png", optimize=True)
    outline_icon().save(HERE / "outline.png", optimize=True)


if __name__ == "__main__":
    main()
