"""A scale bench of this tree against the same bench of an older commit, interleaved.

    .venv/bin/python bench/rev_compare.py plan_scale --base aba0fc3 --rounds 5
    .venv/bin/python bench/rev_compare.py verify_scale --base aba0fc3 --rounds 3

On a shared machine the load changes by more than the difference being looked for, so two
separate runs of bench/plan_scale.py cannot be compared. Here every row of the bench's FULL
table is run once per round for each tree (a fresh process each, ``run(..., repeat=1)``), the
trees alternating and their order flipped every round, so both see the same load; reported is
the median per row and tree of the timed fields and the ratio this tree / base. The base tree is
``git archive <base>`` in a temporary directory, run with its own bench script and its own
wphw. Results: bench/results/<bench>_vs_<base>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# per bench: how a row of its FULL table is run (in the child), and the fields that are times
CALL = {
    "plan_scale": "k, n, inst, wp, subs, end = row; out = run(k, n, 1, inst, wp, subs, end)",
    "verify_scale": "k, n, end = row; out = run(k, n, end, 1)",
}
TIMES = {
    "plan_scale": ["wphw_s", "naive_s"],
    "verify_scale": ["compile_s", "verify_s", "change_ms", "change_given_switches_ms"],
}
CHILD = """
import json, logging, sys
logging.disable(logging.WARNING)
from bench.{bench} import FULL, run
row = FULL[{i}]
{call}
print(json.dumps(out, default=str))
"""


def run_row(tree: Path, bench: str, i: int) -> dict[str, object]:
    code = CHILD.format(bench=bench, i=i, call=CALL[bench])
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True
    )
    if out.returncode:
        raise RuntimeError(f"{tree} row {i}: {out.stderr.strip().splitlines()[-1:]}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def rows_of(tree: Path, bench: str) -> int:
    code = f"from bench.{bench} import FULL; print(len(FULL))"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, check=True
    )
    return int(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("bench", choices=sorted(CALL))
    ap.add_argument("--base", required=True, help="commit to compare against")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    def rev(r: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--verify", f"{r}^{{commit}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    head = rev("HEAD")
    dirty = bool(
        subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "wphw", "bench"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    base = rev(args.base)
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", base],
            capture_output=True,
            check=True,
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        trees = {"head": REPO, "base": Path(tmp)}
        n = rows_of(REPO, args.bench)
        if rows_of(trees["base"], args.bench) != n:
            sys.stderr.write("the two trees' FULL tables differ in length\n")
            return 2
        samples: dict[str, list[list[dict[str, object]]]] = {
            t: [[] for _ in range(n)] for t in trees
        }
        for rnd in range(args.rounds):
            order = ["head", "base"] if rnd % 2 == 0 else ["base", "head"]
            for i in range(n):
                for t in order:
                    samples[t][i].append(run_row(trees[t], args.bench, i))
            print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    rows = []
    for i in range(n):
        first = samples["head"][i][0]
        row: dict[str, object] = {k: v for k, v in first.items() if k not in TIMES[args.bench]}
        for f in TIMES[args.bench]:
            h = statistics.median(float(s[f]) for s in samples["head"][i])  # type: ignore[arg-type]
            b = statistics.median(float(s[f]) for s in samples["base"][i])  # type: ignore[arg-type]
            row[f] = {"head": h, "base": b, "ratio": h / b if b else None}
        # counts (entries, classes, paths...) must agree; floats are times or ratios of times
        same = all(
            samples["head"][i][0].get(k) == samples["base"][i][0].get(k)
            for k in first
            if k not in TIMES[args.bench] and not isinstance(first[k], float)
        )
        row["same_counts"] = same
        rows.append(row)
        print(
            json.dumps({k: v for k, v in row.items() if k in ("switches", "rules", "chain_end")})
            + "  "
            + "  ".join(
                f"{f} {row[f]['head']:.4g} vs {row[f]['base']:.4g} ({row[f]['ratio']:.2f})"  # type: ignore[index]
                for f in TIMES[args.bench]
            )
            + ("" if same else "  COUNTS DIFFER"),
            flush=True,
        )
    out = REPO / "bench" / "results" / f"{args.bench}_vs_{args.base}.json"
    out.write_text(
        json.dumps(
            {
                "machine": platform.platform(),
                "head": head + (" (with uncommitted changes)" if dirty else ""),
                "base": base,
                "rounds": args.rounds,
                "rows": rows,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
