"""How frames are fed to the pose model: frame size, the model's options, the time chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

from formcheck.errors import ConfigError

# `--fast`: the model about ten times a second (bench/README.md: the stability harness and the
# speed it buys). A rep lasts 1.5-3 s and the landmarks are low-passed at 6 Hz.
FAST_HZ = 10.0


@dataclass(frozen=True)
class VideoConfig:
    # How often the pose model looks, in frames per second of video: 0 = every frame. Any other
    # value is met with a whole stride of the file's own frames (formcheck.inputs.sampling);
    # the frames between are filled in time. `--fast` sets FAST_HZ.
    model_hz: float = field(default=0.0, metadata={"range": (0, 1000)})
    # Larger frames are downscaled before the model (it sees 256 px anyway).
    max_side: int = field(default=1280, metadata={"range": (16, 8192)})
    # People the model may report (formcheck then follows the lifter among them). 1 is the
    # default: VIDEO-mode tracking stays on the person it locked onto, and with 2 the model
    # also returns ghost duplicates of the lifter that the follower can switch to.
    num_poses: int = field(default=1, metadata={"range": (1, 10)})
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    # Time chunks a file is cut into, each tracked by its own tracker (formcheck.pose.chunked).
    # The result depends on this (to within the tracker's own noise) and on nothing else:
    # never on the machine or on `workers`. 1 = one unbroken stream; raise it to use more
    # cores on a bigger machine (one chunk per core is the fastest).
    chunks: int = field(default=2, metadata={"range": (1, 64)})  # each holds a tracker: bounded
    # Chunks tracked at once: 0 = one per core. Speed only; the track is the same bit for bit.
    workers: int = field(default=0, metadata={"range": (0, 256)})
    # Seconds of video per extra chunk: shorter files stay one stream (splitting them would
    # not pay for the warm-up) — see bench/README.md for the break-even.
    parallel_min_s: float = field(default=3.0, metadata={"range": (0, 3600)})
    # Each chunk's tracker starts this long before its chunk so tracking has settled (with 0.3
    # or 0.5 s a fresh tracker started on the wrong pose on a dev clip; 1 s never did).
    parallel_warmup_s: float = field(default=1.0, metadata={"range": (0, 60)})
    # The chunk before runs on this long past its end; both trackers must agree there.
    parallel_check_s: float = field(default=0.25, metadata={"range": (0, 60)})

    def __post_init__(self) -> None:
        for name in ("max_side", "num_poses", "chunks"):
            if getattr(self, name) < 1:
                raise ConfigError(f"[video] {name}: must be at least 1, got {getattr(self, name)}")
        for name in ("model_hz", "workers", "parallel_min_s", "parallel_warmup_s", "parallel_check_s"):
            if getattr(self, name) < 0:
                raise ConfigError(f"[video] {name}: must not be negative, got {getattr(self, name)}")
