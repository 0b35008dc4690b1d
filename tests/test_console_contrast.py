"""The console's colours read well: every text colour the stylesheet sets on a background
it sets has a WCAG 2 contrast ratio of at least 4.5:1 (AA for body text)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parent.parent / "gateway/console/static/console.css").read_text()
VARIABLES = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\b", CSS))
AA = 4.5


def colour(value: str) -> str:
    value = value.strip()
    if value.startswith("var(--"):
        value = VARIABLES[value[6:-1]]
    if len(value) == 4:  # #abc is #aabbcc
        value = "#" + "".join(c * 2 for c in value[1:])
    return value


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(foreground: str, background: str) -> float:
    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def pairs() -> list[tuple[str, str, str]]:
    """(rule, text colour, background) for every rule that sets both."""
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", CSS):
        text = re.search(r"(?<![-\w])color:\s*([^;]+);?", body)
        back = re.search(r"background(?:-color)?:\s*(#[0-9a-fA-F]{3,6}\b|var\(--[\w-]+\))", body)
        if text and back:
            found.append((selector.strip(), colour(text.group(1)), colour(back.group(1))))
    return found


def test_the_rules_that_set_both_colours_are_found() -> None:
    assert len(pairs()) >= 10  # the badges, notices, errors, buttons, the page itself


@pytest.mark.parametrize(("rule", "text", "background"), pairs())
def test_text_on_its_background_meets_aa(rule: str, text: str, background: str) -> None:
    assert ratio(text, background) >= AA, (
        rule,
        text,
        background,
        round(ratio(text, background), 2),
    )


@pytest.mark.parametrize(
    ("text", "background"),
    [("--ink", "--bg"), ("--muted", "--card"), ("--muted", "--bg"), ("--accent", "--card"),
     ("--bad", "--card"), ("--good", "--card"), ("--warn", "--card")],
)  # fmt: skip
def test_the_palette_on_the_page_meets_aa(text: str, background: str) -> None:
    assert ratio(colour(VARIABLES[text[2:]]), colour(VARIABLES[background[2:]])) >= AA
