"""Progress on stderr, one stage at a time (tracking, rendering the annotated video, ...).

Lower layers only call back `progress(done, total)`; this is where that becomes a bar on a
terminal, or on a pipe (a log, CI) a line at each quarter of a long stage.
"""

from __future__ import annotations

from typing import Any

from formcheck.cli.common import err

PIPE_MIN_TOTAL = 3000  # on a pipe, only stages of this many frames or more print lines (~100 s of video)
PIPE_STEP_PCT = 25  # ... one at each quarter


class StageProgress:
    """`with StageProgress(quiet) as progress:` gives a callable `progress(done, total)` for the
    current stage ("tracking" first); `progress.stage(name, total)` starts the next one. On a
    terminal its bar shows the total from the start when it is known (never "0/None"), a spinner
    when it is not."""

    def __init__(self, quiet: bool, first: str = "tracking") -> None:
        self.quiet = quiet
        self._bar: Any = None
        self._task: Any = None
        self._name, self._unit = first, "frames"
        self._total: int | None = None
        self._last_pct = -1

    def __enter__(self) -> StageProgress:
        if not self.quiet and err.is_terminal:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self._bar.__enter__()
            self._start()
        return self

    def _start(self) -> None:
        if self._bar is None:
            return
        if self._task is not None:
            self._bar.remove_task(self._task)
        self._task = self._bar.add_task(self._name, total=self._total or None, count=self._count(0))

    def _count(self, done: int) -> str:
        return f"{done}/{self._total} {self._unit}" if self._total else ""

    def stage(self, name: str, total: int | None = None, unit: str = "frames") -> StageProgress:
        """Start the next stage (the previous one is done); returns the callback for it."""
        self._name, self._total, self._unit = name, total, unit
        self._last_pct = -1
        self._start()
        return self

    def __call__(self, done: int, total: int) -> None:
        """The current stage has `done` of `total` (0 = not known) units done."""
        if total:
            self._total = total
        done = min(done, self._total) if self._total else done  # overlapping chunks may count a frame twice
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=self._total or None, count=self._count(done),
                             refresh=True)
        elif not self.quiet and self._total and self._total >= PIPE_MIN_TOTAL:
            pct = int(100 * done / self._total) // PIPE_STEP_PCT * PIPE_STEP_PCT
            if pct > self._last_pct and pct < 100:
                self._last_pct = pct
                err.print(f"formcheck: {self._name}… {done}/{self._total} {self._unit}")

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
