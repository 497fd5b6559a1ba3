"""The full-length concurrency soak: `make soak` (60 s), or `python scripts/soak.py --seconds N`.

Two deskpilot server processes on 127.0.0.1 share a scratch PostgreSQL database (`<db>_soak`, recreated);
32 client threads edit, merge, split, spam, delete and restore overlapping tickets until the time is up.
Then the invariants are checked with SQL. Prints the figures as JSON; exits 1 if any invariant broke.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.invariants import check_invariants  # noqa: E402
from tests.reliability.procs import scratch_database  # noqa: E402
from tests.reliability.soak import SoakConfig, run  # noqa: E402

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def main() -> int:
    """Run the soak and report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the clients run (default 60)")
    parser.add_argument("--clients", type=int, default=32, help="client threads (default 32)")
    parser.add_argument("--servers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--tickets", type=int, default=48, help="tickets to start from (default 48)")
    parser.add_argument("--database-url", default=os.environ.get("DESKPILOT_TEST_DATABASE_URL", DEFAULT_DB),
                        help="a PostgreSQL URL; the soak uses a scratch database beside it named <db>_soak")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("the soak runs on PostgreSQL (several server processes share one database)")
    if not 0 < args.seconds <= 3600 or not 1 <= args.clients <= 256 or not 1 <= args.servers <= 8:
        parser.error("keep it bounded: 0-3600 s, 1-256 clients, 1-8 servers")
    url = scratch_database(args.database_url, "soak")
    with tempfile.TemporaryDirectory(prefix="deskpilot-soak-") as logs:
        config = SoakConfig(database_url=url, log_dir=Path(logs), seconds=args.seconds, clients=args.clients,
                            servers=args.servers, tickets=args.tickets)
        print(f"soak: {args.servers} servers, {args.clients} clients, {args.seconds:g} s on {url.split('@')[-1]}",
              file=sys.stderr)
        report = run(config)
        problems = check_invariants(url, report)
    print(json.dumps({**report.figures(), "problems": problems}, indent=2))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
