#!/usr/bin/env bash
# The whole test suite: lint, format, types, then pytest (the BMv2/lab tiers skip with a reason
# where simple_switch_grpc or root is missing; `slow` runs are left out unless WPHW_SLOW=1).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin
# /opt/p4/env.sh (a BMv2 install) puts BMv2's Python modules on PYTHONPATH; their "google" package
# would shadow protobuf in our environment.
unset PYTHONPATH
[ -x "$PY/python" ] || { echo "test: run 'bash scripts/setup.sh' first" >&2; exit 1; }
echo "== ruff check";          "$PY/ruff" check wphw tests sim bench
echo "== ruff format --check"; "$PY/ruff" format --check wphw tests sim bench
echo "== mypy";                "$PY/mypy"
marker="not slow"
[ -n "${WPHW_SLOW:-}" ] && marker=""
echo "== pytest"
exec "$PY/pytest" -q -m "$marker" "$@"
