"""The server-drawn SVG charts (dfwatch/web/ui/charts.py): escaping, links, scaling, empty data, access."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from markupsafe import Markup

from dfwatch.web.ui.charts import CHAR, Bar, Point, bar_chart, nice_max, number, point_chart, sparkline

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>&"\''


def parse(chart: Markup) -> ET.Element:
    """The chart as XML: it must be well-formed (a stray `<` from a label would break this)."""
    return ET.fromstring(str(chart))


def test_hostile_labels_titles_and_links_are_escaped_text() -> None:
    chart = bar_chart([Bar(HOSTILE, 3, HOSTILE, "/?q=" + HOSTILE)], HOSTILE, HOSTILE)
    assert isinstance(chart, Markup)
    assert "<script" not in chart and "<img" not in chart  # only as escaped text
    root = parse(chart)
    assert root.find(f"{SVG}title").text == HOSTILE and root.find(f"{SVG}desc").text == HOSTILE
    assert [t.text for t in root.iter(f"{SVG}text") if t.text == HOSTILE] == [HOSTILE]  # the x label, as text
    link = root.find(f"{SVG}a")
    assert link.get("href") == "/?q=" + HOSTILE and link.get("aria-label") == HOSTILE
    points = point_chart([Point(HOSTILE, 5, HOSTILE, True, ((7, HOSTILE),))], HOSTILE, HOSTILE)
    assert "<script" not in points and "<img" not in points
    assert {t.text for t in parse(points).iter(f"{SVG}title")} == {HOSTILE}
    assert "<script" not in sparkline([1, 2], HOSTILE)
    assert parse(sparkline([1, 2], HOSTILE)).find(f"{SVG}title").text == HOSTILE


def test_each_bar_with_a_target_is_a_link_out_of_the_tab_order() -> None:
    bars = [Bar("2024-05", 1, "May: 1", "/?q=t&from=2024-05-01&to=2024-05-31"), Bar("2024-06", 0, "June: 0"),
            Bar("2024-08", 5, "August: 5", "/?q=t&from=2024-08-01&to=2024-08-31")]
    root = parse(bar_chart(bars, "Coverage", "desc"))
    links = root.findall(f"{SVG}a")
    assert [a.get("href") for a in links] == [bars[0].href, bars[2].href]
    assert all(a.get("tabindex") == "-1" for a in links)  # the table beside the chart is the keyboard path
    assert all(a.find(f"{SVG}rect[@class='bar']") is not None for a in links)


def _bars(root: ET.Element) -> list[tuple[float, float, float, float]]:
    return [tuple(float(r.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[misc]
            for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


def test_bar_heights_are_proportional_on_a_zero_based_round_scale() -> None:
    root = parse(bar_chart([Bar("a", 1, "a"), Bar("b", 5, "b"), Bar("c", 3, "c")], "t", "d"))
    (x1, y1, w1, h1), (x2, y2, w2, h2), (x3, y3, w3, h3) = _bars(root)
    assert nice_max(5) == 6  # the top of the scale
    assert abs(h2 / h1 - 5) < 0.01 and abs(h3 / h1 - 3) < 0.01
    assert abs((y1 + h1) - (y2 + h2)) < 0.01 and abs((y2 + h2) - (y3 + h3)) < 0.01  # one baseline
    assert x1 < x2 < x3 and w1 == w2 == w3
    ticks = [t.text for t in root.iter(f"{SVG}text")][:3]
    assert ticks == ["0", "3", "6"]
    view = [float(v) for v in root.get("viewBox").split()]
    assert all(0 <= x and x + w <= view[2] for x, _, w, _ in _bars(root))  # inside the drawing


def test_points_sit_at_their_values_evenly_spaced_and_conflicts_are_marked_in_words() -> None:
    chart = point_chart([Point("2023", 180, "2023: 180 — A, B"),
                         Point("2024-01–2024-07", 297, "297 — conflict: sources disagree", True,
                               ((279, "279 — The Hanbit Times (disagrees)"),))], "Police cases", "d")
    root = parse(chart)
    circles = [c for c in root.iter(f"{SVG}circle")]
    plain = [c for c in circles if c.get("class") == "point"]
    other = [c for c in circles if c.get("class") == "point other"]
    (conflict,) = [p for p in root.iter(f"{SVG}path") if p.get("class") == "point conflict"]
    assert len(plain) == 1 and len(other) == 1
    assert other[0].find(f"{SVG}title").text == "279 — The Hanbit Times (disagrees)"
    assert conflict.find(f"{SVG}title").text.endswith("conflict: sources disagree")
    assert any(t.text == "conflict" for t in root.iter(f"{SVG}text"))  # not colour alone
    assert {"180", "297", "279"} <= {t.text for t in root.iter(f"{SVG}text")}  # every value labelled
    # the scale runs 0..400; y grows downwards from the baseline
    base = max(float(line.get("y1")) for line in root.iter(f"{SVG}line"))
    top = min(float(line.get("y1")) for line in root.iter(f"{SVG}line"))
    y180, y279 = float(plain[0].get("cy")), float(other[0].get("cy"))
    m = re.match(r"M([\d.]+) ([\d.]+)", conflict.get("d"))
    assert m
    x297, y297 = float(m.group(1)), float(m.group(2)) + 8  # the diamond's top vertex is 8 above the point
    for value, y in ((180, y180), (279, y279), (297, y297)):
        assert abs((base - y) / (base - top) - value / 400) < 0.005, value
    assert float(plain[0].get("cx")) < x297 and abs(float(other[0].get("cx")) - x297) < 0.01
    assert [float(v) for v in root.find(f"{SVG}polyline").get("points").replace(",", " ").split()][1::2] == [
        y180, y297]


def test_empty_data_draws_a_labelled_chart_saying_so() -> None:
    for chart in (bar_chart([], "Coverage", "No articles."), point_chart([], "Series", "No figures.")):
        root = parse(chart)
        assert root.get("role") == "img" and root.find(f"{SVG}title").text in ("Coverage", "Series")
        assert [t.text for t in root.iter(f"{SVG}text")] == ["No data"]
        assert root.find(f"{SVG}a") is None
    assert _bars(parse(sparkline([], "nothing"))) == []
    (zero,) = _bars(parse(bar_chart([Bar("a", 0, "a")], "t", "d")))
    assert zero[3] == 0  # a zero bar has no height


def test_every_chart_is_an_image_with_a_title_and_description_and_scales() -> None:
    charts = [bar_chart([Bar("a", 2, "a")], "T1", "D1"), point_chart([Point("a", 2, "a")], "T2", "D2"),
              sparkline([1, 0, 3], "T3")]
    ids = set()
    for chart in charts:
        root = parse(chart)
        assert root.get("role") == "img" and root.get("viewBox") and "width" not in root.attrib
        title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        ids |= {title.get("id"), desc.get("id")}
        assert "chart" in root.get("class").split()
    assert len(ids) == 6  # unique on a page with several charts


def test_many_buckets_thin_the_axis_labels_and_numbers_read_well() -> None:
    bars = [Bar(f"d{i}", i % 7, f"d{i}") for i in range(60)]
    root = parse(bar_chart(bars, "t", "d"))
    labels = [(float(t.get("x")), t.text) for t in root.iter(f"{SVG}text") if (t.text or "").startswith("d")]
    assert labels[0][1] == "d0" and 5 <= len(labels) < 60
    assert all(b[0] - a[0] >= len(a[1]) * CHAR for a, b in zip(labels, labels[1:], strict=False))  # no overlap
    assert len(_bars(root)) == 60
    assert (number(1234567), number(2.5), number(3.0), number(0.25)) == ("1,234,567", "2.5", "3", "0.25")
    assert [nice_max(v) for v in (0, 1, 3, 10, 180, 297, 0.3)] == [2, 2, 4, 10, 200, 400, 0.4]
