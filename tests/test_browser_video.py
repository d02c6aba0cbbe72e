"""The annotated video plays in a browser: Debian's headless Chromium loads it (readyState ≥ 2),
plays it (currentTime advances) and draws a frame that is not blank. The old MPEG-4 Part 2 file
is refused by the same page: the check can fail. One Chromium run for all (~4 s)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import visual_builders as vb
from formcheck.report import render

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PAGE_BUDGET_MS = 15_000  # virtual time Chromium gives the page before it dumps the DOM

PAGE = """<!doctype html><meta charset="utf-8"><body>%(videos)s<pre id="out">pending</pre><script>
const names = %(names)s, res = {};
function frameStats(v) {
  const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data; let s = 0, s2 = 0, n = 0;
  for (let i = 0; i < d.length; i += 4) { const y = (d[i] + d[i + 1] + d[i + 2]) / 3; s += y; s2 += y * y; n++; }
  return {mean: s / n, variance: s2 / n - (s / n) ** 2};
}
function done() {
  if (Object.keys(res).length === names.length) document.getElementById('out').textContent = JSON.stringify(res);
}
names.forEach(name => {
  const v = document.getElementById(name); let t0 = null;
  v.addEventListener('error', () => { res[name] = {error: v.error ? v.error.code : -1}; done(); });
  v.addEventListener('timeupdate', () => {
    if (name in res) return;
    if (t0 === null) { t0 = v.currentTime; return; }
    if (v.currentTime > t0 + 0.2) {
      res[name] = {readyState: v.readyState, t0: t0, t1: v.currentTime, width: v.videoWidth, height: v.videoHeight,
                   ...frameStats(v)};
      done();
    }
  });
  v.play().catch(e => { if (!(name in res)) { res[name] = {error: String(e)}; done(); } });
});
</script>"""


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium (Debian's `chromium` package; `make browser` installs it)")


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    """The folder over http on localhost (a file:// page may not read a video's pixels)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def play_in_chromium(folder: Path, files: list[str]) -> dict[str, dict]:
    names = [re.sub(r"\W", "_", f) for f in files]
    videos = "".join(f'<video id="{n}" muted playsinline preload="auto" src="{f}"></video>'
                     for n, f in zip(names, files, strict=True))
    (folder / "page.html").write_text(PAGE % {"videos": videos, "names": json.dumps(names)}, encoding="utf-8")
    with served(folder) as url:
        r = subprocess.run([browser(), "--headless=new", "--no-sandbox", "--disable-gpu", "--mute-audio",
                            "--no-first-run", "--autoplay-policy=no-user-gesture-required",
                            f"--user-data-dir={folder / 'profile'}", f"--virtual-time-budget={PAGE_BUDGET_MS}",
                            "--dump-dom", f"{url}/page.html"], capture_output=True, text=True, timeout=90)
    m = re.search(r'<pre id="out">(.*?)</pre>', r.stdout, re.S)
    assert m and m.group(1) != "pending", f"the page did not finish: {r.stdout[-500:]} {r.stderr[-800:]}"
    got = json.loads(m.group(1))
    return {f: got[n] for f, n in zip(files, names, strict=True)}


def test_the_annotated_video_plays_in_chromium(tmp_path):
    src = vb.video(tmp_path / "source_mp4v.mp4", 45, 320, 180, 15.0)  # MPEG-4 Part 2: what --annotate wrote before
    a = vb.analysis(45, 320, 180, 15.0)
    render.annotate_video(src, a, tmp_path / "annotated.mp4")
    render.annotate_video(src, a, tmp_path / "annotated.webm")
    got = play_in_chromium(tmp_path, ["annotated.mp4", "annotated.webm", "source_mp4v.mp4"])
    for name in ("annotated.mp4", "annotated.webm"):
        r = got[name]
        assert "error" not in r, (name, r)
        assert r["readyState"] >= 2 and r["t1"] > r["t0"], (name, r)  # loaded, and playing
        assert (r["width"], r["height"]) == (320, 180), (name, r)
        assert r["variance"] > 100 and 10 < r["mean"] < 245, (name, r)  # a drawn frame, not a blank one
    assert got["source_mp4v.mp4"] == {"error": 4}, got["source_mp4v.mp4"]  # MEDIA_ERR_SRC_NOT_SUPPORTED
