"""formcheck: rep-by-rep coaching for hip thrusts and glute bridges from video.

The public face: `analyze_path(path, cfg)` scores a video or a saved pose track, `Config`
holds every threshold; the CLI is `formcheck.cli:main`. Loaded lazily (importing formcheck
does not pull in numpy, scipy or the pose model). The layers below: docs/architecture.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from formcheck.config import Config, load_config
    from formcheck.pipeline.analyze import Analysis, analyze_path, analyze_track

_LAZY = {
    "Analysis": "formcheck.pipeline.analyze",
    "analyze_path": "formcheck.pipeline.analyze",
    "analyze_track": "formcheck.pipeline.analyze",
    "Config": "formcheck.config",
    "load_config": "formcheck.config",
}
__all__ = ["Analysis", "Config", "__version__", "analyze_path", "analyze_track", "load_config"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'formcheck' has no attribute {name!r}")
