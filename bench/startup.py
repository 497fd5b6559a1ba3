"""B7: `deskpilot --help` wall time, and the app's import (which must not import litellm)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import Result
from bench.timing import timed

PROBE = """
import sys, time
started = time.perf_counter()
from core.config import Settings
from plugin.app import create_app
create_app(Settings(database_url="sqlite:///{db}"))
print(round(time.perf_counter() - started, 4), "litellm" in sys.modules)
"""


def b7_startup(app_dir: Path, repeats: int = 7) -> list[Result]:
    """Median of `repeats` runs of each."""
    cli = Path(sys.executable).with_name("deskpilot")
    command = [str(cli), "--help"] if cli.exists() else [sys.executable, "-m", "plugin.cli", "--help"]
    env = {**os.environ, "PYTHONPATH": str(app_dir)}
    help_runs = [timed(lambda: subprocess.run(command, cwd=app_dir, env=env, capture_output=True, check=True))
                 for _ in range(repeats)]
    imports, loaded = [], False
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            out = subprocess.run([sys.executable, "-c", PROBE.format(db=Path(tmp) / "probe.db")], cwd=app_dir,
                                 env=env, capture_output=True, text=True, check=True).stdout.split()
            imports.append(float(out[0]))
            loaded = loaded or out[1] == "True"
    help_s, import_s = statistics.median(help_runs), statistics.median(imports)
    return [
        Result("B7", "-", "deskpilot --help (wall time)", "≤ 0.3 s", f"{help_s:.2f} s", help_s <= 0.3, None,
               {"runs_s": [round(r, 3) for r in help_runs]}),
        Result("B7", "-", "app import and create_app()", "litellm not imported",
               f"{import_s:.2f} s; litellm {'imported' if loaded else 'not imported'}", not loaded, None,
               {"runs_s": imports}),
    ]
