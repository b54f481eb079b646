"""The verifier's mutation score (tests/verify_mutants.py): every mutant that breaks the plan
is reported, no equivalent mutant is."""

from __future__ import annotations

import verify_mutants


def test_mutation_score_is_complete() -> None:
    rows = verify_mutants.score()
    assert len(rows) >= 40
    tables = {r["table"] for r in rows}
    assert tables >= {
        "wp_classify",
        "wp_sff",
        "wp_proxy_return",
        "wp_fw",
        "wp_nat",
        "wp_count",
        "wp_ratelimit",
        "ipv4_lpm",
        "contexts",
        "bindings",
        "paths",
    }
    assert any(not r["changes"] for r in rows)  # equivalent mutants are in the set
    wrong = [r for r in rows if not r["right"]]
    assert not wrong, wrong
