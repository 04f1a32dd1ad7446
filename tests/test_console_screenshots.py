"""The screenshots of the README: the staff home (My day) of a field staff member with a
follow-up overdue, one due today and one upcoming, kept in ``$FULLCHAIN_SCREENSHOTS``
(``FULLCHAIN_SCREENSHOTS=docs/screenshots pytest tests/test_console_screenshots.py``)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.screenshots import SCREENSHOTS, keep_screenshot
from tests.test_console import HUAXIN, Office, browser, in_browser, office, page, sign_in

__all__ = ["browser", "office", "page"]  # the fixtures, used by name

PNG = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG, path
    assert data[12:16] == b"IHDR", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@in_browser
def test_the_staff_home_screenshot(page: Page, office: Office, tmp_path: Path) -> None:
    page.set_viewport_size({"width": 1200, "height": 640})
    sign_in(page, office)
    expect(page.locator("#overdue")).to_contain_text(HUAXIN)
    expect(page.locator("#upcoming")).to_contain_text("quarterly review")

    kept = keep_screenshot(page, "staff-home", into=tmp_path)
    assert kept == tmp_path / "staff-home.png"
    width, height = png_size(kept)
    assert width == 1200
    assert height >= 640
    # Only where asked: with $FULLCHAIN_SCREENSHOTS unset, nothing is written.
    wanted = keep_screenshot(page, "staff-home")
    if os.environ.get(SCREENSHOTS):
        assert wanted is not None
        assert png_size(wanted) == (width, height)
    else:
        assert wanted is None
