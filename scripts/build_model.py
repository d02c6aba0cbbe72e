"""Build models/pose_landmarker_full.task from the tflite files in the mediapipe==0.10.21 wheel.

Why: mediapipe >= 1.0 ships no model files and the official .task bundle cannot be
downloaded at run time here. The 0.10.21 wheel (Apache-2.0) carries the same detector and
landmark networks; with TFLite metadata added, the Tasks API PoseLandmarker loads them.

Run it in a throw-away venv (it needs that old mediapipe, not the project's):

    python -m venv /tmp/mp010 && /tmp/mp010/bin/pip install mediapipe==0.10.21
    /tmp/mp010/bin/python scripts/build_model.py models/pose_landmarker_full.task

then update MODEL_SHA256 in src/formcheck/pose.py with the sha256 it prints.
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

import mediapipe
from mediapipe.tasks.python.metadata.metadata_writers import (
    metadata_writer,
    model_asset_bundle_utils,
)

MODULES = Path(mediapipe.__file__).parent / "modules"
DETECTOR = MODULES / "pose_detection" / "pose_detection.tflite"
LANDMARKS = MODULES / "pose_landmark" / "pose_landmark_full.tflite"


def _with_metadata(path: Path, name: str, mean: float, std: float) -> bytes:
    model = bytearray(path.read_bytes())
    writer = metadata_writer.MetadataWriter.create(model)
    writer.add_general_info(name, f"{path.name} from mediapipe {mediapipe.__version__}")
    writer.add_image_input(norm_mean=[mean], norm_std=[std])
    n_outputs = len(metadata_writer.writer_utils.get_output_tensor_types(model))
    for i in range(n_outputs):
        writer.add_feature_output(name=f"output_{i}")
    tflite, _ = writer.populate()
    return bytes(tflite)


def main(out: str) -> None:
    if mediapipe.__version__ != "0.10.21":
        sys.exit(f"needs mediapipe==0.10.21, found {mediapipe.__version__}")
    bundle = {
        "pose_detector.tflite": _with_metadata(DETECTOR, "pose_detector", 127.5, 127.5),
        "pose_landmarks_detector.tflite": _with_metadata(LANDMARKS, "pose_landmarks", 0.0, 255.0),
    }
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(out + ".tmp")
    # Same alignment as mediapipe's create_model_asset_bundle, with a fixed timestamp so
    # that rebuilding gives byte-identical output (and the same sha256).
    with model_asset_bundle_utils.AlignZipFile(tmp, mode="w", alignment=4) as zf:
        for name, data in bundle.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, data)
    tmp.replace(out)
    digest = hashlib.sha256(Path(out).read_bytes()).hexdigest()
    print(f"{out}: {Path(out).stat().st_size} bytes, sha256 {digest}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "models/pose_landmarker_full.task")
