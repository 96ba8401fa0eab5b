"""The digest's coverage chart: a small PNG bar chart drawn with Pillow on the server.

Mail clients do not run scripts or load remote images by default, so the chart travels
inside the message (an inline `cid:` part). It carries only numbers and dates, drawn with
Pillow's bundled font, so it looks the same on every machine; captions are in the email.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from dfwatch.digest.model import Chart

WIDTH, HEIGHT = 560, 150  # CSS pixels; drawn at SCALE for sharp text on high-density screens
SCALE = 2
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 34, 8, 10, 22
OLD, NEW, AXIS, TEXT = (184, 196, 214), (31, 78, 140), (120, 120, 120), (60, 60, 60)


def render_chart(chart: Chart) -> bytes:
    """PNG bytes of `chart` (WIDTH x HEIGHT at SCALE); the same input gives the same bytes."""
    s = SCALE
    img = Image.new("RGB", (WIDTH * s, HEIGHT * s), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=10 * s)
    left, right, top, bottom = PAD_LEFT * s, (WIDTH - PAD_RIGHT) * s, PAD_TOP * s, (HEIGHT - PAD_BOTTOM) * s
    peak = max((n for _, n in chart.bars), default=0)
    scale_max = max(peak, 1)
    n = max(len(chart.bars), 1)
    slot = (right - left) / n
    gap = max(1.0, slot * 0.18)
    for i, (day, value) in enumerate(chart.bars):
        if value <= 0:
            continue
        x0 = left + i * slot + gap / 2
        y0 = bottom - (bottom - top) * value / scale_max
        draw.rectangle([x0, y0, x0 + slot - gap, bottom], fill=NEW if day >= chart.highlight_from else OLD)
    draw.line([left, bottom, right, bottom], fill=AXIS, width=s)
    draw.line([left, top, left, bottom], fill=AXIS, width=s)
    for value in sorted({0, peak}):  # y labels: 0 and the peak
        y = bottom - (bottom - top) * value / scale_max
        label = str(value)
        w = draw.textlength(label, font=font)
        draw.text((left - w - 4 * s, y - 6 * s), label, fill=TEXT, font=font)
        if value:
            draw.line([left - 3 * s, y, left, y], fill=AXIS, width=s)
    if chart.bars:  # x labels: first, middle and last bucket (MM-DD)
        picks = sorted({0, len(chart.bars) // 2, len(chart.bars) - 1})
        for i in picks:
            label = chart.bars[i][0].strftime("%m-%d")
            w = draw.textlength(label, font=font)
            x = left + (i + 0.5) * slot - w / 2
            draw.text((min(max(x, left), right - w), bottom + 5 * s), label, fill=TEXT, font=font)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()
