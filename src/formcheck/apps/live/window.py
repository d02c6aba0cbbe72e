"""The live window: cv2.imshow at the window's size, and its keys.

The picture is drawn at the window's size rather than the frame's and scaled up after
(formcheck.report.live_overlay), so the count and the cue grow with the window and stay sharp
when it is made full screen for a bench 2-3 m away.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from formcheck.errors import ExitCode, FormcheckError

WINDOW = "formcheck live"
OPEN_MAX = (1280, 800)  # the window opens at the frame's shape, scaled (up or down) to fit a laptop screen
DRAW_MAX_SIDE = 2560  # drawn at most this big; a larger window scales the picture up itself
PAUSE_POLL_MS = 50
WAITING_GREY = 24  # the window's picture until the first frame
MIN_SIDE = 64  # a window smaller than this (minimised, not yet shown): draw at the frame's size


class Window:
    """cv2.imshow and the keys: q quit, r reset the set, space pause, f full screen.

    The picture is drawn at the window's size (`size_for`), so text grows with the window
    instead of being scaled up blurred; resizing keeps the frame's shape.
    """

    def __init__(self, source: Any, fullscreen: bool = False) -> None:
        import cv2

        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise FormcheckError("no display to open a window on (DISPLAY is not set); use --no-window",
                                 ExitCode.USAGE)  # fmt: skip
        self.cv2, self.source, self._sized = cv2, source, False
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        if fullscreen:
            self.toggle_fullscreen()
        info = getattr(source, "info", None)
        if info is not None and info.width > 0 and info.height > 0:  # its size now, not Qt's 400x300
            w, h = self.size_for((info.height, info.width))
            cv2.imshow(WINDOW, np.full((h, w, 3), WAITING_GREY, np.uint8))  # while the model loads
            cv2.waitKey(1)

    def size_for(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """(w, h) to draw a frame of `shape` at: the window's picture area, the frame's shape."""
        h, w = shape[:2]
        if not self._sized:
            s = min(OPEN_MAX[0] / w, OPEN_MAX[1] / h)
            self.cv2.resizeWindow(WINDOW, round(w * s), round(h * s))
            self._sized = True
            return round(w * s), round(h * s)
        _, _, rw, rh = self.cv2.getWindowImageRect(WINDOW)
        if rw < MIN_SIDE or rh < MIN_SIDE:
            return w, h
        s = min(rw / w, rh / h, DRAW_MAX_SIDE / max(w, h))
        return max(1, round(w * s)), max(1, round(h * s))

    def toggle_fullscreen(self) -> None:
        cv2 = self.cv2
        full = cv2.getWindowProperty(WINDOW, cv2.WND_PROP_FULLSCREEN) == cv2.WINDOW_FULLSCREEN
        cv2.setWindowProperty(WINDOW, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_NORMAL if full else cv2.WINDOW_FULLSCREEN)

    def show(self, rgb: Any) -> str | None:
        self.cv2.imshow(WINDOW, self.cv2.cvtColor(rgb, self.cv2.COLOR_RGB2BGR))
        return self._key(self.cv2.waitKey(1))

    def pause(self, redraw: Callable[[], Any]) -> str | None:
        """Hold the picture until space (resume), r (reset) or q (quit); redrawn as the window is resized."""
        self.source.pause(True)
        try:
            while True:
                self.cv2.imshow(WINDOW, self.cv2.cvtColor(redraw(), self.cv2.COLOR_RGB2BGR))
                cmd = self._key(self.cv2.waitKey(PAUSE_POLL_MS))
                if cmd is not None:
                    return None if cmd == "pause" else cmd
        finally:
            self.source.pause(False)

    def _key(self, key: int) -> str | None:
        if self.cv2.getWindowProperty(WINDOW, self.cv2.WND_PROP_VISIBLE) < 1:
            return "quit"  # the window was closed
        if key & 0xFF == ord("f"):
            self.toggle_fullscreen()
            return None
        return {ord("q"): "quit", 27: "quit", ord("r"): "reset", ord(" "): "pause"}.get(key & 0xFF)

    def close(self) -> None:
        self.cv2.destroyAllWindows()
        self.cv2.waitKey(1)
