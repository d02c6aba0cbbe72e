"""The one-file HTML report: parses, one row per rep, the plot, nothing unescaped, no network,
written atomically; and it renders to a non-blank page in headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import visual_builders as vb
from formcheck.errors import OutputError
from formcheck.report import html_page as html_report
from formcheck.report.export import build
from formcheck.rules.base import Verdict

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
EVIL = "<script>alert(1)</script>.mp4"
EVIL_CUE = 'Knees <img src=x onerror="alert(2)"> & out'


class Page(HTMLParser):
    """What a browser would build: tags with attributes, the text, rows of the rep table."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.rep_rows = 0
        self._in: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table":
            self._in.append(a.get("id") or "")
        if tag == "tr" and self._in and self._in[-1] == "reps" and self._tbody:
            self.rep_rows += 1
        if tag == "tbody":
            self._tbody = True
        if tag == "thead":
            self._tbody = False

    _tbody = False

    def handle_endtag(self, tag):
        if tag == "table" and self._in:
            self._in.pop()

    def handle_data(self, data):
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]


def crafted(n_reps: int = 2, partial: bool = False):
    reps = tuple(vb.rep(2 + 20 * i, 10 + 20 * i, 18 + 20 * i, partial=partial and i == n_reps - 1)
                 for i in range(n_reps))
    evil = vb.check("knees_out", Verdict.FAIL, cue=EVIL_CUE, title="Knees <marquee>out</marquee>")
    checks = (*vb.DEFAULT_CHECKS, evil)
    a = vb.analysis(n=max(40, 20 * n_reps + 2), reps=reps, checks=checks, source=EVIL)
    report = build(a)
    report["warnings"] = ["lost frames in </ul><script>alert(3)</script>"]
    return a, report


@pytest.mark.parametrize("n_reps", [1, 3], ids=["one-rep", "three-reps"])
def test_page_parses_one_row_per_rep_and_the_plot(n_reps):
    a, report = crafted(n_reps)
    page = Page(html_report.render_html(a, report, ["data:image/jpeg;base64,AAAA"] * n_reps))
    assert page.rep_rows == n_reps
    assert len(page.named("svg")) == 1
    assert len(page.named("path")) > 10  # curves drawn
    assert len(page.named("img")) == n_reps


def test_outside_text_is_escaped():
    a, report = crafted()
    text = html_report.render_html(a, report, None)
    page = Page(text)
    assert page.named("script") == []
    assert page.named("marquee") == []  # the rule title's tag is text, not a tag
    assert page.named("img") == []  # the cue's <img onerror> is text too
    visible = "".join(page.text)
    assert EVIL in visible and EVIL_CUE in visible and "Knees <marquee>out</marquee>" in visible
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.mp4" in text


def test_self_contained_no_network():
    a, report = crafted()
    page = Page(html_report.render_html(a, report, ["data:image/jpeg;base64,AAAA", ""]))
    assert page.named("link") == [] and page.named("script") == [] and page.named("iframe") == []
    assert all((img.get("src") or "").startswith("data:") for img in page.named("img"))
    csp = [m for m in page.named("meta") if m.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")


def test_without_video_the_page_says_why_there_are_no_thumbnails():
    a, report = crafted()
    page = Page(html_report.render_html(a, report, None))
    assert page.named("img") == []
    assert "saved pose track" in "".join(page.text)
    assert page.rep_rows == 2


def test_partial_rep_is_marked():
    a, report = crafted(2, partial=True)
    text = "".join(Page(html_report.render_html(a, report, None)).text)
    assert "Partial rep, not counted: the clip ends mid-rep" in text


def test_no_reps_no_table():
    a, report = crafted()
    report["reps"] = []
    page = Page(html_report.render_html(a, report, None))
    assert page.rep_rows == 0 and not [t for t in page.named("table") if t.get("id") == "reps"]


def test_write_html_with_video_has_annotated_thumbnails(tmp_path):
    a, report = crafted()
    src = vb.video(tmp_path / "in.mp4", 40)
    out = tmp_path / "r.html"
    html_report.write_html(a, report, out, src)
    imgs = Page(out.read_text(encoding="utf-8")).named("img")
    assert len(imgs) == 2 and all((i["src"] or "").startswith("data:image/jpeg;base64,") for i in imgs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "r.html"]


def test_a_failing_write_leaves_no_file(tmp_path, monkeypatch):
    a, report = crafted()
    monkeypatch.setattr(html_report, "plot_svg", lambda a: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        html_report.write_html(a, report, tmp_path / "r.html", None)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "taken.html").mkdir()
    monkeypatch.undo()
    with pytest.raises(OutputError):
        html_report.write_html(a, report, tmp_path / "taken.html", None)
    assert [p.name for p in tmp_path.iterdir()] == ["taken.html"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (`make test` installs it)")
def test_report_renders_in_headless_chromium(tmp_path):
    a, report = crafted(3)
    src = vb.video(tmp_path / "in.mp4", 64)
    page = tmp_path / "report.html"
    html_report.write_html(a, report, page, src)
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", "--window-size=1280,2000",
           page.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)
    assert shot.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-500:]}"
    px = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert px.shape[:2] == (2000, 1280)
    assert px.std() > 20  # not a blank page
    assert (px.reshape(-1, 3).std(axis=1) > 60).mean() > 0.001  # coloured pixels: plot, pills, thumbnails
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(shot, ARTIFACTS / "html_report.png")


def test_outside_text_loses_its_control_characters_in_the_page():
    """A file name with a terminal escape or a bidi override is shown, not obeyed, in the HTML."""
    from formcheck.report.html_page import e

    out = e("set\x1b]0;pwned\x07\u202eqmt.mp4 <b>")
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b" in out and "&lt;b&gt;" in out
