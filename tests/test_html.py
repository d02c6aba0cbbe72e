"""The one-file HTML report: parses, one row per rep, the plot, nothing unescaped, no network,
written atomically; and it renders to a non-blank page in headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import visual_builders as vb
from formcheck.errors import OutputError
from formcheck.pipeline.analyze import analyze_track
from formcheck.pose.track import PoseTrack
from formcheck.report import html_page as html_report
from formcheck.report.export import build
from formcheck.rules.base import Verdict

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
EVIL = "<script>alert(1)</script>.mp4"
EVIL_CUE = 'Knees <img src=x onerror="alert(2)"> & out'


class Page(HTMLParser):
    """What a browser would build: tags with attributes, the text, the rep cards, script bodies."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._script = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._script = tag == "script"

    def handle_endtag(self, tag):
        self._script = False

    def handle_data(self, data):
        (self.scripts if self._script else self.text).append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]

    def classed(self, cls: str, tag: str | None = None) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if cls in (a.get("class") or "").split() and tag in (None, t)]

    @property
    def rep_cards(self) -> int:
        return len(self.classed("rep", "article"))


def sample_track(name: str) -> PoseTrack:
    p = ROOT / "samples" / f"{name}.npz"
    if not p.is_file():
        pytest.skip(f"shipped track {p.name} not found (scripts/make_samples.py makes it)")
    return PoseTrack.load(p)


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
    assert page.rep_cards == n_reps
    assert len(page.named("svg")) == 2  # the wide plot and the phone's
    assert len(page.named("path")) > 20  # curves drawn
    assert len(page.named("img")) == n_reps
    ids = [a["id"] for _, a in page.tags if a.get("id")]
    assert len(ids) == len(set(ids))  # two plots, no id twice


@pytest.fixture
def stub_plot(monkeypatch):
    """The plot costs ~1 s a page: tests about the rest of the page draw an empty one."""
    monkeypatch.setattr(html_report, "plot_svg", lambda a, lay: f'<svg id="{lay.name}" viewBox="0 0 1 1"></svg>')


@pytest.mark.usefixtures("stub_plot")
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


@pytest.mark.usefixtures("stub_plot")
def test_without_video_the_page_says_why_there_are_no_thumbnails():
    a, report = crafted()
    page = Page(html_report.render_html(a, report, None))
    assert page.named("img") == []
    assert "saved pose track" in "".join(page.text)
    assert page.rep_cards == 2


@pytest.mark.usefixtures("stub_plot")
def test_partial_rep_is_marked():
    a, report = crafted(2, partial=True)
    text = "".join(Page(html_report.render_html(a, report, None)).text)
    assert "Partial rep, not counted: the clip ends mid-rep" in text


@pytest.mark.usefixtures("stub_plot")
def test_no_reps_no_table():
    a, report = crafted()
    report["reps"] = []
    page = Page(html_report.render_html(a, report, None))
    assert page.rep_cards == 0 and not [t for t in page.named("section") if t.get("id") == "reps"]


@pytest.mark.usefixtures("stub_plot")
def test_write_html_with_video_has_annotated_thumbnails(tmp_path):
    a, report = crafted()
    src = vb.video(tmp_path / "in.mp4", 40)
    out = tmp_path / "r.html"
    html_report.write_html(a, report, out, src)
    imgs = Page(out.read_text(encoding="utf-8")).named("img")
    assert len(imgs) == 2 and all((i["src"] or "").startswith("data:image/jpeg;base64,") for i in imgs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "r.html"]


@pytest.mark.usefixtures("stub_plot")
def test_annotated_video_is_linked_with_a_jump_link_per_rep():
    a, report = crafted(3, partial=True)
    page = Page(html_report.render_html(a, report, ["data:image/jpeg;base64,AAAA"] * 3, "out/set%201.mp4"))
    videos = page.named("video")
    assert len(videos) == 1 and videos[0]["src"] == "out/set%201.mp4" and "controls" in videos[0]
    jumps = page.classed("jump", "a")
    starts = [f"{r['start_s']:.3f}" for r in report["reps"]]
    assert [j["data-t"] for j in jumps] == starts * 2  # the row under the video, then one per rep card
    assert all(j["href"] == f"out/set%201.mp4#t={float(j['data-t']):.2f}" for j in jumps)  # works without script
    assert "partial" in (jumps[2]["class"] or "")  # the partial rep's link says so
    # One script, the one the CSP names by its hash; media only from the page's own place.
    (script,) = page.scripts
    csp = next(m["content"] for m in page.named("meta") if m.get("http-equiv") == "Content-Security-Policy") or ""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp and "media-src 'self'" in csp and "default-src 'none'" in csp
    assert "currentTime" in script and "set-video" in script


@pytest.mark.usefixtures("stub_plot")
def test_without_an_annotated_video_no_player_and_no_script():
    a, report = crafted()
    text = html_report.render_html(a, report, ["data:image/jpeg;base64,AAAA"] * 2)
    page = Page(text)
    assert page.named("video") == [] and page.named("script") == [] and page.classed("jump") == []
    assert "script-src" not in text and "media-src" not in text


@pytest.mark.usefixtures("stub_plot")
def test_a_key_frame_enlarges_and_closes_without_script():
    a, report = crafted(2)
    page = Page(html_report.render_html(a, report, ["data:image/jpeg;base64,AAAA", ""]))
    figures = page.classed("kf", "figure")
    assert [f["id"] for f in figures] == ["kf-1"]  # the rep whose frame could not be read has none
    opener = [x for x in page.named("a") if x.get("href") == "#kf-1"]
    closer = page.classed("kf-close", "a")
    assert len(opener) == 1 and [c["href"] for c in closer] == ["#rep-1"]
    assert [x["id"] for x in page.classed("rep", "article")] == ["rep-1", "rep-2"]
    assert ".kf:target{position:fixed" in html_report.CSS  # the enlarged view: the frame over the whole window
    assert "No frame: this part of the video could not be decoded." in "".join(page.text)


@pytest.mark.parametrize(
    ("video", "page", "link"),
    [
        pytest.param("out/set.mp4", "out/r.html", "set.mp4", id="same-folder"),
        pytest.param("videos/set 1#.mp4", "pages/r.html", "../videos/set%201%23.mp4", id="other-folder-quoted"),
        pytest.param("a/b/set.mp4", "r.html", "a/b/set.mp4", id="below"),
    ],
)
def test_video_link_is_relative_to_the_page(tmp_path, video, page, link):
    assert html_report.video_link(tmp_path / video, tmp_path / page) == link


def test_the_phone_plot_keeps_its_text_readable_at_390_px():
    from formcheck.report.html_plot import MIN_TEXT_PX, NARROW, WIDE

    phone_figure_px = 390 - 2 * 12 - 2 * 9  # page padding, figure padding and border at 390 px
    assert NARROW.text_px(phone_figure_px) >= MIN_TEXT_PX
    assert WIDE.text_px(1100 - 2 * 16 - 2 * 9) >= MIN_TEXT_PX  # the desktop figure at 1280 px
    assert WIDE.text_px(phone_figure_px) < MIN_TEXT_PX  # why there are two


def test_a_failing_write_leaves_no_file(tmp_path, monkeypatch):
    a, report = crafted()
    monkeypatch.setattr(html_report, "plot_svg", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        html_report.write_html(a, report, tmp_path / "r.html", None)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "taken.html").mkdir()
    monkeypatch.undo()
    with pytest.raises(OutputError):
        html_report.write_html(a, report, tmp_path / "taken.html", None)
    assert [p.name for p in tmp_path.iterdir()] == ["taken.html"]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


# Runs in a page that frames the report at each width (an iframe is its own viewport: headless
# Chromium will not make a window narrower than 500 px) and writes what it measured into the DOM.
PROBE = """
function probe(f,report){
var d=f.contentDocument,w=f.contentWindow,root=d.documentElement,out={sw:root.scrollWidth,cw:root.clientWidth};
function done(){report(out);}
function after(ms,fn){setTimeout(fn,ms);}
var svgs=[].filter.call(d.querySelectorAll('.plot svg'),function(s){return s.getBoundingClientRect().width>0;});
out.plots=svgs.length;
if(svgs.length){var s=svgs[0],k=s.getBoundingClientRect().width/s.viewBox.baseVal.width,m=1e9;
 [].forEach.call(s.querySelectorAll('text'),function(t){m=Math.min(m,parseFloat(w.getComputedStyle(t).fontSize));});
 out.text_px=m*k;}
function zoom(){var fig=d.getElementById('kf-1');if(!fig){done();return;}
 w.location.hash='kf-1';after(100,function(){var r=fig.querySelector('img').getBoundingClientRect();
  out.zoom=r.width/root.clientWidth;out.zoomed=w.getComputedStyle(fig).position;
  w.location.hash='rep-1';after(100,function(){out.closed=w.getComputedStyle(fig).position;
   w.location.hash='';after(100,function(){w.scrollTo(0,0);after(100,done);});});});}
var v=d.getElementById('set-video');out.video=!!v;if(!v){zoom();return;}
var links=d.querySelectorAll('a.jump[data-t]');out.jumps=links.length;
function seek(){out.ready=v.readyState;var a=links[links.length-1];
 if(a){out.want=parseFloat(a.getAttribute('data-t'));a.click();out.t=v.currentTime;v.pause();}zoom();}
v.addEventListener('error',function(){out.error=v.error?v.error.code:-1;zoom();},{once:true});
if(v.readyState>=1)seek();else v.addEventListener('loadedmetadata',seek,{once:true});
}
var all={},frames=document.querySelectorAll('iframe');
[].forEach.call(frames,function(f){f.addEventListener('load',function(){probe(f,function(out){
 all[f.style.width]=out;if(Object.keys(all).length==frames.length)document.body.setAttribute('data-probe',JSON.stringify(all));
});});});
"""
WIDTHS = (390, 1280)  # a phone, a desktop
GAP = 10  # px between the frames in the screenshot


def h264(src: Path, out: Path) -> Path:
    """The clip re-encoded as H.264, which every browser plays (the test needs a playable file)."""
    ffmpeg = pytest.importorskip("imageio_ffmpeg").get_ffmpeg_exe()
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(src), "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(out)], check=True, timeout=60)
    return out


def browse(page: Path, tmp_path: Path) -> dict[int, tuple[dict, np.ndarray]]:
    """Open `page` framed at each of WIDTHS, in one browser: {width: (what PROBE measured, its screenshot)}."""
    frames = "".join(f'<iframe src="{page.name}" style="width:{w}px;height:2000px;border:0;margin-right:{GAP}px">'
                     "</iframe>" for w in WIDTHS)
    frame = page.with_name("frames.html")
    frame.write_text(f'<!doctype html><body style="margin:0;white-space:nowrap">{frames}'
                     f"<script>{PROBE}</script></body>")
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           "--allow-file-access-from-files", "--virtual-time-budget=5000", f"--user-data-dir={tmp_path / 'profile'}",
           f"--window-size={sum(WIDTHS) + GAP * len(WIDTHS)},2000", f"--screenshot={shot}", "--dump-dom",
           frame.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, f"the probe reported nothing (exit {done.returncode}): {done.stderr[-500:]}"
    assert shot.is_file(), f"chromium wrote no screenshot (exit {done.returncode}): {done.stderr[-500:]}"
    measured = json.loads(unescape(found.group(1)))
    px = np.asarray(Image.open(shot).convert("RGB"))
    ARTIFACTS.mkdir(exist_ok=True)
    out, x = {}, 0
    for w in WIDTHS:
        part = px[:, x : x + w]
        Image.fromarray(part).save(ARTIFACTS / f"html_report_{w}.png")
        out[w] = (measured[f"{w}px"], part.astype(float))
        x += w + GAP
    return out


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (`make test` installs it)")
def test_report_in_headless_chromium_at_phone_and_desktop_width(tmp_path):
    """A real set's page: no sideways scroll at 390 px, the plot's text >= 11 px at both widths, the
    annotated video loads under the page's CSP and a rep's jump link seeks it, a key frame enlarges."""
    track = sample_track("synthetic_hip_thrust_fitkobra_fitKobra")
    a = analyze_track(track)
    report = build(a)
    report["source"] = "a_long_file_name_with_no_spaces_to_break_at_" * 3 + ".mp4"  # must wrap, not overflow
    (tmp_path / "videos").mkdir()
    clip = h264(vb.video(tmp_path / "src.mp4", len(track), 160, 90, track.fps), tmp_path / "videos" / "set 1.mp4")
    page = tmp_path / "report.html"
    html_report.write_html(a, report, page, tmp_path / "src.mp4", annotated=clip)
    assert 'src="videos/set%201.mp4"' in page.read_text(encoding="utf-8")
    starts = {round(r.start_s, 3) for r in a.reps}
    for width, (got, px) in browse(page, tmp_path).items():
        assert got["sw"] <= got["cw"] == width, got  # nothing sticks out sideways
        assert got["plots"] == 1 and got["text_px"] >= 11, got  # one plot shown, its text readable
        assert got["video"] and got["jumps"] == 2 * len(a.reps), got  # a chip row and one link per card
        assert "error" not in got and got["ready"] >= 1, got  # the relative video loaded under the CSP
        assert got["t"] == pytest.approx(got["want"], abs=0.05) and round(got["want"], 3) in starts, got
        assert got["zoomed"] == "fixed" and got["zoom"] > 0.9 and got["closed"] == "static", got
        assert px.std() > 20 and (px.reshape(-1, 3).std(axis=1) > 60).mean() > 0.001  # drawn: plot, pills, frames


def test_outside_text_loses_its_control_characters_in_the_page():
    """A file name with a terminal escape or a bidi override is shown, not obeyed, in the HTML."""
    from formcheck.report.html_page import e

    out = e("set\x1b]0;pwned\x07\u202eqmt.mp4 <b>")
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b" in out and "&lt;b&gt;" in out
