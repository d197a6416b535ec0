"""Gate pictures as `(height, width, 3)` uint8 arrays, ready for `tf.summary.image`.

Drawn with Pillow straight from numpy: a picture takes milliseconds, where a matplotlib figure
takes a few hundred (too slow to draw every few epochs within the logging budget). Colours come
from matplotlib's colormaps and the font is matplotlib's DejaVu Sans.

- `heatmap`: one gate of one layer, units (rows) × time (columns), for a few sequences stacked
  top to bottom; the time axis is labelled with the input tokens (or step indices) and the
  positions of interest (switch word, markers, delimiter) are marked in colour.
- `saturation_plot`: Karpathy, Johnson & Fei-Fei (2015): each unit a point at (fraction of steps
  with activation < 0.1, fraction > 0.9), one panel per gate.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib import colormaps, font_manager
from PIL import Image, ImageDraw, ImageFont

from experiments.tensorboard.gate_stats import LEFT_SATURATED, RIGHT_SATURATED, gate_bounds

WHITE, INK, GREY = (255, 255, 255), (40, 40, 40), (160, 160, 160)
MARK_COLOURS = ((228, 26, 28), (255, 127, 0), (152, 78, 163), (55, 126, 184), (77, 175, 74))
POINT_COLOUR = (31, 119, 180, 120)  # RGBA: overlapping units show up darker


@dataclass
class TracedSequence:
    """One sequence of a heatmap: a gate's values and how to label its time axis.

    Attributes:
        values: `(units, time)` gate values at the real (unpadded) steps.
        caption: one line above the panel.
        tokens: a display string per step (token tasks), or None to label steps by index.
        marks: key (e.g. `"switch"`) → the time indices to mark.
    """

    values: np.ndarray
    caption: str
    tokens: Sequence[str] | None = None
    marks: Mapping[str, Sequence[int]] = field(default_factory=dict)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


@functools.lru_cache(maxsize=4)
def _lut(name: str) -> np.ndarray:
    """`(256, 3)` uint8 colour table of a matplotlib colormap."""
    return (colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3] * 255).round().astype(np.uint8)


def value_range(values: np.ndarray, bounds: tuple[float, float] | None) -> tuple[float, float, str]:
    """`(low, high, colormap)` of a heatmap from the interval the values can take
    (`experiments.tensorboard.gate_stats.gate_bounds`; an open side infinite):

    - inside [0, ∞): from `low` to `high`, or to the largest value where `high` is open
      (viridis; [0, 1] for sigmoid gates);
    - signed and bounded: `bounds` itself (red-blue; [-1, 1] for a tanh candidate);
    - unbounded (a linear candidate): ±the largest magnitude;
    - None (states): ±max(1, largest magnitude): [-1, 1] for tanh outputs, wider for an LSTM
      cell state that has grown beyond 1.

    Values that are not finite do not set the scale."""
    finite = values[np.isfinite(values)]
    largest = float(np.abs(finite).max()) if finite.size else 0.0
    if bounds is None:
        return -max(1.0, largest), max(1.0, largest), "RdBu_r"
    low, high = bounds
    if low >= 0:
        top = high if math.isfinite(high) else float(finite.max()) if finite.size else low
        return low, top if top > low else low + 1.0, "viridis"
    if math.isfinite(low) and math.isfinite(high):
        return low, high, "RdBu_r"
    return -(largest or 1.0), largest or 1.0, "RdBu_r"


def colorize(values: np.ndarray, low: float, high: float, cmap: str) -> np.ndarray:
    """`(...)` values → `(..., 3)` uint8 colours, values outside [low, high] clipped."""
    index = np.clip((values - low) / (high - low), 0.0, 1.0) * 255
    return _lut(cmap)[np.nan_to_num(index).round().astype(np.intp)]


@functools.lru_cache(maxsize=256)  # the same probe sequences are drawn at every logging step
def _time_labels(
    steps: int, cell: int, tokens: tuple[str, ...] | None, marked: tuple[tuple[int, tuple], ...]
) -> Image.Image:
    """The strip under a heatmap, `steps * cell` pixels wide: tokens read bottom to top, or
    step indices for feature tasks. Marked steps (`(t, colour)` pairs) are always labelled, in
    their colour. Callers paste the result and must not draw on it (it is cached)."""
    colour_of = dict(marked)
    font = _font(10)
    if tokens is None:
        strip = Image.new("RGB", (steps * cell, 14), WHITE)
        draw = ImageDraw.Draw(strip)
        every = next(n for n in (1, 2, 5, 10, 20, 50, 100, 200, 500) if n * cell >= 28)
        for t in range(0, steps, every):
            draw.text((t * cell + cell / 2, 1), str(t), fill=INK, font=font, anchor="ma")
        return strip
    stride = math.ceil(11 / cell)
    shown = {t: tokens[t][:12] for t in range(steps) if t % stride == 0 or t in colour_of}
    length = int(min(90, max(font.getlength(s) for s in shown.values()) + 4))
    strip = Image.new("RGB", (length, steps * cell), WHITE)  # drawn sideways, then turned
    draw = ImageDraw.Draw(strip)
    for t in sorted(shown, key=lambda t: t in colour_of):  # marked labels drawn last, on top
        colour = colour_of.get(t, INK)
        draw.text((length - 2, t * cell + cell / 2), shown[t], fill=colour, font=font, anchor="rm")
    return strip.transpose(Image.Transpose.ROTATE_90)


def _colorbar(img: Image.Image, x: int, y: int, height: int, low, high, cmap: str) -> None:
    """A vertical colour scale at (x, y), high at the top, with its end values."""
    ramp = colorize(np.linspace(high, low, height)[:, None].repeat(10, axis=1), low, high, cmap)
    img.paste(Image.fromarray(ramp), (x, y))
    draw = ImageDraw.Draw(img)
    draw.text((x + 13, y), f"{high:.3g}", fill=INK, font=_font(10), anchor="la")
    draw.text((x + 13, y + height), f"{low:.3g}", fill=INK, font=_font(10), anchor="ld")


def _panel(seq: TracedSequence, low, high, cmap: str, colours: Mapping[str, tuple]) -> Image.Image:
    """One sequence: caption, heatmap (units × time), mark strip, time labels, colour scale."""
    units, steps = seq.values.shape
    cell_w, cell_h = int(np.clip(720 // max(steps, 1), 4, 16)), int(np.clip(192 // units, 1, 6))
    colour_of = {t: colours[key] for key, ts in seq.marks.items() for t in ts if 0 <= t < steps}
    pixels = colorize(seq.values, low, high, cmap).repeat(cell_h, axis=0).repeat(cell_w, axis=1)
    tokens = None if seq.tokens is None else tuple(seq.tokens)
    labels = _time_labels(steps, cell_w, tokens, tuple(sorted(colour_of.items())))
    left, top, width, height = 34, 16, steps * cell_w, units * cell_h
    panel_width = max(left + width + 50, left + int(_font(11).getlength(seq.caption)) + 4)
    img = Image.new("RGB", (panel_width, top + height + 5 + labels.height), WHITE)
    img.paste(Image.fromarray(pixels), (left, top))
    img.paste(labels, (left, top + height + 5))
    draw = ImageDraw.Draw(img)
    draw.text((left, 1), seq.caption, fill=INK, font=_font(11))
    draw.text((left - 3, top), "0", fill=INK, font=_font(10), anchor="ra")
    draw.text((left - 3, top + height), str(units - 1), fill=INK, font=_font(10), anchor="rd")
    draw.text((left - 3, top + height / 2), "unit", fill=GREY, font=_font(10), anchor="rm")
    for t, colour in colour_of.items():
        x = left + t * cell_w
        draw.rectangle([x, top + height + 1, x + cell_w - 1, top + height + 3], fill=colour)
        draw.rectangle([x, top - 3, x + cell_w - 1, top - 1], fill=colour)
    _colorbar(img, left + width + 6, top, height, low, high, cmap)
    return img


def _stack(images: Sequence[Image.Image], gap: int = 8) -> Image.Image:
    """Images top to bottom, left-aligned on white."""
    width = max(img.width for img in images)
    out = Image.new("RGB", (width, sum(img.height for img in images) + gap * len(images)), WHITE)
    y = 0
    for img in images:
        out.paste(img, (0, y))
        y += img.height + gap
    return out


def _legend(colours: Mapping[str, tuple], used: set[str]) -> Image.Image:
    """One line `■ switch  ■ subject ...` for the mark keys in `used`."""
    img = Image.new("RGB", (max(1, 90 * len(used)) + 40, 16), WHITE)
    draw, x = ImageDraw.Draw(img), 34
    for key in (k for k in colours if k in used):
        draw.rectangle([x, 4, x + 9, 13], fill=colours[key])
        draw.text((x + 13, 2), key, fill=INK, font=_font(11))
        x += 22 + int(_font(11).getlength(key))
    return img


def heatmap(
    title: str, gate: str, sequences: Sequence[TracedSequence], cell: Any = None
) -> np.ndarray:
    """One gate of one layer for a few sequences: `(height, width, 3)` uint8.

    The colour scale is shared by the sequences (see `value_range`), from where the gate's
    values can lie in `cell` (`experiments.tensorboard.gate_stats.gate_bounds`: a candidate
    follows the cell's activation); mark keys get the same colour in every sequence.
    """
    values = np.concatenate([s.values.ravel() for s in sequences])
    low, high, cmap = value_range(values, gate_bounds(gate, cell))
    keys = list(dict.fromkeys(key for s in sequences for key in s.marks))
    colours = {key: MARK_COLOURS[i % len(MARK_COLOURS)] for i, key in enumerate(keys)}
    header = Image.new("RGB", (34 + int(_font(12).getlength(title)) + 4, 18), WHITE)
    ImageDraw.Draw(header).text((34, 2), title, fill=INK, font=_font(12))
    parts = [header, *(_panel(s, low, high, cmap, colours) for s in sequences)]
    if keys:
        parts.append(_legend(colours, set(keys)))
    return np.asarray(_stack(parts))


def _dashed_diagonal(draw: ImageDraw.ImageDraw, x0: int, y0: int, size: int) -> None:
    """`left + right = 1`: the most a unit can be saturated in all."""
    for k in range(0, size, 8):
        draw.line([x0 + k, y0 + k, x0 + min(k + 4, size), y0 + min(k + 4, size)], fill=GREY)


def _saturation_panel(
    name: str, left: np.ndarray, right: np.ndarray, size: int = 150
) -> Image.Image:
    """One gate: axes [0, 1]², a translucent point per unit."""
    margin_l, margin_t, margin_b = 38, 18, 30
    img = Image.new("RGBA", (margin_l + size + 16, margin_t + size + margin_b), WHITE + (255,))
    draw = ImageDraw.Draw(img)
    x0, y0 = margin_l, margin_t
    draw.text((x0 + size / 2, 1), name, fill=INK, font=_font(12), anchor="ma")
    draw.rectangle([x0, y0, x0 + size, y0 + size], outline=INK)
    _dashed_diagonal(draw, x0, y0, size)
    for v in (0.0, 0.5, 1.0):
        draw.text((x0 + v * size, y0 + size + 2), f"{v:g}", fill=INK, font=_font(9), anchor="ma")
        draw.text((x0 - 3, y0 + (1 - v) * size), f"{v:g}", fill=INK, font=_font(9), anchor="rm")
    draw.text(
        (x0 + size / 2, y0 + size + 14),
        f"fraction < {LEFT_SATURATED}",
        fill=INK,
        font=_font(10),
        anchor="ma",
    )
    dots = Image.new("RGBA", img.size, (0, 0, 0, 0))
    dot_draw = ImageDraw.Draw(dots)
    for lx, ry in zip(left, right):
        cx, cy = x0 + lx * size, y0 + (1 - ry) * size
        dot_draw.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], fill=POINT_COLOUR)
    img = Image.alpha_composite(img, dots)
    axis = Image.new("RGBA", (size, 12), WHITE + (255,))
    ImageDraw.Draw(axis).text(
        (size / 2, 0), f"fraction > {RIGHT_SATURATED}", fill=INK, font=_font(10), anchor="ma"
    )
    img.paste(axis.transpose(Image.Transpose.ROTATE_90), (2, y0))
    return img.convert("RGB")


def saturation_plot(
    title: str, fractions: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Karpathy et al.'s saturation plot: `(height, width, 3)` uint8, one panel per gate.

    Args:
        title: the line above the panels.
        fractions: gate → `(left, right)`, each `(units,)`: per unit the fraction of steps
            below 0.1 and above 0.9 (`experiments.tensorboard.gate_stats.saturation`).
    """
    panels = [_saturation_panel(name, *pair) for name, pair in fractions.items()]
    row = Image.new("RGB", (sum(p.width for p in panels), panels[0].height + 18), WHITE)
    ImageDraw.Draw(row).text((38, 2), title, fill=INK, font=_font(12))
    x = 0
    for panel in panels:
        row.paste(panel, (x, 18))
        x += panel.width
    return np.asarray(row)
