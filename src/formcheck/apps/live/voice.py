"""Spoken cues, offline: pyttsx3 driving eSpeak NG, in a background thread.

Imported only for `formcheck live --voice`. Speech must never hold up the frames, so cues
go through a one-slot mailbox: a cue not yet spoken when a newer one arrives is dropped
(the lifter needs the latest rep, not a backlog). On Linux pyttsx3 needs the eSpeak NG
library (Debian: espeak-ng) and plays the sound with `aplay` (Debian: alsa-utils).
"""

from __future__ import annotations

import platform
import shutil
import threading
from collections.abc import Callable
from typing import Any

from formcheck.errors import FormcheckError


class VoiceUnavailable(FormcheckError):
    """No speech engine: the caller says so in one line and carries on silently."""


INSTALL_HINT = "pip install 'formcheck[voice]' and, on Debian/Ubuntu, apt-get install espeak-ng alsa-utils"


def _pyttsx3_engine(rate: int) -> Any:
    try:
        import pyttsx3
    except ImportError as exc:
        raise VoiceUnavailable(f"pyttsx3 is not installed ({INSTALL_HINT})") from exc
    if platform.system() == "Linux" and shutil.which("aplay") is None:
        raise VoiceUnavailable(f"no audio player: `aplay` not found ({INSTALL_HINT})")
    try:
        engine = pyttsx3.init()
    except (OSError, RuntimeError, ImportError, KeyError) as exc:  # no libespeak-ng, no driver
        raise VoiceUnavailable(f"no speech engine ({exc}; {INSTALL_HINT})") from exc
    engine.setProperty("rate", rate)
    return engine


class Voice:
    """`say(text)` returns at once; the newest pending cue is spoken next, older ones dropped.

    `engine_factory` builds the engine inside the speaking thread (pyttsx3 engines belong to
    the thread that made them); it raises VoiceUnavailable when there is none.
    """

    def __init__(self, rate: int = 175, engine_factory: Callable[[int], Any] = _pyttsx3_engine) -> None:
        self._factory, self._rate = engine_factory, rate
        self._cond = threading.Condition()
        self._pending: str | None = None
        self._closed = False
        self._error: VoiceUnavailable | None = None
        self._ready = threading.Event()
        self.spoken: list[str] = []
        self.dropped = 0
        self._thread = threading.Thread(target=self._work, name="formcheck-voice", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10.0)
        if self._error is not None:
            self._thread.join(timeout=1.0)
            raise self._error

    def say(self, text: str) -> None:
        with self._cond:
            if self._pending is not None:
                self.dropped += 1
            self._pending = text
            self._cond.notify()

    def close(self, timeout: float = 5.0) -> None:
        """Finish the cue being spoken (and the pending one), then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)

    def __enter__(self) -> Voice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _work(self) -> None:
        try:
            engine = self._factory(self._rate)
        except VoiceUnavailable as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                text, self._pending = self._pending, None
                if text is None:
                    return
            engine.say(text)
            engine.runAndWait()
            self.spoken.append(text)


def rep_phrase(number: int | None, cue: str) -> str:
    """What to say when a rep ends: its number, then the one thing to fix (or praise)."""
    if number is None:
        return "Partial rep, not counted."
    return f"{number}. {cue}" if cue else f"{number}. Good rep."
