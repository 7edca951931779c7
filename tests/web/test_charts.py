"""The SVG chart renderer: well-formed XML, named for assistive tech, escaped, to scale."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from integrations.web.charts import Series, bar_chart, legend, line_chart, nice_ticks

NS = "{http://www.w3.org/2000/svg}"
LABELS = ["2026-W46", "2026-W47", "2026-W48"]


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0.0, 1.0]),
        (3, [0.0, 1.0, 2.0, 3.0]),
        (7, [0.0, 2.0, 4.0, 6.0, 8.0]),
        (100, [0.0, 25.0, 50.0, 75.0, 100.0]),
        (0.3, [0.0, 0.1, 0.2, 0.3]),
    ],
)
def test_ticks_are_round_and_reach_the_top(top: float, ticks: list[float]) -> None:
    assert nice_ticks(top) == ticks


def test_a_bar_chart_is_valid_svg_with_title_desc_and_a_titled_bar_per_value() -> None:
    svg = parse(
        bar_chart(
            "c1",
            "Incidents",
            "Bars per week",
            LABELS,
            [Series("SEV1", [1, 0, 3]), Series("SEV2", [2, None, 1])],
        )
    )
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title c1-desc"
    assert svg.find(f"{NS}title").text == "Incidents"  # type: ignore[union-attr]
    assert svg.find(f"{NS}desc").text == "Bars per week"  # type: ignore[union-attr]
    bars = svg.findall(f"{NS}rect")
    assert [b.find(f"{NS}title").text for b in bars] == [  # type: ignore[union-attr]
        "2026-W46, SEV1: 1",
        "2026-W46, SEV2: 2",
        "2026-W48, SEV1: 3",
        "2026-W48, SEV2: 1",
    ]
    heights = [float(b.get("height", 0)) for b in bars]
    assert heights[2] == pytest.approx(3 * heights[3], abs=0.2)  # to scale (0.1 px rounding)
    ticks = [t.text for t in svg.findall(f"{NS}text")]
    assert "W46" in ticks and "0" in ticks and "3" in ticks


def test_stacked_bars_sit_on_each_other() -> None:
    svg = parse(bar_chart("c", "t", "d", ["a"], [Series("x", [1]), Series("y", [2])], stacked=True))
    low, high = svg.findall(f"{NS}rect")
    assert float(high.get("y", 0)) + float(high.get("height", 0)) == pytest.approx(
        float(low.get("y", 0))
    )


def test_a_line_breaks_at_a_missing_value_and_marks_every_point() -> None:
    svg = parse(
        line_chart("l", "MTTA", "d", ["a", "b", "c", "d"], [Series("SEV1", [1, 2, None, 4])])
    )
    lines = svg.findall(f"{NS}polyline")
    assert len(lines) == 1 and len(lines[0].get("points", "").split()) == 2
    assert len(svg.findall(f"{NS}g")) == 3


def test_text_from_people_is_escaped_everywhere() -> None:
    evil = '<script>alert(1)</script>"&'
    svg = line_chart(evil, evil, evil, [evil], [Series(evil, [1.0])], unit=evil)
    assert "<script>" not in svg
    root = parse(svg)  # still well-formed
    assert root.find(f"{NS}title").text == evil  # type: ignore[union-attr]
    assert "<script>" not in legend([Series(evil, [1.0])])


def test_many_weeks_label_only_some_of_them() -> None:
    labels = [f"2026-W{n:02d}" for n in range(1, 53)]
    svg = parse(bar_chart("c", "t", "d", labels, [Series("x", [1.0] * 52)]))
    texts = [t.text for t in svg.findall(f"{NS}text") if (t.text or "").startswith("W")]
    assert 5 <= len(texts) <= 14 and texts[0] == "W52" and "W01" in texts
