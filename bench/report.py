"""The table printed at the end of a run, and its JSON copy in bench/results/."""
import json
from datetime import datetime, timezone
from pathlib import Path

COLUMNS = (("scenario", "Scenario", 44), ("variant", "Variant", 48), ("rps", "req/s", 8), ("p50_ms", "p50 ms", 8),
           ("p99_ms", "p99 ms", 8), ("ratio", "ratio", 6), ("queries", "queries", 7), ("target", "target", 40),
           ("status", "", 4))


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}" if value < 100 else f"{value:.0f}"
    return str(value)


def table(rows: list[dict], notes: list[str]) -> str:
    """A Markdown table (readable in a terminal, pasteable into the README)."""
    lines = ["| " + " | ".join(title for _, title, _ in COLUMNS) + " | note |",
             "|" + "|".join("---" for _ in COLUMNS) + "|---|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[key]) for key, _, _ in COLUMNS) + f" | {row['note']} |")
    lines += [f"\nNote: {note}" for note in notes]
    return "\n".join(lines)


def write(result: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{result['mode']}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
