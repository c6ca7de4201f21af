"""Could a margin between the best reading and the next turn csvflow's misreads into refusals?

Issue 13 asks that where two readings are about equally likely csvflow refuses, naming both,
rather than guess. Detection already refuses where the best reading of another shape (delimiter
or width) scores at least AMBIGUOUS_RATIO (0.9) of the best. This study asks whether a lower
ratio, or another doubt signal the detection already computes, would have caught the misreads
of the held-out sets' blind runs while refusing few files read right.

    # per file, with the csvflow under study first on PYTHONPATH (a checkout of a blind commit,
    # or today's); files are judged by this folder's dialect_corpus.py
    python bench/dialect_margin.py signals --corpus tests/data/dialects-heldout3 > blind3.jsonl
    # the threshold table: misreads caught at blind time, rights lost at blind time and today
    python bench/dialect_margin.py table --blind blind*.jsonl --today today*.jsonl

The signals are read off the detection as it ran on the file (its ranked readings and the table
whose header it judged), not recomputed, so the same script measures an old checkout's detection:

- rival_ratio: the score of the best reading of another shape over the best reading's score
  (what `rival` compares with AMBIGUOUS_RATIO; 0 where every reading has the best's shape);
- best_score: the best reading's own score (uniformity, coverage, width and known cells);
- header_why: the header evidence's reason, and names/values, its per-column votes.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dialect_corpus import Outcome, classify, load_expected, read_with_csvflow  # noqa: E402

# The header evidence's two weakest reasons: text above text, no column typed to vote; and a
# file of one row, taken for a header.
WEAK_HEADER = (
    "the first row's text differs from the rows below it",
    "the table has one row, read as its header",
)
RATIOS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)


def signals(corpus: Path, names: Collection[str] = ()) -> Iterable[dict[str, Any]]:
    """Each file's verdict (of those ``names``, or all) and the doubt signals of the
    detection that read it."""
    import csvflow.domain.dialect as detection
    from csvflow.domain import sniffing

    seen: dict[str, Any] = {}
    rank, judge_header = detection.rank, detection._Detection._header

    def ranked(tables: Any) -> Any:
        seen["ranked"] = rank(tables)
        return seen["ranked"]

    def header(self: Any, table: Any) -> Any:
        seen["table"] = table
        return judge_header(self, table)

    detection.rank = ranked
    detection._Detection._header = header
    try:
        for expected in load_expected(corpus):
            if names and expected.name not in names:
                continue
            seen.clear()
            verdict = classify(expected, read_with_csvflow(expected.path))
            yield {
                "set": corpus.name,
                "file": expected.name,
                "outcome": verdict.outcome.value,
                "reason": verdict.reason,
                **_ranking(seen.get("ranked")),
                **_header_votes(sniffing, seen.get("table")),
            }
    finally:
        detection.rank, detection._Detection._header = rank, judge_header


def _ranking(ranked: Any) -> dict[str, Any]:
    if not ranked:
        return {}
    best = ranked[0]
    others = [t.score for t in ranked[1:] if t.shape != best.shape and t.width > 1]
    ratio = max(others) / best.score if others and best.score > 0 else 0.0
    return {"rival_ratio": ratio, "best_score": best.score}


def _header_votes(sniffing: Any, table: Any) -> dict[str, Any]:
    if table is None or not table.rows:
        return {}
    rows, width = table.rows, table.width
    found: dict[str, Any] = {"header_why": sniffing.header_evidence(rows, width)[1]}
    first, body = rows[0].fields, [r.fields for r in rows[1:101] if len(r.fields) == width]
    if body:
        # Older checkouts judge a header on all its rows: no repeats of it set aside.
        evidence = getattr(sniffing, "_evidence_rows", lambda first, body, width: body)
        names, values, _ = sniffing._votes(first, evidence(first, body, width), width)
        found |= {"names": names, "values": values}
    return found


def _weak_header(file: dict[str, Any]) -> bool:
    return file.get("header_why") in WEAK_HEADER


def _tied_votes(file: dict[str, Any]) -> bool:
    names, values = file.get("names"), file.get("values")
    return (
        names is not None and values is not None and 0 < names + values and abs(names - values) <= 1
    )


def doubts() -> dict[str, Callable[[dict[str, Any]], bool]]:
    """Each candidate rule of refusal, by name."""
    rules: dict[str, Callable[[dict[str, Any]], bool]] = {
        f"rival_ratio >= {r:.2f}": (lambda f, r=r: f.get("rival_ratio", 0.0) >= r) for r in RATIOS
    }
    for low in (0.5, 0.4, 0.3, 0.2, 0.1):
        rules[f"best_score < {low:.1f}"] = lambda f, low=low: f.get("best_score", 1.0) < low
    rules["header: weak evidence"] = _weak_header
    rules["header: votes within one"] = _tied_votes
    rules["header: weak evidence and best_score < 0.5"] = lambda f: (
        _weak_header(f) and f.get("best_score", 1.0) < 0.5
    )
    return rules


def table(blind: list[dict[str, Any]], today: list[dict[str, Any]]) -> str:
    misread = [f for f in blind if f["outcome"] == Outcome.MISREAD.value]
    right_then = [f for f in blind if f["outcome"] == Outcome.RIGHT.value]
    right_now = [f for f in today if f["outcome"] == Outcome.RIGHT.value]
    lines = [
        "| refuse where | blind misreads caught | blind rights lost | rights lost today |",
        "|---|---|---|---|",
    ]
    for name, rule in doubts().items():
        lines.append(
            f"| {name} | {_share(rule, misread)} | {_share(rule, right_then)} "
            f"| {_share(rule, right_now)} |"
        )
    return "\n".join(lines)


def _share(rule: Callable[[dict[str, Any]], bool], files: list[dict[str, Any]]) -> str:
    hit = sum(map(rule, files))
    return f"{hit} of {len(files)} ({100 * hit / len(files):.1f} %)" if files else "-"


def _read(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps = parser.add_subparsers(dest="step", required=True)
    measure = steps.add_parser("signals", help="one JSON line per file of the corpus")
    measure.add_argument("--corpus", type=Path, required=True)
    tabulate = steps.add_parser("table", help="the threshold table, as Markdown")
    tabulate.add_argument("--blind", type=Path, nargs="+", required=True)
    tabulate.add_argument("--today", type=Path, nargs="+", required=True)
    args = parser.parse_args()
    if args.step == "signals":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for found in signals(args.corpus):
                print(json.dumps(found, ensure_ascii=False))
    else:
        print(table(_read(args.blind), _read(args.today)))


if __name__ == "__main__":
    main()
