"""Redraw the README's TensorBoard screenshots from a sweep: `python docs/screenshots.py SWEEP_DIR`.

Serves SWEEP_DIR with TensorBoard on a free loopback port and drives headless Chromium (Debian's
`chromium` package) over the DevTools protocol on a pipe, so that it can tick boxes like a
person: the forget-gate heatmap of the LSTM run at actual size (`--run` picks the run) and the
HParams table with the unswept columns unticked. Writes `tensorboard_gate_heatmap.png` and
`tensorboard_hparams.png` into docs/ (or `--out`). Needs no package beyond the project's.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from PIL import Image

DOCS = Path(__file__).resolve().parent
HEATMAP = "tensorboard_gate_heatmap.png"
HPARAMS = "tensorboard_hparams.png"
CHROMIUM_FLAGS = [
    "--headless",
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


class Chromium:
    """Headless Chromium with one page, driven over `--remote-debugging-pipe` (fds 3 and 4)."""

    def __init__(self, width: int, height: int) -> None:
        to_browser, self._send = os.pipe()
        self._receive, from_browser = os.pipe()
        # Duplicates above fd 4 so that moving them onto 3 and 4 in the child cannot clobber.
        child_in, child_out = os.dup(to_browser), os.dup(from_browser)

        def onto_3_and_4() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        self.process = subprocess.Popen(
            ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}"]
            + ["--remote-debugging-pipe", f"--window-size={width},{height}", "about:blank"],
            pass_fds=(3, 4),
            preexec_fn=onto_3_and_4,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in (to_browser, from_browser, child_in, child_out):
            os.close(fd)
        self._buffer, self._id, self._session = b"", 0, None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def call(self, method: str, **params) -> dict:
        """Send one DevTools command and wait for its reply."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self._session is not None:
            message["sessionId"] = self._session
        os.write(self._send, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                self._buffer += os.read(self._receive, 1 << 20)
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]

    def open(self, url: str, settle: float = 12.0) -> None:
        self.call("Page.navigate", url=url)
        time.sleep(settle)  # TensorBoard fetches its data after the page has loaded

    def click_checkboxes(self, test: str) -> int:
        """Click the checkboxes whose label `e.textContent` satisfies the JavaScript `test`."""
        result = self.call("Runtime.evaluate", expression=CLICK % test, returnByValue=True)
        time.sleep(2)
        return result["result"].get("value", 0)

    def screenshot(self) -> Image.Image:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")

    def close(self) -> None:
        self.call("Browser.close")
        self.process.wait(timeout=30)
        self._profile.cleanup()


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
    """The two screenshots of the TensorBoard at `url`, into `out`."""
    browser = Chromium(1300, 1130)
    tag = quote(f"heatmaps/rnn_0/{gate}", safe="")
    browser.open(f"{url}#images&tagFilter={tag}&regexInput={quote(run, safe='')}", settle)
    browser.click_checkboxes("e.textContent.includes('actual image size')")
    heatmap = browser.screenshot().crop((0, 0, 960, 1130))  # the card; the rest is empty
    heatmap.save(out / HEATMAP, optimize=True)
    browser.close()

    browser = Chromium(1600, 520)
    browser.open(f"{url}#hparams", settle)
    browser.click_checkboxes("['batch_size', 'data', 'dropout'].includes(e.textContent.trim())")
    browser.screenshot().save(out / HPARAMS, optimize=True)
    browser.close()


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
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server, url = serve(args.sweep_dir, Path(tmp, "tensorboard.log"))
        try:
            shoot(url, args.run, args.gate, args.out, args.settle)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"wrote {args.out / HEATMAP} and {args.out / HPARAMS}")


if __name__ == "__main__":
    main()
