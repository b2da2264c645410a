"""``tools/check-report REPORT.html [--screenshot FILE.png]``: open a compile report in a real
headless browser (Debian's ``chromium``) and check what a reader would see.

Two runs of the browser, on the same window size and without network or profile:

1. ``--dump-dom`` of a copy of the page with a short script added, which writes into the DOM,
   once the page has loaded, each ``<img>``'s state (``complete``, its decoded size, its box
   on the page) and each table's box and row count;
2. ``--screenshot`` of the page itself.

The page passes when every image has decoded (a non-zero natural size), every table has rows,
and in the screenshot every image box and table box inside the window holds a drawing: more
than a few distinct colours, not a blank or a single-colour area.

Exit status 0 when the page passes, 1 when it does not (each failure on stderr), 2 when no
browser is found.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
WINDOW = (1400, 3000)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]

# Runs in the copy of the page only: records what loaded into an attribute of <body>.
_PROBE = """<script>
window.addEventListener("load", () => {
  const box = (e) => { const r = e.getBoundingClientRect();
    return [r.left, r.top + window.scrollY, r.width, r.height]; };
  const images = [...document.images].map((i) => ({complete: i.complete,
    width: i.naturalWidth, height: i.naturalHeight, box: box(i)}));
  const tables = [...document.querySelectorAll("table")].map((t) => ({
    rows: t.querySelectorAll("tbody tr").length, box: box(t)}));
  document.body.setAttribute("data-probe", JSON.stringify({images, tables}));
});
</script>"""


@dataclass(frozen=True)
class Element:
    kind: str  # "image" or "table"
    index: int
    box: tuple[float, float, float, float]  # left, top, width, height in CSS pixels


@dataclass(frozen=True)
class PageCheck:
    images: int
    tables: int
    failures: tuple[str, ...]
    screenshot: Path

    @property
    def ok(self) -> bool:
        return not self.failures


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def check_page(report: Path, screenshot: Path, browser: str) -> PageCheck:
    """Load ``report`` in ``browser``, take its screenshot into ``screenshot`` and check it."""
    with tempfile.TemporaryDirectory(prefix="quartet-report-check-") as scratch:
        probed = Path(scratch) / "probed.html"
        text = report.read_text(encoding="utf-8")
        probed.write_text(text.replace("</body>", _PROBE + "</body>", 1), encoding="utf-8")
        dom = _browser(browser, scratch, "--dump-dom", "--virtual-time-budget=10000", probed)
        _browser(browser, scratch, f"--screenshot={screenshot.resolve()}", report)
    found = re.search(r'data-probe="([^"]*)"', dom)
    if found is None:
        return PageCheck(
            0, 0, ("the page did not finish loading (no probe in the DOM)",), screenshot
        )
    probe = json.loads(_unescape(found.group(1)))
    failures = [
        f"image {i} did not load (complete={image['complete']}, natural size "
        f"{image['width']}x{image['height']})"
        for i, image in enumerate(probe["images"])
        if not (image["complete"] and image["width"] > 0 and image["height"] > 0)
    ]
    failures += [
        f"table {i} has no rows" for i, table in enumerate(probe["tables"]) if table["rows"] == 0
    ]
    elements = [Element("image", i, tuple(x["box"])) for i, x in enumerate(probe["images"])]
    elements += [Element("table", i, tuple(x["box"])) for i, x in enumerate(probe["tables"])]
    failures += _blank_regions(screenshot, elements)
    return PageCheck(len(probe["images"]), len(probe["tables"]), tuple(failures), screenshot)


def _browser(browser: str, scratch: str, action: str, *rest) -> str:
    profile = tempfile.mkdtemp(prefix="profile-", dir=scratch)
    command = [
        browser,
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ]
    command += [action, *[str(r) for r in rest[:-1]], Path(rest[-1]).resolve().as_uri()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{Path(browser).name} failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return done.stdout


def _unescape(text: str) -> str:
    return (
        text.replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


def _blank_regions(screenshot: Path, elements: list[Element]) -> list[str]:
    """Elements whose visible part of the screenshot is (nearly) one colour."""
    from PIL import Image

    failures = []
    with Image.open(screenshot) as shot:
        picture = shot.convert("RGB")
    for element in elements:
        left, top, width, height = element.box
        right, bottom = min(left + width, picture.width), min(top + height, picture.height)
        if right - left < 8 or bottom - top < 8:
            continue  # below the window: not in the screenshot
        region = picture.crop((int(left), int(top), int(right), int(bottom)))
        colours = region.getcolors(maxcolors=1 << 16)
        distinct = len(colours) if colours is not None else 1 << 16
        if distinct < 4:
            failures.append(
                f"{element.kind} {element.index}: its {int(right - left)}x{int(bottom - top)} px "
                f"in the screenshot hold {distinct} colour(s): nothing is drawn there"
            )
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="check-report", description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--screenshot", type=Path, help="where the PNG goes (default: next to it)")
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        print("check-report: no chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    screenshot = args.screenshot or args.report.with_suffix(".png")
    result = check_page(args.report, screenshot, browser)
    for failure in result.failures:
        print(f"check-report: {args.report}: {failure}", file=sys.stderr)
    status = "OK" if result.ok else "FAILED"
    counts = f"{result.images} images, {result.tables} tables"
    print(f"{args.report}: {counts}, screenshot {screenshot}: {status}")
    return 0 if result.ok else 1
