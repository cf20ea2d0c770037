"""Screenshots of the leaderboard site (``robustsnn report site --screenshot``) as the
system Chromium renders them, driven by playwright (not with playwright's own browser
downloads). Both are optional: :func:`browser_problem` says in one line what is missing,
and playwright is imported only when a screenshot is taken.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import UserError
from ..io_utils import atomic_write

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """The system Chromium (or Chrome) executable, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_problem() -> str | None:
    """Why no screenshot can be taken here (one line), or None when one can."""
    if find_browser() is None:
        return ("no Chromium found (install it, e.g. `apt-get install chromium`; looked for "
                + ", ".join(BROWSERS) + ")")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the browser driver is not installed: pip install -e '.[dev]' (package playwright)"
    return None


def screenshot(page: Path, png: Path, width: int = 1800, height: int = 900) -> None:
    """Save a full-page PNG of ``page`` (an HTML file) as the system Chromium renders it."""
    problem = browser_problem()
    if problem:
        raise UserError(f"cannot take a screenshot: {problem}")
    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=find_browser())
            try:
                view = browser.new_page(viewport={"width": width, "height": height})
                view.goto(Path(page).resolve().as_uri())
                data = view.screenshot(full_page=True)
            finally:
                browser.close()
    except Error as exc:
        first = (str(exc).strip().splitlines() or ["unknown error"])[0]
        raise UserError(f"cannot take a screenshot: Chromium failed ({first})") from None
    atomic_write(Path(png), lambda tmp: tmp.write_bytes(data))
