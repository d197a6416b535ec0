"""Redraw the README's TensorBoard screenshots from a sweep: `python docs/screenshots.py SWEEP_DIR`.

Serves SWEEP_DIR with TensorBoard on a free loopback port and drives headless Chromium (Debian's
`chromium` package) with Playwright (the dev extra; it drives that browser and downloads none), so
that it can tick boxes and type like a person: the forget-gate heatmap of the LSTM run at actual
size (`--run` picks the run), the HParams table with the unswept columns unticked, and the gate
explorer tab with a sentence typed in (`--sentence`), the gate at "but" and the units that differ
most there. Writes `tensorboard_gate_heatmap.png`, `tensorboard_hparams.png` and
`gate_explorer.png` into docs/ (or `--out`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

DOCS = Path(__file__).resolve().parent
HEATMAP = "tensorboard_gate_heatmap.png"
HPARAMS = "tensorboard_hparams.png"
EXPLORER = "gate_explorer.png"
SENTENCE = "alice likes pizza but bob met friends in town after work on sunday likes ___"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
# Finds elements through the shadow roots of TensorBoard's Polymer dashboards and clicks the
# checkboxes whose label satisfies the test.
CLICK = """(() => {
  const all = (root, out = []) => {
    for (const el of root.querySelectorAll('*')) {
      out.push(el);
      if (el.shadowRoot) all(el.shadowRoot, out);
    }
    return out;
  };
  const boxes = all(document).filter(e => e.tagName === 'PAPER-CHECKBOX' && (%s));
  boxes.forEach(e => e.click());
  return boxes.length;
})()"""


def launch(playwright):
    """Debian's headless `chromium` driven by Playwright (`sync_playwright()`); no download."""
    return playwright.chromium.launch(
        executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_FLAGS
    )


def click_checkboxes(page, test: str) -> int:
    """Click the checkboxes whose label `e.textContent` satisfies the JavaScript `test`."""
    clicked = page.evaluate(CLICK % test)
    time.sleep(2)
    return clicked


def serve(logdir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """TensorBoard on a free loopback port, printing to `log`; its process and base URL."""
    with open(log, "w") as stderr:
        server = subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
            + ["--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    for _ in range(120):
        found = re.search(r"at (http://127\.0\.0\.1:\d+/)", log.read_text())
        if found:
            return server, found.group(1)
        time.sleep(0.5)
    server.kill()
    raise RuntimeError(f"TensorBoard did not start: {log.read_text()[-2000:]}")


def shoot(url: str, run: str, gate: str, out: Path, settle: float) -> None:
    """The two TensorBoard screenshots of the server at `url`, into `out`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1300, "height": 1130})
        tag = quote(f"heatmaps/.*/[0-9]+_{gate}", safe="")  # the layer: lstm_0, gru_0, ...
        page.goto(f"{url}#images&tagFilter={tag}&regexInput={quote(run, safe='')}")
        time.sleep(settle)  # TensorBoard fetches its data after the page has loaded
        click_checkboxes(page, "e.textContent.includes('actual image size')")
        page.screenshot(path=out / HEATMAP, clip={"x": 0, "y": 0, "width": 960, "height": 1130})

        page = browser.new_page(viewport={"width": 1600, "height": 520})
        page.goto(f"{url}#hparams")
        time.sleep(settle)
        click_checkboxes(page, "['batch_size', 'data', 'dropout'].includes(e.textContent.trim())")
        page.screenshot(path=out / HPARAMS)
        shoot_explorer(browser, url, run, gate, out / EXPLORER, SENTENCE)
        browser.close()


def shoot_explorer(browser, url: str, run: str, gate: str, path: Path, sentence: str) -> None:
    """The gate explorer tab: the first run matching `run`, `sentence` typed in, `gate` shown
    for the units most different at the switch word ("but")."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(f"{url}#gate_explorer")
    frame = page.frame_locator("iframe")
    frame.locator("#run option").first.wait_for(state="attached", timeout=120_000)
    runs = frame.locator("#run option").evaluate_all(
        "options => options.map(o => "
        "[o.value, !/no SavedModel|SavedModel unusable/.test(o.textContent)])"
    )
    chosen = next((name for name, traceable in runs if traceable and re.search(run, name)), None)
    if chosen is None:
        raise RuntimeError(f"no gate explorer run with a SavedModel matches {run!r}: {runs}")
    frame.locator("#run").select_option(chosen)
    frame.locator("#gate").select_option(gate)
    frame.locator("#input").fill(sentence)
    frame.locator("#trace").click()
    frame.locator("#strip .word").nth(len(sentence.split()) - 1).wait_for()
    time.sleep(1)
    frame.locator("#switchUnits").click()
    time.sleep(1)
    page.screenshot(path=path)


def main(argv: list[str] | None = None) -> None:
    """Command line: SWEEP_DIR [--run REGEX] [--gate NAME]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--run", default="model=lstm", help="regex of the heatmap's run")
    parser.add_argument("--gate", default="forget", help="the heatmap's gate")
    parser.add_argument("--out", type=Path, default=DOCS, help="output folder (default: docs/)")
    parser.add_argument(
        "--settle", type=float, default=12.0, help="seconds to let TensorBoard load a page"
    )
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        parser.error(f"SWEEP_DIR {args.sweep_dir} is not a folder")
    if shutil.which("chromium") is None:
        parser.error("needs Debian's `chromium` on PATH (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        parser.error("needs the playwright package (pip install -e '.[dev]')")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server, url = serve(args.sweep_dir, Path(tmp, "tensorboard.log"))
        try:
            shoot(url, args.run, args.gate, args.out, args.settle)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {args.out / HEATMAP}, {args.out / HPARAMS} and {args.out / EXPLORER}")


if __name__ == "__main__":
    main()
