"""`formcheck batch`: every result and every error, resume, kill-safety, and Ray = local.

Inputs are the shipped pose tracks (samples/*.npz: re-scoring needs no pose model) plus broken
files made here; the dev-video test runs the model on the two shortest clips only.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from formcheck.apps.batch import runner as batch
from formcheck.apps.batch.runner import STATE_DIR, Job, Settings, discover, make_jobs, run_batch, run_job
from formcheck.cli.batch import app
from formcheck.config import load_config
from formcheck.errors import ExitCode, FormcheckError, InputNotFound, OutputError
from formcheck.pipeline.analyze import analyze_path
from formcheck.report.export import build, to_json

SHIPPED = Path(__file__).resolve().parents[1] / "samples"
GOOD = "glute_bridge_BE-PROJECTS2018_GroupNo23.npz"
OTHER = "glute_bridge_isaiahwong_Wong-Fit.npz"
NOTHING = "not_a_thrust_dead_bug_lenagalanova8.npz"
SHORT = "synthetic_glute_bridge_anvoxfit.npz"  # 97 frames, one rep
TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.[A-Za-z0-9]+$")


def sample(name: str) -> Path:
    p = SHIPPED / name
    if not p.is_file():
        pytest.skip(f"shipped track {p.name} not found (scripts/make_samples.py makes it)")
    return p


def make_inputs(root: Path) -> Path:
    """Two tracks with the same stem in different folders, one with nothing to score, three broken."""
    src = root / "in"
    for rel, name in (("a", GOOD), ("b", GOOD), ("b", OTHER), ("", NOTHING)):
        (src / rel).mkdir(parents=True, exist_ok=True)
        shutil.copy(sample(name), src / rel / name)
    (src / "broken").mkdir()
    (src / "broken" / "empty.mp4").write_bytes(b"")
    (src / "broken" / "random.mov").write_bytes(os.urandom(4096))
    (src / "broken" / "text.mp4").write_text("this is not a video\n" * 20)
    (src / "broken" / "notes.txt").write_text("not an input: wrong extension")
    (src / ".hidden.mp4").write_bytes(b"hidden files are skipped")
    return src


def summary(out: Path) -> dict[str, dict[str, str]]:
    with (out / "summary.csv").open(newline="", encoding="utf-8") as fh:
        return {row["name"]: row for row in csv.DictReader(fh)}


def reports(out: Path) -> dict[str, str]:
    files = sorted(p for p in out.rglob("*.json") if STATE_DIR not in p.parts)
    return {p.relative_to(out).as_posix(): p.read_text() for p in files}


def temp_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if TEMP.match(p.name)]


# ---- discovery and names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(["x/clip.mp4", "y/clip.mp4"], ["x/clip", "y/clip"], id="same-stem-in-two-folders"),
        pytest.param(["clip.mp4", "clip.mov"], ["clip.mp4", "clip.mov"], id="same-stem-two-extensions"),
        pytest.param(["d/e/one.mp4"], ["one"], id="single-file-flat"),
        pytest.param(["summary.mp4", "index.npz", "ok.gif"], ["summary.mp4", "index.npz", "ok"], id="reserved-names"),
        pytest.param(["Clip.mp4", "clip.MP4"], ["Clip.mp4", "clip.MP4~2"], id="case-only-difference"),
    ],
)
def test_output_names_never_clash(tmp_path: Path, files: list[str], expected: list[str]) -> None:
    names = [j.name for j in make_jobs([tmp_path / f for f in files])]
    assert names == expected
    assert len({n.lower() for n in names}) == len(names)


def own_output(out: Path, rel: str) -> Path:
    """A file in `out` that a batch's record names as one of its outputs."""
    p = out / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"an earlier output, not an input")
    record = out / STATE_DIR / (rel.rsplit(".", 1)[0] + ".json")
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"name": rel.rsplit(".", 1)[0], "source": "x", "status": "ok", "code": 0,
                                  "outputs": [rel]}))
    return p


def test_discover_walks_folders_expands_quoted_globs_and_skips_the_batchs_own_files(tmp_path: Path) -> None:
    src = make_inputs(tmp_path)
    out = src / "results"
    own_output(out, "old/annotated.mp4")
    (out / "mine.mp4").write_bytes(b"the user's own video, put here by hand")
    own = batch.own_files(out)
    found = {p.relative_to(src).as_posix() for p in discover([src], out, own)}
    assert found == {f"a/{GOOD}", f"b/{GOOD}", f"b/{OTHER}", NOTHING,
                     "broken/empty.mp4", "broken/random.mov", "broken/text.mp4", "results/mine.mp4"}
    globbed = {p.name for p in discover([str(src / "**" / "*.npz")], out, own)}
    assert globbed == {GOOD, OTHER, NOTHING}
    assert [p.name for p in discover([src / "broken" / "notes.txt"])] == ["notes.txt"]  # named = wanted


@pytest.mark.parametrize(
    ("arg", "error"),
    [
        pytest.param("missing.mp4", InputNotFound, id="missing-file"),
        pytest.param("*.nothing", InputNotFound, id="glob-without-match"),
        pytest.param("empty_dir", InputNotFound, id="folder-without-videos"),
        pytest.param("out/inside.mp4", FormcheckError, id="named-own-output"),
    ],
)
def test_discover_errors(tmp_path: Path, arg: str, error: type[Exception]) -> None:
    (tmp_path / "empty_dir").mkdir()
    own_output(tmp_path / "out", "inside.mp4")
    with pytest.raises(error):
        discover([str(tmp_path / arg)], tmp_path / "out", batch.own_files(tmp_path / "out"))


# ---- a batch: every result, every error --------------------------------------------------


def test_batch_gives_every_result_and_every_error(tmp_path: Path) -> None:
    src = make_inputs(tmp_path)
    out = tmp_path / "out with <odd> & \"name\""
    result = CliRunner().invoke(app, [str(src), "--out", str(out), "--workers", "2", "--csv"])
    assert result.exit_code == ExitCode.SOME_FAILED, result.output
    rows = summary(out)
    assert {n: r["status"] for n, r in rows.items()} == {
        f"a/{GOOD[:-4]}": "ok", f"b/{GOOD[:-4]}": "ok", f"b/{OTHER[:-4]}": "ok",
        NOTHING[:-4]: "nothing_to_score",
        "broken/empty": "error", "broken/random": "error", "broken/text": "error",
    }
    for name in ("broken/empty", "broken/random", "broken/text"):
        assert rows[name]["exit_code"] == str(int(ExitCode.NOT_A_VIDEO))
        assert rows[name]["message"].startswith(str(src / name))
        assert rows[name]["report"] == ""
        assert not (out / f"{name}.json").exists()
    assert rows[NOTHING[:-4]]["exit_code"] == str(int(ExitCode.NOTHING_TO_SCORE))
    # each report is byte for byte what single-file mode builds
    for name, src_file in ((f"a/{GOOD[:-4]}", src / "a" / GOOD), (NOTHING[:-4], src / NOTHING)):
        assert (out / f"{name}.json").read_text() == to_json(build(analyze_path(src_file)))
        assert (out / f"{name}.csv").read_text().startswith("source,exercise,view,index")
        assert rows[name]["report"] == f"{name}.json"
    page = (out / "index.html").read_text()
    for name, row in rows.items():
        assert name in page
        if row["report"]:
            assert f'href="{row["report"]}"' in page
    assert "error" in result.output and "broken/empty" in result.output
    assert not temp_files(out)


def test_only_scored_files_exit_zero_and_html_escapes_names(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    odd = 'a<b>&"c\'.npz'
    shutil.copy(sample(GOOD), src / odd)
    shutil.copy(sample(NOTHING), src / NOTHING)
    res = run_batch([src], Settings.create(tmp_path / "out"), workers=1)
    assert res.exit_code == ExitCode.OK
    assert [r.status for r in res.records] == ["ok", "nothing_to_score"]
    page = (tmp_path / "out" / "index.html").read_text()
    assert "a&lt;b&gt;&amp;&quot;c&#x27;" in page and "<b>" not in page
    assert 'href="a%3Cb%3E%26%22c%27.json"' in page


def test_html_flag_links_the_page_and_annotate_notes_a_track_has_no_video(tmp_path: Path) -> None:
    shutil.copy(sample(GOOD), tmp_path / GOOD)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [str(tmp_path / GOOD), "--out", str(out), "-j", "1", "--html", "--annotate"])
    assert result.exit_code == ExitCode.OK, result.output
    row = summary(out)[GOOD[:-4]]
    assert row["status"] == "ok" and "no annotated video" in row["message"]
    assert (out / f"{GOOD[:-4]}.html").read_text().lstrip().lower().startswith("<!doctype html")
    assert not (out / f"{GOOD[:-4]}.mp4").exists()
    assert f'<a href="{GOOD[:-4]}.html">' in (out / "index.html").read_text()


def test_a_worker_that_dies_fails_only_its_own_file(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in (GOOD, OTHER, NOTHING):
        shutil.copy(sample(name), src / name)
    res = run_batch([src], Settings.create(tmp_path / "out"), workers=2, job_fn=die_on_other)
    status = {r.name: (r.status, r.message) for r in res.records}
    assert status[GOOD[:-4]][0] == "ok" and status[NOTHING[:-4]][0] == "nothing_to_score"
    assert status[OTHER[:-4]] == ("error", batch_engines().CRASHED)
    assert res.exit_code == ExitCode.SOME_FAILED


def die_on_other(job: Job, s: Settings) -> batch.Record:
    """Runs in a worker: dies like a native crash on one file."""
    if job.name == OTHER[:-4]:
        os._exit(3)
    return run_job(job, s)


def batch_engines():  # the module, imported where the test needs it
    from formcheck.apps.batch import engines as module

    return module


# ---- resume ----------------------------------------------------------------------------------


def test_resume_skips_complete_results_and_redoes_changed_content_or_settings(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in (GOOD, OTHER, NOTHING):
        shutil.copy(sample(name), src / name)
    (src / "broken.mp4").write_bytes(b"")
    out = tmp_path / "out"
    first = run_batch([src], Settings.create(out), workers=2)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    before = reports(out)

    second = run_batch([src], Settings.create(out), workers=2)
    assert [r.reused for r in second.records] == [r.status != "error" for r in first.records]
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.json")} == mtimes  # nothing rewritten
    assert reports(out) == before
    assert summary(out)[GOOD[:-4]]["reused"] == "true"

    shutil.copy(sample(OTHER), src / GOOD)  # same name, other content
    third = run_batch([src], Settings.create(out), workers=2)
    redone = {r.name for r in third.records if not r.reused}
    assert redone == {GOOD[:-4], "broken"}  # failures are always retried
    assert (out / f"{GOOD[:-4]}.json").read_text() == to_json(build(analyze_path(src / GOOD)))
    assert (out / f"{NOTHING[:-4]}.json").stat().st_mtime_ns == mtimes[out / f"{NOTHING[:-4]}.json"]

    fourth = run_batch([src], Settings.create(out, csv=True), workers=2)  # other settings: all redone
    assert not any(r.reused for r in fourth.records)
    assert (out / f"{OTHER[:-4]}.csv").is_file()


def test_one_batch_per_folder_and_stale_temps_removed_from_its_own_folder_only(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(sample(GOOD), src / GOOD)
    out = tmp_path / "out"
    (out / STATE_DIR / "tmp").mkdir(parents=True)
    ours = [out / STATE_DIR / "tmp" / ".clip.k3j_9x0a.json", out / STATE_DIR / ".clip.a1b2c3d4.json"]
    for p in ours:
        p.write_text('{"half": ')
    theirs = out / ".settings.personal.toml"  # shaped like a temp name, but not in the batch's folder
    theirs.write_text("mine")
    with batch.locked(out), pytest.raises(OutputError, match="another formcheck batch"):
        run_batch([src], Settings.create(out), workers=1)
    run_batch([src], Settings.create(out), workers=1)
    assert not any(p.exists() for p in ours)
    assert temp_files(out) == [theirs] and theirs.read_text() == "mine"


# ---- kill midway, then resume ----------------------------------------------------------------


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux) to follow worker processes")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_killed_batch_leaves_only_complete_results_and_resumes(tmp_path: Path, sig: signal.Signals) -> None:
    src = tmp_path / "in"
    src.mkdir()
    tracks = sorted(SHIPPED.glob("*.npz"))
    if len(tracks) < 4:
        pytest.skip("needs the shipped tracks in samples/")
    n = 0
    while n < 60:  # enough work that the kill lands midway
        for t in tracks:
            shutil.copy(t, src / f"{n:03d}_{t.name}")
            n += 1
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from formcheck.cli import main; main()",
           "batch", str(src), "--out", str(out), "-j", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    state = out / STATE_DIR
    deadline = time.monotonic() + 60
    while not (state.is_dir() and any(state.glob("*.json"))):
        assert proc.poll() is None and time.monotonic() < deadline, "the batch ended before any result appeared"
        time.sleep(0.02)
    workers = _children(proc.pid)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)
    if sig == signal.SIGINT:
        assert proc.returncode == ExitCode.INTERRUPTED, stderr
        assert b"rerun the same command to resume" in stderr
        assert "not_done" in {r["status"] for r in summary(out).values()}
        assert not temp_files(out)  # the workers cleaned up before the batch exited
    deadline = time.monotonic() + 20
    while any(_alive(w) for w in workers):  # orphans notice and leave
        assert time.monotonic() < deadline, "worker processes outlived the killed batch"
        time.sleep(0.1)
    done_before = reports(out)
    assert 0 < len(done_before) < n, "the kill did not land midway"
    for text in done_before.values():
        assert json.loads(text)["schema"] == "formcheck.report"  # complete, parseable

    resumed = subprocess.run(cmd, capture_output=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    rows = summary(out)
    assert len(rows) == n and {r["status"] for r in rows.values()} <= {"ok", "nothing_to_score"}
    assert sum(r["reused"] == "true" for r in rows.values()) >= len(done_before) - 2  # in-flight ones may redo
    after = reports(out)
    assert len(after) == n
    for name, text in after.items():
        assert json.loads(text)["schema"] == "formcheck.report"
        if name in done_before:
            assert text == done_before[name]
    assert not temp_files(out)


# ---- Ray ---------------------------------------------------------------------------------------


def test_ray_engine_writes_the_same_results_as_the_local_engine(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'formcheck[ray]')")
    src = tmp_path / "in"
    (src / "x").mkdir(parents=True)
    for name in (GOOD, OTHER, NOTHING):
        shutil.copy(sample(name), src / name)
    shutil.copy(sample(GOOD), src / "x" / GOOD)
    (src / "broken.mp4").write_text("not a video")
    local = run_batch([src], Settings.create(tmp_path / "local"), engine="local", workers=2)
    ray_ = run_batch([src], Settings.create(tmp_path / "ray"), engine="ray", workers=2)
    assert reports(tmp_path / "ray") == reports(tmp_path / "local")
    assert len(reports(tmp_path / "local")) == 4

    def essentials(res: batch.BatchResult) -> list[tuple]:
        return [(r.name, r.status, r.code, r.message, r.outputs, r.sha256) for r in res.records]

    assert essentials(ray_) == essentials(local)


def test_engine_ray_without_ray_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    (tmp_path / "a.npz").write_bytes(b"x")
    result = CliRunner().invoke(app, [str(tmp_path / "a.npz"), "--out", str(tmp_path / "out"), "--engine", "ray"])
    assert result.exit_code == ExitCode.USAGE
    assert result.output.strip().count("\n") == 0 and "formcheck[ray]" in result.output


def test_unreachable_ray_cluster_fails_fast_with_exit_2(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'formcheck[ray]')")
    shutil.copy(sample(GOOD), tmp_path / GOOD)
    t0 = time.monotonic()
    result = CliRunner().invoke(app, [str(tmp_path / GOOD), "--out", str(tmp_path / "out"),
                                      "--ray-address", "127.0.0.1:1"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "cannot reach the Ray cluster at 127.0.0.1:1" in result.output
    assert time.monotonic() - t0 < 30


def test_unknown_engine_lists_the_valid_ones(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [str(tmp_path), "--out", str(tmp_path / "o"), "--engine", "spark"])
    assert result.exit_code == ExitCode.USAGE
    assert "valid: local, ray" in result.output


# ---- real videos -------------------------------------------------------------------------------


@pytest.mark.video
def test_batch_over_dev_videos_and_broken_files(samples_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    clips = ["synthetic_glute_bridge_anvoxfit.mp4", "single_leg_glute_bridge_Prakhar_FitnessTransformer.mp4"]
    for clip in clips:
        shutil.copy(samples_dir / clip, src / clip)
    (src / "empty.mp4").write_bytes(b"")
    (src / "renamed_text.mp4").write_text("hello\n")
    data = (samples_dir / clips[0]).read_bytes()
    (src / "truncated.mp4").write_bytes(data[: len(data) // 3])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, [str(src), "--out", str(out), "-j", "2", "--annotate", "--html"])
    assert result.exit_code == ExitCode.SOME_FAILED, result.output
    rows = summary(out)
    assert set(rows) == {Path(c).stem for c in clips} | {"empty", "renamed_text", "truncated"}
    for clip in clips:
        stem = Path(clip).stem
        row = rows[stem]
        assert row["status"] in ("ok", "nothing_to_score"), row
        assert int(row["frames"]) > 50
        assert json.loads((out / f"{stem}.json").read_text())["source"] == clip
        assert (out / f"{stem}.html").stat().st_size > 0 and (out / f"{stem}.mp4").stat().st_size > 0
    # A batch runs a file's time chunks in turn, `formcheck VIDEO` at once: the same report.
    alone = json.loads(to_json(build(analyze_path(src / clips[1]))))
    assert json.loads((out / f"{Path(clips[1]).stem}.json").read_text()) == alone
    assert rows["empty"]["status"] == rows["renamed_text"]["status"] == "error"
    assert rows["truncated"]["status"] in ("ok", "nothing_to_score", "error")  # recorded either way
    assert not temp_files(out)


# ---- re-rendering from the cached pose tracks ------------------------------------------------


def inline(jobs, s, fn, on_done, *, workers, address=None):  # an engine in this process: fakes reach it
    for job in jobs:
        on_done(fn(job, s))


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch):
    """Tracking a video returns the shipped track of its name; `calls` counts model runs. With
    `fake_model.off()`, running the model (or even loading it) fails the test's file."""
    from formcheck.apps.batch import engines
    from formcheck.pipeline import analyze as pipeline
    from formcheck.pose import model
    from formcheck.pose.track import PoseTrack

    monkeypatch.setitem(engines.ENGINES, "inline", inline)
    calls: list[str] = []

    def track_video(path, cfg, model_path=None, progress=None):
        calls.append(Path(path).name)
        return PoseTrack.load(sample(Path(path).stem + ".npz"))

    def no_model(*args, **kwargs):
        raise AssertionError("the pose model ran")

    def off() -> None:
        monkeypatch.setattr(pipeline, "track_video", no_model)
        monkeypatch.setattr(model, "PoseEstimator", no_model)

    monkeypatch.setattr(pipeline, "track_video", track_video)
    return SimpleNamespace(calls=calls, off=off)


class Page(HTMLParser):
    """Tags with their attributes, and the text, as a browser reads them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag]

    def classed(self, cls: str, tag: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and cls in (a.get("class") or "").split()]


def videos_of(src: Path, *names: str) -> None:
    """A tiny video (160x90) per shipped track, with as many frames at the same rate."""
    import visual_builders as vb
    from formcheck.pose.track import PoseTrack

    src.mkdir(parents=True, exist_ok=True)
    for name in names:
        track = PoseTrack.load(sample(name))
        vb.video(src / f"{name[:-4]}.mp4", len(track), 160, 90, track.fps)


def test_new_outputs_on_a_finished_batch_render_from_the_cached_tracks(tmp_path: Path, fake_model) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    videos_of(src, SHORT)
    first = run_batch([src], Settings.create(out, html=True), engine="inline")
    assert [(r.status, r.from_cache) for r in first.records] == [("ok", False)]
    assert fake_model.calls == [f"{SHORT[:-4]}.mp4"]  # the model ran once, and its track was kept
    assert (out / STATE_DIR / "tracks" / f"{SHORT[:-4]}.npz").is_file()
    report = (out / f"{SHORT[:-4]}.json").read_text()

    fake_model.off()  # from here on, running or loading the model fails the file
    result = CliRunner().invoke(app, [str(src), "--out", str(out), "--engine", "inline", "--html", "--annotate"])
    assert result.exit_code == ExitCode.OK, result.output
    row = summary(out)[SHORT[:-4]]
    assert row["status"] == "ok" and row["reused"] == "false"  # other settings: redone, from the cache
    assert (out / f"{SHORT[:-4]}.mp4").stat().st_size > 0
    assert (out / f"{SHORT[:-4]}.json").read_text() == report  # the same result, byte for byte
    page = (out / f"{SHORT[:-4]}.html").read_text(encoding="utf-8")
    assert f'<video id="set-video" controls playsinline preload="metadata" src="{SHORT[:-4]}.mp4"' in page
    assert "from the cached pose track" in result.output and "1 from their cached pose tracks" in result.output

    thresholds = tmp_path / "strict.toml"
    thresholds.write_text("[rules.full_lockout]\npass_min_deg = 179.0\nfail_below_deg = 178.0\n")
    stricter = run_batch([src], Settings.create(out, load_config(thresholds)), engine="inline")
    assert [(r.status, r.from_cache) for r in stricter.records] == [("ok", True)]  # thresholds: no re-tracking
    assert (out / f"{SHORT[:-4]}.json").read_text() != report

    with (src / f"{SHORT[:-4]}.mp4").open("ab") as fh:
        fh.write(b"\0")  # other content: the cached track is not its track
    changed = run_batch([src], Settings.create(out), engine="inline")
    assert changed.records[0].status == "error" and "the pose model ran" in changed.records[0].message


def test_the_index_shows_each_sets_frame_score_focus_and_the_faults_that_recur(tmp_path: Path, fake_model) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    sets = (SHORT, "single_leg_glute_bridge_Prakhar_FitnessTransformer.npz",
            "synthetic_hip_thrust_bobitosm_plateforme-coach.npz")
    videos_of(src, *sets)
    shutil.copy(sample(NOTHING), src / NOTHING)
    result = run_batch([src], Settings.create(out), engine="inline")
    recs = {r.name: r for r in result.records}
    assert [recs[n[:-4]].status for n in sets] == ["ok"] * 3
    page = Page((out / "index.html").read_text(encoding="utf-8"))
    cards = page.classed("set", "article")
    assert len(cards) == 4
    assert len([i for i in page.named("img") if (i["src"] or "").startswith("data:image/jpeg;base64,")]) == 3
    text = " ".join("".join(page.text).split())
    for words in ("Glute bridge · 1 rep", "Single leg glute bridge · 1 rep", "Hip thrust · 2 reps",
                  "No hip thrust or glute bridge found", "Pause and squeeze at the top: 2 of 3 sets"):
        assert words in text
    assert "glute_bridge ·" not in text and "none" not in text.split()  # ids are not words
    for n in sets:
        rec = recs[n[:-4]]
        assert rec.focus_cue and f"Focus: {rec.focus_title} — {rec.focus_cue}" in text
        assert f"{rec.mean_score:.0f} / 100" in text
    assert "Neutral neck:" not in text  # on one set only: not recurring


def test_the_track_cache_keeps_full_precision_and_a_stale_or_damaged_file_is_a_miss(tmp_path: Path) -> None:
    import dataclasses

    import numpy as np

    from formcheck.apps.batch.tracks import cache_path, load_cached, save_cached
    from formcheck.pose.track import PoseTrack

    shipped = PoseTrack.load(sample(SHORT))
    track = dataclasses.replace(shipped, image=shipped.image + 1e-9)  # not a float32 value: kept exactly
    save_cached(tmp_path, "week1/clip", "key-1", track)
    got = load_cached(tmp_path, "week1/clip", "key-1")
    assert got is not None
    for field in ("t", "image", "world", "visibility", "modelled"):
        assert np.array_equal(getattr(got, field), getattr(track, field), equal_nan=field != "modelled")
    assert (got.width, got.height, got.fps, got.source, got.frames_expected) == (
        track.width, track.height, track.fps, track.source, track.frames_expected)
    assert load_cached(tmp_path, "week1/clip", "key-2") is None  # other content or settings
    assert load_cached(tmp_path, "week1/other", "key-1") is None  # none made
    cache_path(tmp_path, "week1/clip").write_bytes(b"PK\x03\x04 damaged")
    assert load_cached(tmp_path, "week1/clip", "key-1") is None  # tracked again, never an error
