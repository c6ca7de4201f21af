"""csvflow and its peers reading the dialect corpus (issue 13): share read right, misread, refused.

    pip install -e ".[bench]" && python bench/dialects.py [--json] [--tools csvflow,duckdb]
        [--corpus tests/data/dialects-heldout]

Every file of the corpus (tests/data/dialects, or the annotated folder given by --corpus, such as
the held-out sets tests/data/dialects-heldout, tests/data/dialects-heldout2,
tests/data/dialects-heldout3, tests/data/dialects-heldout4, tests/data/dialects-heldout5 and
tests/data/dialects-heldout6) is read by each tool as a user would call it, with no hint about the file: csvflow through `csvflow profile FILE --json`, DuckDB's `read_csv` auto-detection,
pandas' `read_csv(sep=None, engine="python")` and clevercsv's `read_dataframe`. Each reading is
judged against the file's annotation by bench/dialect_corpus.py (the module the CI test uses):
RIGHT, MISREAD (a table, not the right one) or REFUSED (an error). The issue's goal: at least 95 %
right, at most 1 % misread, no crash.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dialect_corpus import (  # noqa: E402
    CORPUS,
    Expected,
    Outcome,
    Reading,
    Verdict,
    classify,
    load_expected,
    read_with_csvflow,
    shares,
)


def read_with_duckdb(path: Path) -> Reading:
    """DuckDB's sniffer (`read_csv` with every option detected), the values kept as text.

    all_varchar only skips casting the values (a date stays as written, so the first row can be
    compared); on this corpus it changes no detected header, delimiter, width or row count.
    """
    import duckdb

    connection = duckdb.connect()
    try:
        relation = connection.read_csv(str(path), all_varchar=True)
        names = relation.columns
        rows = relation.fetchall()
    except (duckdb.Error, UnicodeDecodeError, ValueError) as error:
        return Reading(error=f"{type(error).__name__}: {_first_line(error)}")
    finally:
        connection.close()
    return _table(names, rows)


def read_with_pandas(path: Path) -> Reading:
    """pandas' delimiter sniffing (`sep=None` with the python engine); header on the first line."""
    import pandas as pd

    try:
        frame = pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False)
    except Exception as error:  # any error is a refusal here
        return Reading(error=f"{type(error).__name__}: {_first_line(error)}")
    return _table(list(map(str, frame.columns)), frame.itertuples(index=False, name=None))


def read_with_clevercsv(path: Path) -> Reading:
    """clevercsv's dialect detection and header sniffing (`read_dataframe`)."""
    import clevercsv

    try:
        frame = clevercsv.read_dataframe(str(path), dtype=str, keep_default_na=False)
    except Exception as error:  # any error is a refusal here
        return Reading(error=f"{type(error).__name__}: {_first_line(error)}")
    return _table(list(map(str, frame.columns)), frame.itertuples(index=False, name=None))


def _table(names: list[str], rows: Any) -> Reading:
    rows = list(rows)
    return Reading(
        width=len(names),
        names=tuple(names),
        first_row=tuple(rows[0]) if rows else None,
        rows=len(rows),
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


TOOLS: dict[str, Callable[[Path], Reading]] = {
    "csvflow": read_with_csvflow,
    "duckdb": read_with_duckdb,
    "pandas": read_with_pandas,
    "clevercsv": read_with_clevercsv,
}


def run(tools: list[str], files: list[Expected]) -> dict[str, dict[str, Verdict]]:
    verdicts: dict[str, dict[str, Verdict]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for tool in tools:
            read = TOOLS[tool]
            verdicts[tool] = {e.name: classify(e, read(e.path)) for e in files}
    return verdicts


def report(
    verdicts: dict[str, dict[str, Verdict]], files: list[Expected], corpus: Path = CORPUS
) -> str:
    lines = [f"dialect corpus {corpus.name}: {len(files)} files", ""]
    lines.append(f"{'tool':<10} {'right':>8} {'misread':>8} {'refused':>8} {'crashed':>8}")
    for tool, by_file in verdicts.items():
        s = shares(by_file.values())
        lines.append(
            f"{tool:<10} {s.right_share:>8.1%} {s.misread_share:>8.1%} {s.refused_share:>8.1%}"
            f" {s.crashed:>8}"
        )
    lines += ["", "right per kind (right/files):"]
    kinds = sorted({k for e in files for k in e.kinds})
    lines.append(f"{'kind':<26}" + "".join(f"{tool:>11}" for tool in verdicts))
    for kind in kinds:
        names = [e.name for e in files if kind in e.kinds]
        cells = []
        for by_file in verdicts.values():
            right = sum(by_file[n].outcome is Outcome.RIGHT for n in names)
            cells.append(f"{right:>5}/{len(names):<5}")
        lines.append(f"{kind:<26}" + "".join(cells))
    for tool in ("csvflow",):
        if tool not in verdicts:
            continue
        wrong = [(n, v) for n, v in verdicts[tool].items() if v.outcome is not Outcome.RIGHT]
        lines += ["", f"{tool}: {len(wrong)} files not read right"]
        lines += [
            f"  {v.outcome.value.upper():<8} {n}: {v.reason}" + (" [CRASH]" if v.crashed else "")
            for n, v in wrong
        ]
    return "\n".join(lines)


def as_json(verdicts: dict[str, dict[str, Verdict]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for tool, by_file in verdicts.items():
        s = shares(by_file.values())
        result[tool] = {
            "files": s.files,
            "right": s.right_share,
            "misread": s.misread_share,
            "refused": s.refused_share,
            "crashed": s.crashed,
            "verdicts": {
                n: {"outcome": v.outcome.value, "reason": v.reason, "crashed": v.crashed}
                for n, v in by_file.items()
            },
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="the figures and every verdict")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset")
    parser.add_argument(
        "--corpus",
        type=Path,
        default=CORPUS,
        help="a folder of files annotated in its expected.toml (default: tests/data/dialects)",
    )
    args = parser.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))} (known: {', '.join(TOOLS)})")
    if not (args.corpus / "expected.toml").is_file():
        parser.error(f"{args.corpus}: no expected.toml (the annotations of its files)")
    files = load_expected(args.corpus)
    verdicts = run(tools, files)
    print(
        json.dumps(as_json(verdicts), indent=1)
        if args.json
        else report(verdicts, files, args.corpus)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
