"""Screenshots of the console for the documentation, kept when asked for: with
``$FULLCHAIN_SCREENSHOTS`` set to a folder (``docs/screenshots`` for the README's), a browser
test calls ``keep_screenshot(page, "staff-home")`` on the page it has drawn and the folder
gets ``staff-home.png``; without it, nothing is written. Chinese text needs a CJK font on
the machine (Debian: ``fonts-wqy-microhei`` or ``fonts-noto-cjk``), else it shows as boxes."""

from __future__ import annotations

import os
from pathlib import Path

from playwright.sync_api import Page

SCREENSHOTS = "FULLCHAIN_SCREENSHOTS"


def keep_screenshot(page: Page, name: str, *, into: Path | None = None) -> Path | None:
    """The page as drawn, the whole of it, as ``<folder>/<name>.png`` (the folder ``into``,
    else ``$FULLCHAIN_SCREENSHOTS``); ``None`` when neither names one."""
    folder = into if into is not None else os.environ.get(SCREENSHOTS)
    if not folder:
        return None
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    # No blinking caret, no focus ring of the last click, no animation mid-way: the same
    # page gives the same picture.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.screenshot(path=path, full_page=True, animations="disabled", caret="hide")
    return path
