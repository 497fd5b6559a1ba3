"""`make bench`: measure targets B1-B9 at 100,000 tickets on SQLite and (if configured) PostgreSQL.

    python -m bench.run [--tickets 100000] [--only B1,B2] [--rounds 40] [--b9-seconds 30] [--app-dir PATH]

PostgreSQL runs when DESKPILOT_BENCH_DATABASE_URL or DESKPILOT_TEST_DATABASE_URL is set; the bench
uses databases of its own on that server (deskpilot_bench_*), never the named database's tables.
Everything runs on 127.0.0.1 and ends within a bounded number of requests and seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.common import Context, Result
from bench.env import RESULTS, ROOT, Seeded, Server, accounts, head_revision, prepare_postgres, prepare_sqlite
from bench.report import markdown, table, write_json
from core.db import make_engine

ALL = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9")


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets to seed (default 100,000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the generated data")
    parser.add_argument("--only", default=",".join(ALL), help="targets to run, e.g. B1,B2")
    parser.add_argument("--rounds", type=int, default=40, help="samples per timing (each with its reference)")
    parser.add_argument("--b9-seconds", type=float, default=30.0, help="length of the B9 load test")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="serve the app from another checkout (before/after)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only, even if PostgreSQL is configured")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only (when configured)")
    parser.add_argument("--label", default="", help="a note stored with the results (e.g. 'before')")
    return parser.parse_args(argv)


def _guard(results: list[Result], target: str, backend: str, fn: Callable[[], Result | list[Result]]) -> None:
    """Run one scenario; a failure is recorded as a miss with its reason, and the run goes on."""
    try:
        outcome = fn()
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    except Exception as exc:  # a benchmark run should report every target it can
        traceback.print_exc()
        results.append(Result(target, backend, "(failed to run)", "", f"error: {type(exc).__name__}: {exc}"[:200],
                              False))


def _prepare(backend: str, args: argparse.Namespace, console: Console) -> Seeded:
    columns = (TextColumn(f"Seeding {backend}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("seed", total=args.tickets)

        def advance(done: int, _total: int) -> None:
            progress.update(task, completed=done)

        revision = head_revision(args.app_dir.resolve())  # the served checkout's schema
        if backend == "sqlite":
            return prepare_sqlite(args.tickets, args.seed, revision, advance)
        pg = os.environ.get("DESKPILOT_BENCH_DATABASE_URL") or os.environ["DESKPILOT_TEST_DATABASE_URL"]
        return prepare_postgres(pg, args.tickets, args.seed, revision, advance)


def run_backend(backend: str, args: argparse.Namespace, only: set[str], console: Console) -> list[Result]:
    """Every selected target on one database, the destructive B5 last."""
    from bench import ai, load, reads, writes

    results: list[Result] = []
    started = time.perf_counter()
    seeded = _prepare(backend, args, console)
    url = seeded.url
    if seeded.seconds is not None:
        limit = 60 if backend == "sqlite" else None
        when = " (cached data; time of its seeding)" if seeded.cached else ""
        results.append(Result("seed", backend, f"generate {args.tickets:,} tickets (deskpilot seed){when}",
                              "< 60 s" if limit else "—", f"{seeded.seconds:.1f} s",
                              seeded.seconds < limit if limit else None))
    console.print(f"[bold]{backend}[/]: database ready in {time.perf_counter() - started:.0f} s")
    engine = make_engine(url)
    ctx = Context(backend=backend, url=url, engine=engine, base_url="", accounts=accounts(url, 16),
                  app_dir=args.app_dir.resolve(), rounds=args.rounds, seed=args.seed, b9_seconds=args.b9_seconds)
    try:
        if only & {"B1", "B2", "B3", "B4"}:
            with Server(url, app_dir=ctx.app_dir) as server:
                ctx.base_url = server.base_url
                for target, fn in (("B1", reads.b1_list_pages), ("B2", reads.b2_search_as_you_type),
                                   ("B3", reads.b3_long_ticket), ("B4", writes.b4_merge_and_split)):
                    if target in only:
                        console.print(f"  {target} …")
                        _guard(results, target, backend, lambda fn=fn: fn(ctx))
        if "B8" in only:
            console.print("  B8 …")
            with Server(url, app_dir=ctx.app_dir) as server:
                ctx.base_url = server.base_url
                _guard(results, "B8", backend, lambda: reads.b8_memory(ctx, server))
        if "B6" in only:
            console.print("  B6 …")
            _guard(results, "B6", backend, lambda: ai.b6_ai_overhead(ctx))
        if "B9" in only and backend == "postgresql":
            console.print("  B9 …")
            _guard(results, "B9", backend, lambda: load.b9_concurrency(ctx))
        if "B5" in only:
            console.print("  B5 …")
            with Server(url, app_dir=ctx.app_dir) as server:
                ctx.base_url = server.base_url
                _guard(results, "B5", backend, lambda: writes.b5_bulk_delete(ctx))
    finally:
        engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    """Run, print the table, write bench-results/results-<timestamp>.json; exit 1 if a target is missed."""
    from bench.startup import b7_startup

    args = _args(argv)
    only = {t.strip().upper() for t in args.only.split(",") if t.strip()}
    console = Console(width=None if sys.stdout.isatty() else 200)
    backends = [] if args.no_sqlite else ["sqlite"]
    if not args.no_postgres and (os.environ.get("DESKPILOT_BENCH_DATABASE_URL")
                                 or os.environ.get("DESKPILOT_TEST_DATABASE_URL")):
        backends.append("postgresql")
    results: list[Result] = []
    if "B7" in only:
        _guard(results, "B7", "-", lambda: b7_startup(args.app_dir.resolve()))
    for backend in backends:
        results.extend(run_backend(backend, args, only, console))
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    console.print(table(results, f"deskpilot benchmarks at {args.tickets:,} tickets {args.label}".strip()))
    path = write_json(results, {"command": command.strip(), "tickets": args.tickets, "seed": args.seed,
                                "rounds": args.rounds, "label": args.label, "app_dir": str(args.app_dir),
                                "backends": backends}, RESULTS)
    (RESULTS / "latest.md").write_text(f"`{command.strip()}`\n\n{markdown(results)}\n")
    console.print(f"Results: {path.relative_to(ROOT)} (Markdown: bench-results/latest.md)")
    return 0 if all(r.passed is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
