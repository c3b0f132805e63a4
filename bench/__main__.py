"""Command line: `python -m bench [--quick] [--only P2] [--workdir DIR] [--runs N]`."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.core import Result

BENCHMARKS = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8", "P9")
# Several processes on PostgreSQL, a minute each: not part of a --quick (CI) run.
FULL_ONLY = ("P7", "P8")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small smoke run (CI)")
    parser.add_argument(
        "--only",
        action="append",
        type=str.upper,
        choices=BENCHMARKS,
        help="run only this benchmark (may be repeated)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="keep the database files here and reuse P2's datasets on the next run",
    )
    parser.add_argument(
        "--pg",
        metavar="URL",
        help="P1 on this PostgreSQL database (its schema is dropped and recreated) "
        "instead of a SQLite file; P7 and P8 need it",
    )
    parser.add_argument("--runs", type=int, help="timed runs per figure (default: by mode)")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print diagnostics (P1: where a check-in's time goes; P2: query plans)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks and print their figures; 0 unless something crashed."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    chosen = [
        b
        for b in BENCHMARKS
        if (b in args.only if args.only else not (args.quick and b in FULL_ONLY))
    ]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kpibot-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    mode = "quick" if args.quick else "full"
    print(f"kpibot benchmarks ({mode}): {', '.join(chosen)}", flush=True)
    started = time.perf_counter()
    missed = 0
    try:
        for name in chosen:
            for result in _runner(name, args, workdir)():
                # A benchmark may also hand back finished lines (str) instead of figures.
                line = result if isinstance(result, str) else result.line()
                print(line, flush=True)
                missed += line.endswith("MISSED")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started
    print(f"done in {elapsed:.0f} s: {missed} goal(s) missed", flush=True)
    return 0


def _runner(
    name: str, args: argparse.Namespace, workdir: Path
) -> Callable[[], Sequence[Result | str]]:
    # Imported on demand: P3 alone need not load the bot, P1 alone need not load matplotlib.
    if name == "P1":
        from bench import p1

        opts = p1.Options(args.quick, workdir, explain=args.explain, pg_url=args.pg)
        return lambda: p1.run(opts)
    if name == "P2":
        from bench import p2

        return lambda: p2.run(p2.Options(args.quick, workdir, args.runs, args.explain))
    if name == "P5":
        from bench import p5_footprint

        return lambda: p5_footprint.run(p5_footprint.Options(args.quick, workdir))
    if name == "P6":
        from bench import p6_lag

        return lambda: p6_lag.run(p6_lag.Options(args.quick, workdir))
    if name == "P7":
        from bench import p7_ingest

        return lambda: p7_ingest.run(p7_ingest.Options(workdir, args.pg))
    if name == "P8":
        from bench import p8_scale

        return lambda: p8_scale.run(p8_scale.Options(workdir, args.pg))
    if name == "P9":
        from bench import p9_burst

        return lambda: p9_burst.run(p9_burst.Options(args.quick, workdir))
    if name == "P4":
        from bench import p4_fanout

        return lambda: p4_fanout.run(args.quick)
    from bench import p3

    return lambda: p3.run(p3.Options(args.quick, args.runs))


if __name__ == "__main__":
    sys.exit(main())
