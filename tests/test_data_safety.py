"""No run of formcheck deletes or replaces a file it did not write (issue 18, data loss).

`formcheck batch` deletes only what its records prove it wrote (sha256 noted before each output
got its name), keeps its temp files in its own folder, and writes only into a folder that is
new, empty or made by a batch; no output of `formcheck VIDEO` or `formcheck batch` may land on
an input (video, track, config, model) or on another output, whatever the spelling of the path
(symlinks, hard links, `..`). Inputs are the shipped pose tracks plus corrupt videos made here;
most batches run in-process (the `inline` engine below) to stay fast, the main one on workers.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import SHIPPED
from formcheck.apps.batch import engines as batch_engines
from formcheck.apps.batch.runner import STATE_DIR, Settings, run_batch
from formcheck.cli.analyze import app as analyze_app
from formcheck.cli.batch import app as batch_app
from formcheck.errors import ExitCode

runner = CliRunner()
GOOD = SHIPPED / "glute_bridge_BE-PROJECTS2018_GroupNo23.npz"
OTHER = SHIPPED / "hip_thrust_palFitness_WORKOUT-HOME.npz"
CORRUPT = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 16  # an mp4 header, then garbage


@pytest.fixture(autouse=True)
def inline_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--engine inline`: the same per-file function, in this process (no worker start-up)."""

    def run_inline(jobs, s, fn, on_done, *, workers, address=None):
        for job in jobs:
            on_done(fn(job, s))

    monkeypatch.setitem(batch_engines.ENGINES, "inline", run_inline)


def tree(root: Path) -> dict[str, bytes | str]:
    """Every file below root (hidden ones too) with its bytes; a symlink with its target."""
    files: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            files[rel] = f"-> {os.readlink(p)}"
        elif p.is_file():
            files[rel] = p.read_bytes()
    return files


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def user_files(root: Path) -> None:
    """What a user keeps in a folder: videos, and dotfiles shaped like formcheck's temp names."""
    write(root / "holiday.mov", os.urandom(3000))
    write(root / ".eslintrc.override.json", '{"rules": {}}\n')
    write(root / "proj" / ".config" / ".settings.personal.toml", "theme = 'dark'\n")
    write(root / ".bashrc.backup12.txt", "alias ll='ls -l'\n")
    write(root / "proj" / "IMG_0009.mp4", os.urandom(2000))


def batch(*args: str | Path, engine: str = "inline"):
    return runner.invoke(batch_app, [*map(str, args), "--engine", engine, "-j", "2"])


def rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "summary.csv").open(newline="", encoding="utf-8") as fh:
        return {r["name"]: r for r in csv.DictReader(fh)}


def one_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    return lines[0]


# ---- batch: it deletes only what it wrote --------------------------------------------------------


def test_a_failing_batch_leaves_every_file_it_did_not_write(tmp_path: Path) -> None:
    """A folder an earlier batch made, then filled by hand: files named like a failing input's
    outputs, videos, temp-shaped dotfiles. A failing batch on real workers keeps them byte for byte."""
    src = tmp_path / "in"
    shutil.copy(GOOD, write(src / "good.npz", b""))
    write(src / "IMG_0001.mov", CORRUPT)  # fails; the user has files with its output names
    write(src / "IMG_0002.mov", CORRUPT)  # fails after decoding was tried
    out = tmp_path / "out"
    assert run_batch([src / "good.npz"], Settings.create(out), engine="inline").exit_code == ExitCode.OK
    user_files(out)
    for ext in ("mp4", "json", "csv", "html"):
        write(out / f"IMG_0001.{ext}", f"the user's own IMG_0001.{ext}\n")
    write(out / ".IMG_0002.ab12cd34.json", "shaped like a temp file of IMG_0002's report")
    ours = ("good.", "summary.csv", "index.html", STATE_DIR)  # what the batch wrote itself
    before = {k: v for k, v in tree(out).items() if not k.startswith(ours)}

    r = batch(src, "--out", out, "--csv", "--html", "--annotate", engine="local")
    assert r.exit_code == ExitCode.SOME_FAILED, r.output
    after = tree(out)
    for rel, data in before.items():
        assert after.get(rel) == data, f"{rel} was changed or deleted"
    status = {n: (row["status"], row["exit_code"]) for n, row in rows(out).items()}
    assert status == {"good": ("ok", "0"), "IMG_0001": ("error", str(int(ExitCode.OUTPUT))),
                      "IMG_0002": ("error", str(int(ExitCode.NOT_A_VIDEO)))}
    assert "formcheck did not write this file" in rows(out)["IMG_0001"]["message"]
    assert {"good.json", "good.csv", "good.html"} <= set(after)
    assert not [k for k in after if k.startswith(f"{STATE_DIR}/tmp/")]  # its own temp files are gone


def test_the_batch_still_removes_its_own_stale_outputs_unless_they_were_changed(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for name in ("a", "b"):
        shutil.copy(GOOD, write(src / f"{name}.npz", b""))
    assert run_batch([src], Settings.create(out, csv=True), engine="inline").exit_code == ExitCode.OK
    write(out / "b.csv", "edited by hand after the batch wrote it\n")
    res = run_batch([src], Settings.create(out), engine="inline")  # redone without --csv: its old CSVs go
    assert [r.status for r in res.records] == ["ok", "ok"]
    assert not (out / "a.csv").exists() and (out / "b.csv").read_text() == "edited by hand after the batch wrote it\n"
    for name in ("a", "b"):
        write(src / f"{name}.npz", b"PK\x03\x04 not a track any more")
    res = run_batch([src], Settings.create(out), engine="inline")  # failed: its reports go
    assert [(r.status, r.code) for r in res.records] == [("error", ExitCode.NOT_A_VIDEO)] * 2
    assert not (out / "a.json").exists() and not (out / "b.json").exists()
    assert (out / "b.csv").read_text() == "edited by hand after the batch wrote it\n"
    assert sorted(p.name for p in (out / STATE_DIR).glob("*.json")) == []  # no record claims anything now


def test_a_batch_never_replaces_a_file_it_did_not_write(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    shutil.copy(GOOD, write(src / "a.npz", b""))
    shutil.copy(OTHER, write(src / "b.npz", b""))
    assert run_batch([src / "a.npz"], Settings.create(out), engine="inline").exit_code == ExitCode.OK
    write(out / "b.json", "mine\n")  # b's report name, taken by the user's file
    res = run_batch([src], Settings.create(out), engine="inline")
    assert {r.name: r.status for r in res.records} == {"a": "ok", "b": "error"}
    assert (out / "b.json").read_text() == "mine\n"
    write(out / "summary.csv", "my own table\n")  # the batch's own name, but not its content
    r = batch(src, "--out", out)
    assert r.exit_code == ExitCode.USAGE and "summary.csv" in one_line(r)
    assert (out / "summary.csv").read_text() == "my own table\n"


# ---- batch: the output folder -------------------------------------------------------------------


@dataclass(frozen=True)
class OutCase:
    id: str
    layout: Callable[[Path], None]  # fills the root folder
    args: Callable[[Path], list[str | Path]]  # the batch's arguments, given the root


def _recordings(root: Path) -> None:
    shutil.copy(GOOD, write(root / "recordings" / "set1.npz", b""))
    write(root / "recordings" / "IMG_0001.mov", CORRUPT)
    user_files(root)


REFUSED = [
    OutCase("out-is-a-folder-of-videos", _recordings, lambda d: [d / "recordings", "--out", d / "recordings"]),
    OutCase("out-is-a-parent-with-other-files", _recordings, lambda d: [d / "recordings", "--out", d]),
    OutCase("out-is-home", _recordings, lambda d: [d / "recordings", "--out", os.path.expanduser("~")]),
    OutCase("out-holds-one-file", lambda d: (_recordings(d), write(d / "res" / "notes.txt", "x")),
            lambda d: [d / "recordings", "--out", d / "res"]),
]


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_an_output_folder_with_other_files_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: OutCase
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    case.layout(tmp_path)
    before = tree(tmp_path)
    r = batch(*case.args(tmp_path))
    assert r.exit_code == ExitCode.USAGE, r.output
    assert "did not write" in one_line(r) and "formcheck-results" in one_line(r)
    assert tree(tmp_path) == before  # nothing written, nothing deleted


def test_out_dot_is_refused_and_the_suggested_folder_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _recordings(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    r = batch("recordings", "--out", ".")
    assert r.exit_code == ExitCode.USAGE, r.output
    assert one_line(r).startswith("formcheck: --out .: ") and "--out formcheck-results" in one_line(r)
    assert tree(tmp_path) == before
    r = batch("recordings", "--out", "formcheck-results")
    assert r.exit_code == ExitCode.SOME_FAILED, r.output
    assert {n: row["status"] for n, row in rows(tmp_path / "formcheck-results").items()} == {
        "set1": "ok", "IMG_0001": "error"}
    assert {k: v for k, v in tree(tmp_path).items() if not k.startswith("formcheck-results/")} == before


@pytest.mark.parametrize("extra", [None, ".DS_Store"], ids=["empty", "only-desktop-bookkeeping"])
def test_an_empty_output_folder_is_used(tmp_path: Path, extra: str | None) -> None:
    (tmp_path / "out").mkdir()
    if extra:
        write(tmp_path / "out" / extra, b"\x00\x00\x00\x01Bud1")
    r = batch(GOOD, "--out", tmp_path / "out")
    assert r.exit_code == ExitCode.OK, r.output
    assert (tmp_path / "out" / f"{GOOD.stem}.json").is_file()


def test_an_output_folder_inside_the_input_folder_holds_outputs_only(tmp_path: Path) -> None:
    _recordings(tmp_path)
    rec = tmp_path / "recordings"
    before = tree(rec)
    first = batch(rec, "--out", rec / "results", "--csv")
    assert first.exit_code == ExitCode.SOME_FAILED, first.output
    assert set(rows(rec / "results")) == {"set1", "IMG_0001"}
    second = batch(rec, "--out", rec / "results", "--csv")  # its own outputs are not inputs now
    assert second.exit_code == ExitCode.SOME_FAILED, second.output
    assert {n: r["reused"] for n, r in rows(rec / "results").items()} == {"set1": "true", "IMG_0001": "false"}
    assert {k: v for k, v in tree(rec).items() if not k.startswith("results/")} == before


def _claimed(out: Path) -> Path:
    """An output folder an earlier batch made."""
    assert run_batch([OTHER], Settings.create(out), engine="inline").exit_code == ExitCode.OK
    return out


OVERLAPS = [
    OutCase("config-named-like-an-output", lambda d: write(_claimed(d / "out") / "clip.json", "[reps]\n"),
            lambda d: [d / "clip.npz", "--out", d / "out", "--config", d / "out" / "clip.json"]),
    OutCase("output-hard-linked-to-the-config",
            lambda d: os.link(write(d / "cfg.toml", "[reps]\n"), _claimed(d / "out") / "clip.json"),
            lambda d: [d / "clip.npz", "--out", d / "out", "--config", d / "cfg.toml"]),
    OutCase("output-symlinked-to-the-config",
            lambda d: (_claimed(d / "out") / "clip.json").symlink_to(write(d / "cfg.toml", "[reps]\n")),
            lambda d: [d / "clip.npz", "--out", d / "out", "--config", d / "cfg.toml"]),
    OutCase("annotated-video-over-its-input", lambda d: write(_claimed(d / "out") / "clip.mp4", CORRUPT),
            lambda d: [d / "out" / "clip.mp4", "--out", d / "out", "--annotate"]),
]


@pytest.mark.parametrize("case", OVERLAPS, ids=lambda c: c.id)
def test_no_batch_output_may_replace_an_input_or_the_config(tmp_path: Path, case: OutCase) -> None:
    shutil.copy(GOOD, tmp_path / "clip.npz")
    case.layout(tmp_path)
    before = tree(tmp_path)
    r = batch(*case.args(tmp_path))
    assert r.exit_code == ExitCode.USAGE, r.output
    assert "would overwrite" in one_line(r)
    assert tree(tmp_path) == before


# ---- formcheck VIDEO: no output on an input or on another output ---------------------------------


@dataclass(frozen=True)
class Clash:
    id: str
    args: Callable[[Path], list[str | Path]]  # given the folder holding t.npz, cfg.toml, m.task
    says: str


CLASHES = [
    Clash("json-over-the-config", lambda d: ["--json", d / "cfg.toml", "--config", d / "cfg.toml"],
          "--json {d}/cfg.toml would overwrite the --config file"),
    Clash("csv-over-a-symlink-to-the-config",
          lambda d: ["--csv", _link(d / "cfg.toml", d / "r.csv", hard=False), "--config", d / "cfg.toml"],
          "would overwrite the --config file"),
    Clash("json-over-a-hard-link-to-the-input", lambda d: ["--json", _link(d / "t.npz", d / "r.json")],
          "would overwrite the input pose track"),
    Clash("json-over-the-input-by-another-spelling", lambda d: ["--json", d / "sub" / ".." / "t.npz"],
          "would overwrite the input pose track"),
    Clash("poses-over-the-model", lambda d: ["--save-poses", d / "m.task", "--model", d / "m.task"],
          "would overwrite the --model file"),
    Clash("html-over-the-config", lambda d: ["--html", d / "cfg.toml", "--config", d / "cfg.toml"],
          "would overwrite the --config file"),
    Clash("two-outputs-one-path", lambda d: ["--json", d / "a.out", "--csv", d / "a.out"],
          "--json and --csv both write to"),
    Clash("two-outputs-hard-linked", lambda d: ["--json", d / "a.json", "--csv", _link(d / "a.json", d / "b.csv")],
          "--json and --csv both write to"),
    Clash("keyframes-over-the-config",
          lambda d: ["--keyframes", d, "--config", _copy(d / "cfg.toml", d / "rep01_top.png")],
          "would overwrite the --config file"),
]


def _link(target: Path, link: Path, hard: bool = True) -> Path:
    if not target.exists():
        write(target, "{}\n")
    if hard:
        os.link(target, link)
    else:
        link.symlink_to(target)
    return link


def _copy(src: Path, dest: Path) -> Path:
    shutil.copy(src, dest)
    return dest


@pytest.mark.parametrize("case", CLASHES, ids=lambda c: c.id)
def test_no_output_may_replace_an_input_or_another_output(tmp_path: Path, case: Clash) -> None:
    shutil.copy(GOOD, tmp_path / "t.npz")
    write(tmp_path / "cfg.toml", "[reps]\nmin_rom_deg = 15.0\n")
    write(tmp_path / "m.task", b"PK\x05\x06" + b"\x00" * 18)
    args = case.args(tmp_path)
    before = tree(tmp_path)
    r = runner.invoke(analyze_app, [str(tmp_path / "t.npz"), *map(str, args)])
    assert r.exit_code == ExitCode.USAGE, r.output
    assert case.says.format(d=tmp_path) in one_line(r)
    assert tree(tmp_path) == before  # every input as it was, nothing written
