"""The stability harness (issue 14): the same count, exercise and rep tops under harmless changes.

    .venv/bin/python bench/stability.py                      # all dev clips x all perturbations
    .venv/bin/python bench/stability.py --clips 'hip_thrust_*' --only chunks1,mirror
    .venv/bin/python bench/stability.py --markdown /tmp/stability.md --jobs 2
    .venv/bin/python bench/stability.py --jitter            # the tracker's own landmark jitter
    .venv/bin/python bench/stability.py --model-hz 10       # all of it under formcheck --fast

For each dev clip (../shared/samples, or FORMCHECK_SAMPLES) the baseline is formcheck as shipped;
each perturbation (bench/perturb.py) gives another pose track of the same clip, scored by the
current analysis. A clip is *stable* under a perturbation when the full-rep count and the
exercise are the same and every full-rep top has a partner within 0.1 s both ways. The share of
verdicts that changed is counted over the matched reps.

Tracks that need the pose model are cached (`--cache`, default .cache/stability/); the first run
tracks ~11 passes over the 28 clips (~110k frames: ~20-40 min on 2 cores), later runs after an
analysis change only re-score (seconds). Exit status 0 unless the harness itself fails (a clip
that cannot be tracked is a row marked ERR); with --check, 1 if any cell changed the exercise or
a judged clip's full-rep count (the whole matrix, where the suite pins a part of it).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fnmatch
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import perturb
from perturb import BASELINE, Clip, Row, Summary

EXERCISE_SHORT = {
    "hip_thrust": "HT",
    "glute_bridge": "GB",
    "single_leg_hip_thrust": "SLHT",
    "single_leg_glute_bridge": "SLGB",
    "none": "none",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", default="*", help="glob(s) on the clip file name, comma-separated (default: all)")
    ap.add_argument("--only", default="", help="perturbations, comma-separated, globs allowed "
                    f"(default: {','.join(perturb.DEFAULT)}; harder ones on request: {','.join(perturb.HARDER)})")
    ap.add_argument("--cache", type=Path, default=perturb.DEFAULT_CACHE, help="track cache (default: %(default)s)")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default: 2; 1 = in this process)")
    ap.add_argument("--samples", type=Path, default=perturb.SAMPLES, help="dev videos with labels.json")
    ap.add_argument("--markdown", type=Path, help="also write the tables to this Markdown file")
    ap.add_argument("--model-hz", type=float, default=0.0,
                    help="run every track, baseline too, with [video] model_hz = HZ (10 = formcheck --fast; "
                         "default 0: every frame)")
    ap.add_argument("--all-rows", action="store_true",
                    help="print every clip x perturbation row, not only unstable ones")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if any cell changed the exercise, or the full-rep count of a clip whose count is "
                         "judged (labels: count_eval); the release gate for the whole matrix")
    ap.add_argument("--jitter", action="store_true",
                    help="print the tracker's own jitter per clip (baseline tracks) and exit")
    return ap.parse_args(argv)


def select_clips(samples: Path, pattern: str) -> list[Clip]:
    pats = [p.strip() for p in pattern.split(",") if p.strip()] or ["*"]
    return [c for c in perturb.dev_clips(samples) if any(fnmatch.fnmatch(c.name, p) or fnmatch.fnmatch(c.stem, p)
                                                         for p in pats)]


def select_perturbations(only: str) -> list[str]:
    if not only.strip():
        return list(perturb.DEFAULT)
    names: list[str] = []
    for item in (s.strip() for s in only.split(",")):
        if not item or item == BASELINE:
            continue
        hits = [n for n in perturb.DEFAULT if fnmatch.fnmatch(n, item)] if any(c in item for c in "*?[") else [item]
        if not hits:
            raise SystemExit(f"--only: {item!r} matches no perturbation (known: {', '.join(perturb.DEFAULT)})")
        for n in hits:
            perturb.get(n)  # unknown names fail here, before any work
            if n not in names:
                names.append(n)
    return names


def _frames(c: Clip) -> int:
    return int(c.label.get("frames") or 300)


def _quiet_worker(log_path: str) -> None:
    """MediaPipe's C++ logging (model load notes, one line per tracker) goes to a log file, not
    to the progress on stderr. Python's own stderr in a worker goes there too. On Linux a worker
    also ends when the harness does (killed or not): no orphan keeps tracking on a shared core."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the harness died before the request took effect
        os._exit(1)


def _pool(jobs: int, cache: Path) -> ProcessPoolExecutor | None:
    # spawn: MediaPipe must not be forked after it loads (and this process never loads it).
    if jobs <= 1:
        return None
    return ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_worker,
                               initargs=(str(cache / "workers.log"),))


def run_tracks(clips: list[Clip], names: list[str], cache: Path, pool: ProcessPoolExecutor | None) -> list:
    """Phase 1: every video-level track, longest first (cached ones return at once)."""
    tasks = [(c, n) for c in clips for n in [BASELINE, *names] if perturb.get(n).kind == "video"]
    tasks.sort(key=lambda cn: -_frames(cn[0]) * perturb.get(cn[1]).cost)
    results = []
    t0 = time.perf_counter()
    frames_done = 0
    if pool is None:
        iterator = (perturb.make_track(c, n, cache) for c, n in tasks)
    else:
        futs: dict[Future, tuple[Clip, str]] = {pool.submit(perturb.make_track, c, n, cache): (c, n) for c, n in tasks}
        iterator = (_result(f, futs[f]) for f in as_completed(futs))
    for k, r in enumerate(iterator, 1):
        results.append(r)
        frames_done += r.frames
        el = time.perf_counter() - t0
        rate = f", {r.frames / r.seconds:.0f} fps" if r.status == "tracked" and r.seconds else ""
        extra = f": {r.detail}" if r.detail else ""
        log(f"[track {k}/{len(tasks)} {el:6.0f} s, {frames_done} frames tracked] {r.clip} {r.perturbation}: "
            f"{r.status}{rate}{extra}")
    return results


def _result(f: Future, task: tuple[Clip, str]) -> perturb.TrackResult:
    """A task's result; a worker that died (a crash in the model, out of memory) is an error row."""
    try:
        return f.result()
    except Exception as exc:
        return perturb.TrackResult(task[0].name, task[1], "error", f"worker failed: {type(exc).__name__}: {exc}")


def run_analysis(clips: list[Clip], names: list[str], cache: Path, pool: ProcessPoolExecutor | None):
    """Phase 2: score the baseline and every perturbed track of each clip."""
    out: dict[str, tuple[Summary | None, str, list[Row]]] = {}
    t0 = time.perf_counter()
    if pool is None:
        pairs = ((c, perturb.clip_rows(c, names, cache)) for c in clips)
    else:
        futs = {pool.submit(perturb.clip_rows, c, names, cache): c for c in clips}
        pairs = ((futs[f], _rows(f, futs[f], names)) for f in as_completed(futs))
    for k, (c, res) in enumerate(pairs, 1):
        out[c.name] = res
        bad = sum(1 for r in res[2] if r.status == "ok" and not r.comparison.stable)
        log(f"[score {k}/{len(clips)} {time.perf_counter() - t0:5.1f} s] {c.name}: "
            f"{'baseline ERROR ' + res[1] if res[0] is None else f'{bad} unstable'}")
    return out


def _rows(f: Future, clip: Clip, names: list[str]) -> tuple[Summary | None, str, list[Row]]:
    try:
        return f.result()
    except Exception as exc:
        msg = f"worker failed: {type(exc).__name__}: {exc}"
        return None, msg, [Row(clip.name, n, "error", msg) for n in names]


# --------------------------------------------------------------------------- tables


def _cls(s: str) -> str:
    return EXERCISE_SHORT.get(s, s)


def cell(r: Row) -> str:
    if r.status == "error":
        return "ERR"
    if r.status == "skipped":
        return "–"
    c, s = r.comparison, r.summary
    assert c is not None and s is not None
    parts = []
    if not c.class_same:
        parts.append(_cls(s.exercise))
    if not c.count_same:
        parts.append(f"n={s.n_full}")
    elif not c.tops_ok:
        parts.append("tops")
    text = " ".join(parts) if parts else "ok"
    if c.verdicts_changed:
        text += f" v{100 * c.verdict_share:.0f}%"
    return text


def md_table(header: list[str], rows: list[list[str]], right: set[int] = frozenset()) -> list[str]:
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    out += ["| " + " | ".join(str(x).replace("|", "/") for x in row) + " |" for row in rows]
    return out


def text_table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return [fmt.format(*header), fmt.format(*("-" * w for w in widths))] + [fmt.format(*map(str, r)) for r in rows]


def _short(name: str) -> str:
    return name.rsplit(".", 1)[0]


def label_rows(clips: list[Clip], res) -> list[list[str]]:
    rows = []
    for c in clips:
        base, err, _ = res[c.name]
        lab = c.label
        lo, hi = lab.get("acceptable_reps", [None, None])
        if base is None:
            rows.append([_short(c.name), lab.get("class", "?"), "ERR", f"{lo}-{hi}", "ERR", "ERR", err[:60]])
            continue
        count_ok = lo is not None and lo <= base.n_full <= hi
        cls_ok = base.exercise == lab.get("class")
        rows.append([
            _short(c.name), lab.get("class", "?"), base.exercise, f"{lo}-{hi}", str(base.n_full),
            "ok" if count_ok and cls_ok else ("count" if cls_ok else ("class" if count_ok else "count+class")),
            "" if lab.get("count_eval", True) else "count_eval false",
        ])
    return rows


def matrix_rows(clips: list[Clip], names: list[str], res) -> list[list[str]]:
    rows = []
    for c in clips:
        base, _, rows_c = res[c.name]
        by = {r.perturbation: r for r in rows_c}
        head = "ERR" if base is None else f"{_cls(base.exercise)} {base.n_full}"
        rows.append([_short(c.name), head, *(cell(by[n]) for n in names)])
    return rows


def summary_rows(clips: list[Clip], names: list[str], res) -> list[list[str]]:
    out = []
    tot = dict(stable=0, ran=0, count=0, cls=0, tops=0, vc=0, vn=0, vs=0, skip=0, err=0)
    for n in names:
        s = dict(stable=0, ran=0, count=0, cls=0, tops=0, vc=0, vn=0, vs=0, skip=0, err=0)
        for c in clips:
            r = next(r for r in res[c.name][2] if r.perturbation == n)
            if r.status == "skipped":
                s["skip"] += 1
            elif r.status == "error":
                s["err"] += 1
            else:
                cmp_ = r.comparison
                s["ran"] += 1
                s["stable"] += cmp_.stable
                s["count"] += not cmp_.count_same
                s["cls"] += not cmp_.class_same
                s["tops"] += cmp_.count_same and not cmp_.tops_ok
                s["vc"] += cmp_.verdicts_changed
                s["vn"] += cmp_.verdicts_compared
                s["vs"] += cmp_.sure_changed
        for k in tot:
            tot[k] += s[k]
        out.append(_summary_row(n, perturb.get(n).what, s))
    out.append(_summary_row("**all**", "", tot))
    return out


def _summary_row(name: str, what: str, s: dict) -> list[str]:
    share = f"{100 * s['vc'] / s['vn']:.1f} % ({s['vc']}/{s['vn']})" if s["vn"] else "–"
    sure = f"{100 * s['vs'] / s['vn']:.2f} % ({s['vs']})" if s["vn"] else "–"
    return [name, f"{s['stable']}/{s['ran']}", str(s["count"]), str(s["cls"]), str(s["tops"]), share, sure,
            str(s["skip"]), str(s["err"]), what]


def detail_rows(clips: list[Clip], names: list[str], res, everything: bool) -> list[list[str]]:
    out = []
    for c in clips:
        base, _, rows_c = res[c.name]
        for r in rows_c:
            if r.status != "ok":
                if everything or r.status == "error":
                    out.append([_short(c.name), r.perturbation, "", "", "", "", r.status + ": " + r.detail])
                continue
            cmp_, s = r.comparison, r.summary
            if not everything and cmp_.stable and not cmp_.verdicts_changed:
                continue
            tops = "ok" if cmp_.tops_ok else (
                "lost " + ",".join(f"{t:.2f}" for t in cmp_.unmatched_base) if cmp_.unmatched_base else "") + (
                (" new " + ",".join(f"{t:.2f}" for t in cmp_.unmatched_pert)) if cmp_.unmatched_pert else "")
            vs = "–"
            if cmp_.verdicts_compared:
                rules = ": " + ", ".join(cmp_.changed_rules) if cmp_.changed_rules else ""
                sure = f", {cmp_.sure_changed} of them sure" if cmp_.sure_changed else ""
                vs = (f"{100 * cmp_.verdict_share:.0f} % ({cmp_.verdicts_changed}/{cmp_.verdicts_compared}"
                      f" over {cmp_.reps_paired} reps{rules}{sure})")
            count = f"{base.n_full} → {s.n_full}" if not cmp_.count_same else str(s.n_full)
            cls = f"{base.exercise} → {s.exercise}" if not cmp_.class_same else s.exercise
            out.append([_short(c.name), r.perturbation, count, cls, tops.strip(), vs, r.detail])
    return out


def broken(clips: list[Clip], res) -> list[str]:
    """The cells that break the promise the suite pins (tests/test_stability.py), one line each:
    a baseline off its label (count out of range, wrong exercise) or failed; a perturbation that
    changed the exercise, or the full-rep count of a clip whose count is judged. Tops are not in
    it: a long flat hold's middle may move by more than 0.1 s."""
    out = []
    for c in clips:
        base, err, rows = res[c.name]
        if base is None:
            out.append(f"{_short(c.name)}: baseline failed: {err}")
            continue
        lo, hi = c.label.get("acceptable_reps", [None, None])
        if base.exercise != c.label.get("class"):
            out.append(f"{_short(c.name)}: exercise {base.exercise}, labelled {c.label.get('class')}")
        elif lo is not None and not lo <= base.n_full <= hi:
            out.append(f"{_short(c.name)}: {base.n_full} full reps, labelled {lo}-{hi}")
        for r in rows:
            if r.status == "error":
                out.append(f"{_short(c.name)} {r.perturbation}: {r.detail}")
            elif r.status == "ok":
                cmp_, s = r.comparison, r.summary
                if not cmp_.class_same:
                    out.append(f"{_short(c.name)} {r.perturbation}: exercise {base.exercise} -> {s.exercise}")
                elif not cmp_.count_same and c.label.get("count_eval", True):
                    out.append(f"{_short(c.name)} {r.perturbation}: full reps {base.n_full} -> {s.n_full}")
    return out


def _git_rev() -> str:
    where = perturb.formcheck_dir()
    if not where.is_relative_to(perturb.ROOT):
        return f"(formcheck from {where})"
    try:
        rev = subprocess.run(["git", "-C", str(perturb.ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(perturb.ROOT), "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + (" + uncommitted changes in src/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "?"


def report(clips, names, res, args, timing: str) -> tuple[str, str]:
    lab_h = ["clip", "label", "baseline", "acceptable", "full reps", "label check", "note"]
    mat_h = ["clip", "baseline", *names]
    sum_h = ["perturbation", "stable", "count changed", "class changed", "tops off", "verdicts changed",
             "sure ones changed", "skipped", "errors", "what"]
    det_h = ["clip", "perturbation", "full reps", "class", "tops (±0.1 s)", "verdicts changed", "note"]
    lab, mat, summ = label_rows(clips, res), matrix_rows(clips, names, res), summary_rows(clips, names, res)
    det_bad = detail_rows(clips, names, res, False)
    det_all = detail_rows(clips, names, res, True)
    n_ok = sum(r[5] == "ok" for r in lab)
    head = (f"formcheck stability harness · {time.strftime('%Y-%m-%d %H:%M')} · git {_git_rev()} · "
            f"tracker {perturb.tracker_hash()[:12]} · {len(clips)} clips × {len(names)} perturbations · "
            f"model {'every frame' if not perturb.model_hz() else f'at {perturb.model_hz():g} Hz'} · {timing}")
    legend = ("cell: `ok` = same full-rep count, exercise and tops (±0.1 s); `n=K` = K full reps instead; "
              "a class name = the exercise changed to it; `tops` = same count, a top moved > 0.1 s; "
              "`vN%` = N % of the verdicts on the same reps changed; `–` = not run (below 10 Hz); `ERR` = failed. "
              "Baseline column: class and full reps as shipped.")
    # terminal
    t = [head, "", f"Label check (baseline vs labels.json): {n_ok}/{len(lab)} ok", *text_table(lab_h, lab), "",
         "Stability matrix", legend, *text_table(mat_h, mat), "", "Per perturbation",
         *text_table(sum_h, [[x.replace("**", "") for x in r] for r in summ]), ""]
    rows = det_all if args.all_rows else det_bad
    t += ["Rows" + ("" if args.all_rows else " that are unstable or changed a verdict"), *text_table(det_h, rows)]
    # markdown
    command = " ".join(["bench/stability.py", *sys.argv[1:]])
    m = ["# Stability (issue 14)", "", head, "", f"Command: `{command}`", "",
         "## Per perturbation", "", *md_table(sum_h, summ), "",
         "`stable` = clips with the same full-rep count, exercise and tops / clips it ran on; `tops off` = same "
         "count but a top moved more than 0.1 s; verdicts changed = every rule's status on the same full reps "
         "(each one's top inside the other's start..end); sure ones changed = of those, the ones both runs "
         "reported with high confidence (a flip the report gave no warning of).", "",
         f"## Label check: {n_ok}/{len(lab)} clips ok at baseline", "", *md_table(lab_h, lab), "",
         "## Matrix", "", legend, "", *md_table(mat_h, mat), "",
         "## Unstable rows and changed verdicts", "", *md_table(det_h, det_bad), "",
         "## Every row", "", *md_table(det_h, det_all), ""]
    return "\n".join(t), "\n".join(m)


def jitter(clips: list[Clip], cache: Path, pool) -> int:
    """The tracker's own noise, two ways, on the baseline tracks (tracked if not cached)."""
    run_tracks(clips, ["chunks1"], cache, pool)
    import numpy as np

    frame, run = [], []
    print(f"{'clip':55s} {'frame-to-frame':>14s} {'chunks1 vs 2':>12s}  torso px  detected")
    for c in clips:
        base = perturb.load_track(c, BASELINE, cache)
        one = perturb.load_track(c, "chunks1", cache, baseline=base)
        j, r = perturb.tracker_jitter(base), perturb.run_to_run(base, one)
        frame.append(j)
        run.append(r)
        print(f"{_short(c.name):55s} {100 * j:12.2f} % {100 * r:10.2f} %  {perturb.torso_px(base):8.0f}  "
              f"{100 * base.detected.mean():6.0f} %")
    for what, vals in (("frame-to-frame residual", frame), ("run to run (chunks 1 vs 2)", run)):
        v = np.array([x for x in vals if np.isfinite(x)])
        if len(v):
            print(f"{what}: median {100 * np.median(v):.2f} %, range {100 * v.min():.2f}-{100 * v.max():.2f} % "
                  f"of the torso over {len(v)} clips")
    print(f"noise used by noise_sN: {100 * perturb.NOISE_TORSO_FRAC:.2f} % of the torso")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.samples / "labels.json").is_file():
        log(f"no dev videos at {args.samples} (labels.json missing); set FORMCHECK_SAMPLES or --samples")
        return 2
    clips = select_clips(args.samples, args.clips)
    if not clips:
        log(f"--clips {args.clips!r} matches no clip in {args.samples}")
        return 2
    names = select_perturbations(args.only)
    os.environ[perturb.MODEL_HZ_ENV] = f"{args.model_hz:g}"  # before the worker processes start
    perturb.ensure_cache(args.cache)
    log(f"{len(clips)} clips × {len(names)} perturbations; cache {args.cache}; {args.jobs} job(s)")
    t0 = time.perf_counter()
    pool = _pool(args.jobs, args.cache)
    try:
        if args.jitter:
            return jitter(clips, args.cache, pool)
        tracked = run_tracks(clips, names, args.cache, pool)
        if pool is not None and any(r.detail.startswith("worker failed") for r in tracked):
            pool.shutdown(cancel_futures=True)  # a dead worker breaks the pool: score with a fresh one
            pool = _pool(args.jobs, args.cache)
        t1 = time.perf_counter()
        res = run_analysis(clips, names, args.cache, pool)
        t2 = time.perf_counter()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    n_tracked = sum(r.status == "tracked" for r in tracked)
    frames = sum(r.frames for r in tracked)
    timing = (f"tracking {t1 - t0:.0f} s ({n_tracked} tracks made, {frames} frames; the rest cached), "
              f"scoring {t2 - t1:.0f} s")
    text, md = report(clips, names, res, args, timing)
    print(text)
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(md)
        log(f"wrote {args.markdown}")
    if args.check:
        bad = broken(clips, res)
        for line in bad:
            log(f"check: {line}")
        log(f"check: {'FAILED, ' + str(len(bad)) + ' cell(s)' if bad else 'passed'}: exercise and judged counts "
            "the same in every cell")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
