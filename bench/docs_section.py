"""Replace one ``## <title>`` section of docs/benchmarks.md (others' sections stay untouched)."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def replace_section(title: str, body: str, doc: Path = DOC) -> None:
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    lines = text.splitlines()
    head = f"## {title}"
    new = [head, "", *body.rstrip().splitlines(), ""]
    if head in lines:
        start = lines.index(head)
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        lines[start:end] = new
    else:
        if lines and lines[-1].strip():
            lines.append("")
        lines += new
    doc.write_text("\n".join(lines).rstrip() + "\n")
