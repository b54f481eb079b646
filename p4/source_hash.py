#!/usr/bin/env python3
"""SHA-256 of the P4 sources the committed artifacts in p4/build/ are compiled from.

Files: everything under p4/include/, p4/v1model/ and p4/bench/, sorted by their path relative
to p4/. For each file: the relative path (POSIX, UTF-8), a NUL byte, the file's bytes, a NUL
byte. `make -C p4` writes the digest to p4/build/SOURCE_HASH; tests/test_p4_artifacts.py
recomputes it with this module and fails when the artifacts are stale.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

P4_DIR = Path(__file__).resolve().parent
SOURCE_DIRS = ("include", "v1model", "bench")


def source_files(p4_dir: Path = P4_DIR) -> list[Path]:
    files = [p for d in SOURCE_DIRS for p in (p4_dir / d).rglob("*") if p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(p4_dir).as_posix())


def source_hash(p4_dir: Path = P4_DIR) -> str:
    digest = hashlib.sha256()
    for path in source_files(p4_dir):
        digest.update(path.relative_to(p4_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    sys.stdout.write(source_hash() + "\n")
