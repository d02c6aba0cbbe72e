"""The progress page and `formcheck compare`: escaped user text, plots present, two shipped tracks
compared; the page rendered in headless Chromium when Debian's chromium is installed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from conftest import SHIPPED
from formcheck.apps.history import Store, page, record_report, sets
from formcheck.apps.history.record import adapt
from formcheck.cli.history import app as history_app
from formcheck.cli.history import compare_app

runner = CliRunner()
THRUST = SHIPPED / "hip_thrust_palFitness_WORKOUT-HOME.npz"
BRIDGE = SHIPPED / "glute_bridge_BE-PROJECTS2018_GroupNo23.npz"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EVIL = '<script>alert("x")</script> & Co'
NOTE = "<img src=x onerror=alert(1)> 'quoted'"


@pytest.fixture(autouse=True)
def _no_user_db(tmp_path, monkeypatch):
    monkeypatch.setenv("FORMCHECK_DB", str(tmp_path / "default.sqlite"))


@pytest.fixture(scope="module")
def scored():
    return {p.stem: adapt(p) for p in (THRUST, BRIDGE)}


@pytest.fixture
def history(tmp_path, scored):
    """Four sets of one lifter with a hostile name over four weeks, plus one of another lifter."""
    db = tmp_path / "h.sqlite"
    report, curve = scored[THRUST.stem]
    (tmp_path / "week1.json").write_text(json.dumps(report))
    for week in range(4):
        r = json.loads(json.dumps(report))
        r["summary"]["mean_score"] = 70 + 5 * week
        record_report(r, db=db, lifter=EVIL, sha256=f"{week}".ljust(64, "a"), curve=curve, load_kg=40 + 10 * week,
                      note=NOTE, recorded_at=f"2026-0{week + 1}-10T18:00:00Z",
                      report_path=tmp_path / "week1.json" if week == 0 else None)
    record_report(scored[BRIDGE.stem][0], db=db, lifter="bo", recorded_at="2026-02-01T09:00:00Z")
    return db


def test_progress_page_escapes_user_text_and_has_the_plots(history, tmp_path):
    out = tmp_path / "progress.html"
    r = runner.invoke(history_app, ["--db", str(history), "--html", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert "<script" not in text and "<img" not in text and "onerror=alert(1)>" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in text
    assert "&lt;img src=x onerror=alert(1)&gt; &#x27;quoted&#x27;" in text
    assert text.count("<svg") == 4  # per lifter: trends + fault frequency
    assert 'class="trends"' in text and 'class="faults"' in text
    assert re.search(r'<a href="file://[^"]+week1\.json">json</a>', text)  # the set's report, linked
    assert not re.search(r'(src|href)="https?:', text)  # self-contained: nothing fetched


def test_progress_page_of_one_lifter(history, tmp_path):
    with Store(history) as st:
        html = page.history_page(sets.list_sets(st, "bo"), "bo")
    assert html.count("<svg") == 2 and EVIL.split()[0] not in html


def test_compare_two_shipped_tracks(tmp_path):
    out = tmp_path / "cmp.html"
    r = runner.invoke(compare_app, [str(THRUST), str(BRIDGE), "--html", str(out)])
    assert r.exit_code == 0, r.output
    assert "hip_thrust_palFitness_WORKOUT-HOME.npz" in r.output
    assert re.search(r"reps\s+│\s+7 │\s+5 │\s+-2", r.output), r.output
    assert "rep scores A: " in r.output and "Pause and squeeze at the top" in r.output
    assert "hip extension, A and B overlaid" in r.output and "*" in r.output
    assert [ln[:9] for ln in r.output.splitlines() if " ascent " in ln[:9]] == ["A ascent ", "B ascent "]
    html = out.read_text()
    assert html.count("<svg") == 3  # overlay + a fatigue plot per set
    assert 'class="overlay"' in html


def test_compare_set_ids_and_a_report(history, tmp_path):
    r = runner.invoke(compare_app, ["1", "4", "--db", str(history)])
    assert r.exit_code == 0, r.output
    assert re.search(r"score\s+│\s+70 │\s+85 │\s+\+15", r.output), r.output
    r = runner.invoke(compare_app, ["1", str(tmp_path / "week1.json"), "--db", str(history)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(compare_app, ["1", "99", "--db", str(history)])
    assert r.exit_code == 2 and "no set 99" in r.output


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (`make test` installs it)")
def test_progress_page_renders_in_headless_chromium(history, tmp_path):
    out = tmp_path / "progress.html"
    assert runner.invoke(history_app, ["--db", str(history), "--html", str(out)]).exit_code == 0
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
             "--disable-background-networking", "--disable-component-update", f"--user-data-dir={tmp_path / 'p'}"]
    dom = subprocess.run([*flags, "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=90,
                         check=False).stdout
    assert dom.count("<svg") == 4 and dom.count("<path") > 50, dom[-500:]  # the plots were parsed and kept
    assert "<script" not in dom and "&lt;script&gt;" in dom  # the name is text, not markup
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1100,1400", out.as_uri()], capture_output=True,
                   timeout=90, check=False)
    px = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert px.std() > 20  # not blank
    assert (px.reshape(-1, 3).std(axis=1) > 60).mean() > 0.001  # coloured pixels: the plot lines and bars
