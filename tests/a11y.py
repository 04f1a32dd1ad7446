"""Accessibility checks any browser test can call: axe-core (bundled by the PyPI package
``axe-playwright-python``, injected into the page by Playwright, so nothing is fetched from
another host) run over the page as it is drawn, failing on every serious or critical
violation, each named with its rule, its help text and the elements it was found on."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

#: The impacts that fail a page (axe's "minor" and "moderate" are reported, not failed).
FAILING = frozenset({"serious", "critical"})

#: The rules axe checks: WCAG 2.1 A and AA, and axe's own best practices (landmarks,
#: heading order, one main region…).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

_axe = Axe()


def violations(page: Page) -> list[dict[str, Any]]:
    """Every violation axe-core finds on the page as it is now."""
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": TAGS}})
    found: list[dict[str, Any]] = results.response["violations"]
    return found


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for violation in found:
        lines.append(f"{violation['impact']}: {violation['id']} — {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
    return "\n".join(lines)


def assert_accessible(page: Page, *, failing: frozenset[str] = FAILING) -> None:
    """No violation of impact in ``failing`` (serious or critical) on the page as drawn."""
    found = [v for v in violations(page) if v["impact"] in failing]
    assert not found, f"{page.url}:\n{describe(found)}"
