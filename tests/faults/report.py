"""Render the counts recorded by the fault tests as a Markdown table.

Usage: ``FAULT_REPORT=var/faults.jsonl ./test tests/faults`` and then
``.venv/bin/python -m tests.faults.report var/faults.jsonl``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def render(lines: list[str]) -> str:
    """Return one table row per recorded fault, the counts as ``name=value``."""
    rows = ["| fault | measured |", "|---|---|"]
    for line in lines:
        if not line.strip():
            continue
        record = json.loads(line)
        name = record.pop("fault")
        counts = ", ".join(f"{key}={shown(value)}" for key, value in record.items())
        rows.append(f"| {name} | {counts} |")
    return "\n".join(rows)


def shown(value: object) -> str:
    """Format a count; seconds and other floats get one decimal."""
    return f"{value:.1f}" if isinstance(value, float) else str(value)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.faults.report FILE", file=sys.stderr)
        return 2
    print(render(Path(argv[0]).read_text(encoding="utf-8").splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
