#!/usr/bin/env python3
"""SHA-256 of the P4 sources the committed artifacts in p4/build/ are compiled from.

Files: everything under p4/include/, p4/v1model/ and p4/bench/ (target ``v1model``, the BMv2
artifacts) or p4/include/ and p4/tna/ (target ``tna``, p4/build/tna/), sorted by their path
relative to p4/. For each file: the relative path (POSIX, UTF-8), a NUL byte, the file's bytes, a
NUL byte. `make -C p4` writes the digest to p4/build/SOURCE_HASH, `make -C p4 tna` to
p4/build/tna/SOURCE_HASH; tests/test_p4_artifacts.py and tests/test_p4_tna.py recompute them
with this module and fail when the artifacts are stale.

    python3 p4/source_hash.py [v1model|tna]
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

P4_DIR = Path(__file__).resolve().parent
SOURCE_DIRS = {"v1model": ("include", "v1model", "bench"), "tna": ("include", "tna")}


def source_files(p4_dir: Path = P4_DIR, target: str = "v1model") -> list[Path]:
    dirs = SOURCE_DIRS[target]
    files = [
        p
        for d in dirs
        for p in (p4_dir / d).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    return sorted(files, key=lambda p: p.relative_to(p4_dir).as_posix())


def source_hash(p4_dir: Path = P4_DIR, target: str = "v1model") -> str:
    digest = hashlib.sha256()
    for path in source_files(p4_dir, target):
        digest.update(path.relative_to(p4_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    sys.stdout.write(source_hash(target=sys.argv[1] if len(sys.argv) > 1 else "v1model") + "\n")
