"""The second round of hostile input (issue 18): classes of attack, each with a generated case.

Every case asserts the exit code, the one-line message, and the files left (none, or whole);
where a case is about a bomb or a hang, also a bound on time or memory. Nothing binary is
committed: every input is made here (corpus.py builds the videos).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

import corpus
from conftest import SHIPPED
from formcheck.cli.analyze import app
from formcheck.config import RepsConfig, SmoothingConfig, VideoConfig
from formcheck.errors import ExitCode
from formcheck.rules import rule_classes
from formcheck.util.params import value_range

runner = CliRunner()
TRACK = SHIPPED / "hip_thrust_isaiahwong_Wong-Fit.npz"


def one_line(r, code: int, *says: str) -> str:
    assert r.exit_code == code, r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("formcheck: "), r.stderr
    assert "Traceback" not in r.output and "this is a bug" not in r.output
    for s in says:
        assert s in lines[0], lines[0]
    return lines[0]


# --- config values: every value range-checked at load, exit 2, before any tracking -----------

BIG = "9" * 4000
HUGE = "9" * 5000
CONFIG_CASES = {
    "nan-confidence": ("[video]\nmin_tracking_confidence = nan", "min_tracking_confidence = nan", "0 to 1"),
    "confidence-2": ("[video]\nmin_detection_confidence = 2", "min_detection_confidence = 2.0", "0 to 1"),
    "negative-confidence": ("[video]\nmin_detection_confidence = -0.1", "-0.1", "0 to 1"),
    "chunks-runaway": ("[video]\nchunks = 1000000", "chunks = 1000000", "1 to 64"),
    "chunks-4000-digits": (f"[video]\nchunks = {BIG}", "a 4000-digit number", "1 to 64"),
    "chunks-5000-digits": (f"[video]\nchunks = {HUGE}", "too large", ""),
    "max-side-negative": ("[video]\nmax_side = -1", "max_side = -1", "16 to 8,192"),
    "workers-bool": ("[video]\nworkers = true", "workers: expected int", ""),
    "nan-rom": ("[reps]\nmin_rom_deg = nan", "min_rom_deg = nan", "0 to 180"),
    "inf-period": ("[reps]\nmin_period_s = inf", "min_period_s = inf", "0 to 3,600"),
    "quantile-over-1": ("[reps]\nbest_quantile = 1.5", "best_quantile = 1.5", "0 to 1"),
    "filter-order-0": ("[smoothing]\norder = 0", "order = 0", "1 to 8"),
    "filter-order-huge": ("[smoothing]\norder = 400", "order = 400", "1 to 8"),
    "cutoff-negative": ("[smoothing]\ncutoff_hz = -6", "cutoff_hz = -6.0", "0.1 to 100"),
    "rule-negative": ("[rules.knees_out]\npass_min_ratio = -1", "[rules.knees_out] pass_min_ratio = -1.0", "0 to 3"),
    "rule-pct": ("[rules.consistent_rom]\npass_min_pct = 500", "pass_min_pct = 500.0", "0 to 100"),
    "rule-nan-deg": ("[rules.full_lockout]\npass_min_deg = nan", "pass_min_deg = nan", "0 to 250"),
    "deep-nesting": ("x = " + "[" * 3000 + "]" * 3000, "nested too deeply", ""),
    "deep-tables": ("[video]\nchunks = " + "{a=" * 2000 + "1" + "}" * 2000, "nested too deeply", ""),
    "table-not-a-table": ("video = 3", "[video]: expected a table", ""),
    "rules-not-tables": ("rules = 3", "[rules] holds one table per rule", ""),
    "rule-not-a-table": ("[rules]\nknees_out = 3", "[rules] holds one table per rule", ""),
}


@pytest.mark.parametrize("case", CONFIG_CASES.values(), ids=CONFIG_CASES.keys())
def test_config_values_are_range_checked_before_any_work(case, tmp_path: Path):
    text, *says = case
    cfg = tmp_path / "c.toml"
    cfg.write_text(text + "\n")
    video = corpus.write_video(tmp_path / "room.mp4", corpus.solid_frames(5))
    r = runner.invoke(app, [str(video), "--config", str(cfg), "--json", str(tmp_path / "o" / "r.json")])
    one_line(r, ExitCode.USAGE, str(cfg), *[s for s in says if s])
    assert not (tmp_path / "o").exists()


TABLES = {"video": VideoConfig, "smoothing": SmoothingConfig, "reps": RepsConfig,
          **{f"rules.{k}": v.Params for k, v in rule_classes().items()}}


@pytest.mark.parametrize("table", TABLES, ids=TABLES.keys())
def test_every_numeric_setting_has_a_range_holding_its_default_and_refuses_nan(table: str, tmp_path: Path):
    from formcheck.config import config_from_dict
    from formcheck.errors import ConfigError

    cls = TABLES[table]
    for f in dataclasses.fields(cls):
        default = getattr(cls(), f.name)
        rng = value_range(f, default)
        assert rng is not None and rng[0] <= default <= rng[1], (table, f.name, rng)
        head, _, rule = table.partition(".")
        for bad in (math.nan, rng[1] * 2 + 1, -1 - rng[0])[isinstance(default, int):]:
            values = {f.name: type(default)(bad)}
            data = {head: {rule: values}} if rule else {head: values}
            with pytest.raises(ConfigError, match=f"{f.name} = .* out of range; allowed"):
                config_from_dict(data)


def test_a_valid_config_still_scores(tmp_path: Path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[video]\nchunks = 64\nmin_detection_confidence = 1\n[reps]\nbest_quantile = 1\n")
    r = runner.invoke(app, [str(TRACK), "--config", str(cfg), "--json", str(tmp_path / "r.json"), "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["reps"] > 0


# --- pose tracks: every header field and array shape validated, exit 4; sizes before memory ---


def write_track(path: Path, header: object = None, **arrays: object) -> Path:
    """A .npz shaped like a saved track, from the shipped one with some parts replaced."""
    import numpy as np

    with np.load(TRACK) as z:
        base = {k: z[k] for k in z.files}
    h = json.loads(bytes(base["header"]).decode())
    if header is not None:
        h = header(h) if callable(header) else header
    parts = {**base, "header": np.frombuffer(json.dumps(h).encode(), np.uint8), **arrays}
    np.savez_compressed(path, **{k: v for k, v in parts.items() if v is not None})
    return path


def _with(**kw: object):
    return lambda h: {**h, **kw}


def _t(f):
    import numpy as np

    with np.load(TRACK) as z:
        return f(np, z["t"], len(z["t"]))


TRACK_CASES = {
    "header-list": (lambda p: write_track(p, [1, 2]), "header is a list"),
    "header-string": (lambda p: write_track(p, "formcheck-track"), "header is a str"),
    "width-null": (lambda p: write_track(p, _with(width=None)), "'width' is null"),
    "width-huge": (lambda p: write_track(p, _with(width=10**12)), "'width' is 1000000000000"),
    "width-float": (lambda p: write_track(p, _with(width=1.5)), "'width' is 1.5"),
    "version-null": (lambda p: write_track(p, _with(version=None)), "'version' is null"),
    "fps-string": (lambda p: write_track(p, _with(fps="30")), "'fps' is \"30\""),
    "meta-integer": (lambda p: write_track(p, _with(meta=3)), "'meta' is a int"),
    "source-not-text": (lambda p: write_track(p, _with(source=[1])), "'source' is not a name"),
    "frames-expected-negative": (lambda p: write_track(p, _with(frames_expected=-1)), "'frames_expected' is -1"),
    "t-2d": (lambda p: write_track(p, t=_t(lambda np, t, n: t.reshape(-1, 1))), "'t' has shape"),
    "t-nan": (lambda p: write_track(p, t=_t(lambda np, t, n: np.where(np.arange(n) == 5, np.nan, t))), "NaN"),
    "t-tiny-steps": (lambda p: write_track(p, t=_t(lambda np, t, n: np.arange(n) * 1e-12)), "at least 0.0001 s"),
    "t-decreasing": (lambda p: write_track(p, t=_t(lambda np, t, n: t[::-1].copy())), "at least 0.0001 s"),
    "zero-frames": (lambda p: _t(lambda np, t, n: write_track(
        p, t=t[:0], image=np.zeros((0, 33, 3)), world=np.zeros((0, 33, 3)), visibility=np.zeros((0, 33)))),
        "holds no frames"),
    "image-short": (lambda p: _t(lambda np, t, n: write_track(p, image=np.zeros((n - 1, 33, 3)))), "'image' has shape"),
    "image-strings": (lambda p: _t(lambda np, t, n: write_track(p, image=np.full((n, 33, 3), "x"))), "expected float"),
    "image-inf": (lambda p: _t(lambda np, t, n: write_track(p, world=np.full((n, 33, 3), np.inf))), "infinite"),
    "no-world": (lambda p: write_track(p, world=None), "no 'world' array"),
    "not-a-zip": (lambda p: (p.write_bytes(b"PK\x03\x04" + b"\0" * 100), p)[1], "not a readable"),
}


@pytest.mark.parametrize("case", TRACK_CASES.values(), ids=TRACK_CASES.keys())
def test_malformed_tracks_say_what_is_wrong(case, tmp_path: Path):
    make, says = case
    track = make(tmp_path / "set.npz")
    r = runner.invoke(app, [str(track), "--json", str(tmp_path / "o" / "r.json")])
    one_line(r, ExitCode.NOT_A_VIDEO, "set.npz", "not a readable formcheck pose track", says)
    assert not (tmp_path / "o").exists()


def _bomb(path: Path, declared_shape: tuple[int, ...] | None, zeros_mb: int) -> Path:
    """A track whose image array declares `declared_shape` (a lie) or holds `zeros_mb` MB of zeros."""
    import zipfile

    import numpy as np

    write_track(path)
    with zipfile.ZipFile(path) as zf:
        keep = {n: zf.read(n) for n in zf.namelist() if n != "image.npy"}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, data in keep.items():
            zf.writestr(n, data)
        with zf.open("image.npy", "w", force_zip64=True) as fh:
            shape = declared_shape or (zeros_mb * (1 << 20) // (33 * 3 * 8), 33, 3)
            np.lib.format.write_array_header_1_0(fh, {"descr": "<f8", "fortran_order": False, "shape": shape})
            chunk = b"\0" * (1 << 20)
            for _ in range(zeros_mb):
                fh.write(chunk)
    return path


@pytest.mark.parametrize(("shape", "mb", "says"), [
    pytest.param((10**9, 33, 3), 0, "has shape", id="shape-lies"),
    pytest.param(None, 300, "declares", id="zip-bomb-300MB"),
])
def test_track_bombs_are_refused_before_they_are_decompressed(shape, mb, says, tmp_path: Path):
    import time
    import tracemalloc

    from formcheck.errors import NotAVideo
    from formcheck.pose.track import PoseTrack

    bomb = _bomb(tmp_path / "bomb.npz", shape, mb)
    assert bomb.stat().st_size < 2_000_000
    tracemalloc.start()
    t0 = time.monotonic()
    with pytest.raises(NotAVideo, match=says):
        PoseTrack.load(bomb)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20_000_000 and time.monotonic() - t0 < 2.0, (peak, time.monotonic() - t0)


def test_track_extensions_are_case_insensitive(tmp_path: Path):
    track = tmp_path / "SET1.NPZ"
    track.write_bytes(TRACK.read_bytes())
    r = runner.invoke(app, [str(track), "--json", str(tmp_path / "r.json"), "-q"])
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["reps"] > 0


# --- SIGTERM: like Ctrl-C, exit 143, no temp files, no half set of outputs -------------------


def test_sigterm_mid_run_removes_every_output_it_wrote(tmp_path: Path, monkeypatch):
    """Killed while the video is being annotated: the JSON, CSV and track already written go too."""
    import os
    import signal

    from formcheck.report import render

    (tmp_path / "in").mkdir()
    video = corpus.write_video(tmp_path / "in" / "room.mp4", corpus.solid_frames(10))

    def killed(_video, _analysis, out: Path, **_kw) -> None:
        from formcheck.util.atomic import atomic_path

        with atomic_path(out) as tmp:
            tmp.write_bytes(b"\0" * 1000)  # half a video
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(render, "annotate_video", killed)
    out = tmp_path / "out"
    (tmp_path / "old.json").write_text("{}")
    before = signal.getsignal(signal.SIGTERM)
    r = runner.invoke(app, [str(video), "--json", str(tmp_path / "old.json"), "--csv", str(out / "r.csv"),
                            "--save-poses", str(out / "t.npz"), "--annotate", str(out / "a.mp4")])
    one_line(r, ExitCode.TERMINATED, "terminated (SIGTERM)")
    assert sorted(p.name for p in out.iterdir()) == []
    assert json.loads((tmp_path / "old.json").read_text()) is not None  # the old one, or a whole new one
    assert sorted(p.name for p in video.parent.iterdir()) == ["room.mp4"]
    assert signal.getsignal(signal.SIGTERM) is before  # restored


def test_sigterm_while_tracking_in_a_real_process(tmp_path: Path):
    import os
    import signal
    import subprocess
    import sys
    import time

    video = corpus.write_video(tmp_path / "long.mp4", corpus.moving_box(2400))
    out, tmp = tmp_path / "out", tmp_path / "tmp"
    tmp.mkdir()
    exe = Path(sys.executable).with_name("formcheck")
    p = subprocess.Popen([exe, video, "--json", out / "r.json", "--save-poses", out / "t.npz",
                          "--annotate", out / "a.mp4"], stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "TMPDIR": str(tmp)})
    time.sleep(4.0)
    assert p.poll() is None, p.stderr.read() if p.stderr else ""
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    _, stderr = p.communicate(timeout=30)
    assert p.returncode == ExitCode.TERMINATED, stderr
    assert stderr.strip().splitlines()[-1] == "formcheck: terminated (SIGTERM)", stderr
    assert time.monotonic() - t0 < 10
    assert not out.exists() or not any(out.iterdir())  # no half outputs, no temp files
    assert list(tmp.iterdir()) == []
    assert sorted(x.name for x in tmp_path.iterdir() if x.name != "out") == ["long.mp4", "tmp"]


# --- output paths: all checked before tracking; unsupported kinds refused before any work ----

LONG = "a" * 246  # + ".json": a valid 251-byte name, too long once a temp suffix is added naively


def _loop(d: Path) -> Path:
    (d / "loop").symlink_to("loop")
    return d / "loop"


OUTPUT_CASES = {
    "annotate-gif": (["--annotate", "{d}/x.gif"], ExitCode.USAGE, "writes an MP4 video here, not '.gif'"),
    "annotate-png": (["--annotate", "{d}/x.png"], ExitCode.USAGE, "not '.png'; choose a name ending in .mp4"),
    "annotate-no-extension": (["--annotate", "{d}/x"], ExitCode.USAGE, "not a file without extension"),
    "poses-no-extension": (["--save-poses", "{d}/t"], ExitCode.USAGE, "writes a .npz pose track here"),
    "poses-json": (["--save-poses", "{d}/t.json"], ExitCode.USAGE, "not '.json'"),
    "name-too-long": (["--json", "{d}/" + "b" * 256 + ".json"], ExitCode.OUTPUT, "longer than 255 bytes"),
    "symlink-loop": (["--json", "{d}/loop"], ExitCode.OUTPUT, "loop is a symlink loop"),
    "symlink-loop-parent": (["--csv", "{d}/loop/r.csv"], ExitCode.OUTPUT, "loop is a symlink loop"),
    "keyframes-in-loop": (["--keyframes", "{d}/loop/k"], ExitCode.OUTPUT, "loop is a symlink loop"),
}


@pytest.mark.parametrize("case", OUTPUT_CASES.values(), ids=OUTPUT_CASES.keys())
def test_bad_output_paths_are_refused_before_any_work(case, tmp_path: Path, monkeypatch):
    import formcheck.pipeline.analyze as pipeline

    args, code, says = case
    d = tmp_path / "d"
    d.mkdir()
    _loop(d)
    video = corpus.write_video(tmp_path / "room.mp4", corpus.solid_frames(5))
    monkeypatch.setattr(pipeline, "analyze_path", lambda *a, **k: pytest.fail("tracked before checking outputs"))
    more = [] if "--json" in args else ["--json", str(tmp_path / "o" / "r.json")]
    r = runner.invoke(app, [str(video), *[a.format(d=d) for a in args], *more])
    one_line(r, code, says)
    assert sorted(p.name for p in d.iterdir()) == ["loop"] and not (tmp_path / "o").exists()


def test_a_valid_250_byte_name_works_for_every_output(tmp_path: Path):
    video = corpus.write_video(tmp_path / "room.mp4", corpus.solid_frames(5))
    names = {"--json": ".json", "--csv": ".csv", "--save-poses": ".npz", "--annotate": ".mp4", "--html": ".html"}
    args = [x for flag, ext in names.items() for x in (flag, str(tmp_path / (LONG[: 250 - len(ext)] + ext)))]
    odd_ext = tmp_path / ("r." + "x" * 247)  # a 250-byte "extension": a name, not a format
    r = runner.invoke(app, [str(video), *args, "-q"])
    assert r.exit_code == ExitCode.NOTHING_TO_SCORE, r.output
    made = sorted(p.name for p in tmp_path.iterdir() if p.name != "room.mp4")
    assert len(made) == 5 and all(len(n.encode()) == 250 for n in made), made
    r = runner.invoke(app, [str(video), "--json", str(odd_ext), "-q"])
    assert r.exit_code == ExitCode.NOTHING_TO_SCORE, r.output
    assert json.loads(odd_ext.read_text())["source"] == "room.mp4"


@pytest.mark.parametrize("clash", ["summary.csv", "index.html", "a.json"])
def test_a_folder_named_like_a_batch_output_is_never_replaced(clash: str, tmp_path: Path):
    from formcheck.cli.batch import app as batch_app

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "a.npz").write_bytes(TRACK.read_bytes())
    (out / clash).mkdir(parents=True)
    (out / clash / "mine.txt").write_text("keep")
    r = runner.invoke(batch_app, [str(src), "--out", str(out), "-q"])
    one_line(r, ExitCode.USAGE, "did not write")
    assert sorted(p.name for p in out.iterdir()) == [clash] and (out / clash / "mine.txt").read_text() == "keep"


# --- a full disk: every writer detects a failed or short write and leaves nothing -------------


def _run_with_file_limit(args: list[object], limit: int, cwd: Path):
    """formcheck in a process whose files cannot grow past `limit` bytes (as a full disk: EFBIG)."""
    import resource
    import subprocess
    import sys

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    exe = Path(sys.executable).with_name("formcheck")
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd,
                          preexec_fn=cap)


@pytest.mark.parametrize("flag", ["--annotate", "--json", "--html", "--save-poses"])
def test_a_full_disk_leaves_no_output(flag: str, tmp_path: Path):
    video = corpus.write_video(tmp_path / "noise.mp4", corpus.noise_frames(48, 320, 240))  # ~2 MB annotated
    out = tmp_path / "out"
    ext = {"--annotate": ".mp4", "--json": ".json", "--html": ".html", "--save-poses": ".npz"}[flag]
    limit = 600 if flag != "--annotate" else 256 * 1024  # the CSV (written before --annotate, --html) fits
    args = [video, flag, out / f"r{ext}", "--csv", out / "r.csv"]
    r = _run_with_file_limit(args, limit, tmp_path)
    assert r.returncode == ExitCode.OUTPUT, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("formcheck: cannot write") and f"r{ext}" in lines[0], r.stderr
    assert "File too large" in lines[0] or "cut short" in lines[0] or "wrote nothing" in lines[0], lines[0]
    assert not out.exists() or list(out.iterdir()) == []  # not even the CSV written before it
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["noise.mp4", *(["out"] if out.exists() else [])])


# --- batch inputs that are not files: type checked before a byte is read; failed, batch goes on


def test_fifos_devices_and_link_loops_in_a_batch_fail_alone_and_fast(tmp_path: Path):
    import os
    import subprocess
    import sys
    import time

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "a.npz").write_bytes(TRACK.read_bytes())
    os.mkfifo(src / "fifo.mp4")
    (src / "zero.mp4").symlink_to("/dev/zero")
    (src / "loop.mp4").symlink_to("loop.mp4")
    (src / "sub").mkdir()
    (src / "sub" / "up").symlink_to("..")  # a folder loop: not followed
    (tmp_path / "named-loop").symlink_to("named-loop")
    exe = Path(sys.executable).with_name("formcheck")
    t0 = time.monotonic()
    r = subprocess.run([exe, "batch", src, tmp_path / "named-loop", "--out", out, "-q"], capture_output=True,
                       text=True, timeout=60)
    assert time.monotonic() - t0 < 30
    assert r.returncode == ExitCode.SOME_FAILED, r.stderr
    assert "Traceback" not in r.stderr and "this is a bug" not in r.stderr
    rows = {row["name"]: row for row in csv.DictReader((out / "summary.csv").open())}
    assert rows["in/a"]["status"] == "ok"
    for name, says in {"in/fifo": "not a regular file", "in/zero": "not a regular file",
                       "in/loop": "Too many levels of symbolic links",
                       "named-loop": "Too many levels of symbolic links"}.items():
        assert rows[name]["status"] == "error" and rows[name]["exit_code"] == "3", rows[name]
        assert says in rows[name]["message"], rows[name]
    assert sorted(p.name for p in src.iterdir()) == ["a.npz", "fifo.mp4", "loop.mp4", "sub", "zero.mp4"]


# --- GIF frames larger than the screen they declare: bounded before they are decoded ---------


def gif_with_huge_frames(path: Path, side: int) -> Path:
    """A 64×48 GIF whose later frames declare side×side (Pillow grows the canvas to hold them)."""
    import io
    import struct

    from PIL import Image

    frames = [Image.new("RGB", (64, 48), (80 * i, 40, 200 - 60 * i)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    data = bytearray(buf.getvalue())
    descriptors = [j for j in range(13, len(data) - 9)
                   if data[j] == 0x2C and struct.unpack_from("<HHHH", data, j + 1) == (0, 0, 64, 48)]
    for j in descriptors[1:]:
        struct.pack_into("<HH", data, j + 5, side, side)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("side", [9000, 20000, 65535])
def test_gif_frames_larger_than_the_screen_are_refused_in_bounded_memory(side: int, tmp_path: Path):
    import subprocess
    import sys
    import time

    gif = gif_with_huge_frames(tmp_path / "bomb.gif", side)
    exe = Path(sys.executable).with_name("formcheck")
    t0 = time.monotonic()
    # Measured from a small parent: a child forked straight from this (large) test process
    # reports the test process's own peak as its ru_maxrss.
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stderr=subprocess.PIPE, text=True);"
             " sys.stderr.write(r.stderr); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
             " sys.exit(r.returncode)")
    p = subprocess.run([sys.executable, "-c", probe, exe, gif, "--json", tmp_path / "o" / "r.json"],
                       capture_output=True, text=True, timeout=120)
    stderr, peak_kb = p.stderr, int(p.stdout.split()[-1])
    assert p.returncode == ExitCode.NOT_A_VIDEO, stderr
    assert "too large to decode safely" in stderr and len(stderr.splitlines()) == 1, stderr
    assert peak_kb < 400_000, peak_kb  # KB: nothing near side² was allocated
    assert time.monotonic() - t0 < 30 and not (tmp_path / "o").exists()


# --- outside strings made safe for the terminal; stdout that fails or cannot encode ----------

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\x9b1m\u202e"


def _formcheck(*args: object, env: dict[str, str] | None = None, stdout=None):
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("formcheck")
    return subprocess.run([exe, *map(str, args)], stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120, env={**os.environ, **(env or {})})


def _no_control(data: bytes) -> None:
    text = data.decode("utf-8")
    assert "\x1b]" not in text and "\x1b[2J" not in text and "\x07" not in text and "\u202e" not in text, text
    assert "\x9b" not in text


def test_escape_sequences_in_file_names_are_printed_harmless(tmp_path: Path):
    video = corpus.write_video(tmp_path / "room.mp4", corpus.solid_frames(5)).rename(tmp_path / f"{ESCAPES}.mp4")
    r = _formcheck(video)
    assert r.returncode == ExitCode.NOTHING_TO_SCORE, r.stderr
    _no_control(r.stdout + r.stderr)
    assert b"\\x1b]0;pwned\\x07" in r.stdout  # shown, as its escapes
    cut = video.with_name(f"cut:v:{ESCAPES}\nline2.mp4")
    cut.write_bytes(b"\0\0\0\x20ftypisom")
    r = _formcheck(cut)
    assert r.returncode == ExitCode.NOT_A_VIDEO
    _no_control(r.stderr)
    assert len(r.stderr.splitlines()) == 1 and b"\\nline2.mp4" in r.stderr and b"cut:v:" in r.stderr  # no emoji


def test_a_tracks_stored_source_name_is_printed_harmless(tmp_path: Path):
    track = write_track(tmp_path / "t.npz", _with(source=f"{ESCAPES}evil.mp4"))
    r = _formcheck(track)
    assert r.returncode == 0, r.stderr
    _no_control(r.stdout + r.stderr)
    assert b"evil.mp4" in r.stdout


def test_stdout_on_a_full_disk_is_an_output_error_not_a_bug():
    with open("/dev/full", "wb") as full:
        for args in ([TRACK, "--json", "-", "-q"], [TRACK], ["--help"], ["batch", "--help"]):
            r = _formcheck(*args, stdout=full)
            assert r.returncode == ExitCode.OUTPUT, (args, r.stderr)
            lines = r.stderr.decode().splitlines()
            assert lines[-1].startswith("formcheck: cannot write") and "No space left" in lines[-1], r.stderr
            assert "Traceback" not in r.stderr.decode() and "this is a bug" not in r.stderr.decode()


def test_an_ascii_only_terminal_works():
    r = _formcheck(TRACK, env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 0, r.stderr
    assert b"mean score" in r.stdout and b"internal error" not in r.stderr
    r = _formcheck(TRACK, "--json", "-", env={"PYTHONIOENCODING": "ascii"})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.decode("utf-8"))["summary"]["reps"] > 0  # JSON is UTF-8 (RFC 8259)


# --- decoding: the whole display matrix (flips too), the main of several video streams ------


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="the dev extra makes the test clips")
    return imageio_ffmpeg.get_ffmpeg_exe()


def _corner_clip(path: Path, w: int = 64, h: int = 48) -> Path:
    import numpy as np

    def frames():
        for _ in range(5):
            f = np.zeros((h, w, 3), np.uint8)
            f[: h // 3, : w // 4] = 255  # a white block in the top-left corner: every turn and flip differs
            yield f

    return corpus.write_video(path, frames(), fps=10)


MATRICES = [(r, hf, vf) for r in (0, 90, 180, 270) for hf in (False, True) for vf in (False, True)]


@pytest.mark.parametrize(("rotation", "hflip", "vflip"), MATRICES,
                         ids=[f"rot{r}{'-hflip' if h else ''}{'-vflip' if v else ''}" for r, h, v in MATRICES])
def test_the_whole_display_matrix_is_honoured_as_ffmpeg_does(rotation, hflip, vflip, ffmpeg, tmp_path: Path):
    import subprocess

    import numpy as np

    from formcheck.inputs.video import iter_frames, probe

    src = _corner_clip(tmp_path / "src.mp4")
    clip = tmp_path / "tagged.mp4"
    flags = ["-display_rotation", str(rotation), *(["-display_hflip"] if hflip else []),
             *(["-display_vflip"] if vflip else [])]
    subprocess.run([ffmpeg, "-v", "error", "-y", *flags, "-i", src, "-c", "copy", clip], check=True)
    ref = subprocess.run([ffmpeg, "-v", "error", "-i", clip, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray",
                          "-"], check=True, capture_output=True).stdout
    got = next(iter(iter_frames(clip))).image[..., 0].astype(int)
    info = probe(clip)
    assert (info.width, info.height) == (got.shape[1], got.shape[0])
    assert got.size == len(ref)
    assert np.abs(got - np.frombuffer(ref, np.uint8).reshape(got.shape)).mean() < 15  # a misplaced block: ~40


@pytest.mark.parametrize("faststart", [False, True], ids=["index at the end", "index first"])
def test_the_main_video_stream_is_scored_when_a_thumbnail_comes_first(ffmpeg, tmp_path: Path, faststart, monkeypatch):
    import subprocess

    import numpy as np

    from formcheck.inputs import bmff
    from formcheck.inputs.video import iter_frames

    thumb = corpus.write_video(tmp_path / "thumb.mp4", corpus.solid_frames(10, 64, 64))
    main = corpus.write_video(tmp_path / "main.mp4", corpus.moving_box(12, 320, 240))
    two = tmp_path / "two.mp4"
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", thumb, "-i", main, "-map", "0:v", "-map", "1:v", "-c", "copy",
                    *(["-movflags", "+faststart"] if faststart else []), two], check=True)
    got, want = list(iter_frames(two)), list(iter_frames(main))
    assert [f.t for f in got] == [f.t for f in want]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(got, want, strict=True))  # the main stream's pixels
    r = runner.invoke(app, [str(two), "--json", str(tmp_path / "r.json"), "-q"])
    assert r.exit_code == ExitCode.NOTHING_TO_SCORE, r.output  # a moving box: no person, but the right stream
    report = json.loads((tmp_path / "r.json").read_text())
    assert (report["frames"], report["width"], report["height"]) == (12, 320, 240)
    # where the index cannot be reordered, the file is refused in one line that says what to do
    monkeypatch.setattr(bmff, "main_first", lambda *a: None)
    r = runner.invoke(app, [str(two), "--json", str(tmp_path / "o" / "r.json")])
    one_line(r, ExitCode.NOT_A_VIDEO, "two.mp4: holds 2 video streams", "(64×64) is not the main one (320×240)",
             "-map 0:v:1")
    assert not (tmp_path / "o").exists()
    ok = tmp_path / "main_first.mp4"  # the main stream first, a thumbnail after it: scored as usual
    subprocess.run([ffmpeg, "-v", "error", "-y", "-i", main, "-i", thumb, "-map", "0:v", "-map", "1:v", "-c", "copy",
                    ok], check=True)
    r = runner.invoke(app, [str(ok), "--json", str(tmp_path / "r.json"), "-q"])
    assert r.exit_code == ExitCode.NOTHING_TO_SCORE, r.output
    assert json.loads((tmp_path / "r.json").read_text())["frames"] == 12


# --- exit 0 with no full rep: a partial rep is scored (docs/exit-codes.md says so) ------------


def test_a_clip_with_only_a_partial_rep_is_scored_with_exit_0(tmp_path: Path):
    import numpy as np

    from formcheck.pose.track import PoseTrack

    full = PoseTrack.load(TRACK)
    keep = full.t < 2.0  # the set's first, cut rep only
    cut = tmp_path / "cut.npz"
    np.savez_compressed(cut, header=np.frombuffer(json.dumps({
        "format": "formcheck-track", "version": 1, "width": full.width, "height": full.height,
        "source": "cut.mp4", "fps": full.fps, "frames_expected": int(keep.sum()), "meta": {}}).encode(), np.uint8),
        t=full.t[keep], image=full.image[keep], world=full.world[keep], visibility=full.visibility[keep])
    r = runner.invoke(app, [str(cut), "--json", str(tmp_path / "r.json")])
    assert r.exit_code == ExitCode.OK, r.output
    s = json.loads((tmp_path / "r.json").read_text())["summary"]
    assert (s["reps"], s["partial_reps"]) == (0, 1)
    assert "0 reps (+1 partial, marked *)" in r.stdout
    doc = (Path(__file__).parents[1] / "docs" / "exit-codes.md").read_text()
    assert "`0 reps (+1 partial)` is 0" in doc  # the code and the docs agree


def test_a_batch_of_inputs_with_valid_long_names_writes_valid_output_names(tmp_path: Path):
    from formcheck.cli.batch import app as batch_app

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for tail in ("a", "b"):  # 251-byte stems that differ only past the cut
        (src / ("n" * 250 + tail + ".npz")).write_bytes(TRACK.read_bytes())
    r = runner.invoke(batch_app, [str(src), "--out", str(out), "--csv", "--html", "-q"])
    assert r.exit_code == 0, r.output
    made = [p.name for p in out.iterdir() if p.suffix in (".json", ".csv", ".html") and p.name.startswith("n")]
    assert len(made) == 6 and len(set(made)) == 6 and all(len(n.encode()) <= 255 for n in made), made


def test_sigterm_on_a_batch_is_143_and_resumable(tmp_path: Path):
    import signal
    import subprocess
    import sys
    import time

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for n in range(40):
        (src / f"{n:03d}.npz").write_bytes(TRACK.read_bytes())
    exe = Path(sys.executable).with_name("formcheck")
    p = subprocess.Popen([exe, "batch", src, "--out", out, "-j", "1"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / ".formcheck-batch").is_dir() or not list((out / ".formcheck-batch").glob("*.json")):
        assert p.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, stderr = p.communicate(timeout=30)
    assert p.returncode == ExitCode.TERMINATED, stderr
    assert "terminated (SIGTERM) after" in stderr and "rerun the same command to resume" in stderr
    assert (out / "summary.csv").is_file()
