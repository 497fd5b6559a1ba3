"""`deskpilot --help` and building the app must not import litellm (about 3 s and 200 MB)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_help_and_app_start_do_not_import_litellm(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from plugin.cli import app\n"
        "from typer.testing import CliRunner\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "from core.config import Settings\n"
        "from plugin.app import create_app\n"
        f"create_app(Settings(database_url='sqlite:///{tmp_path}/x.db'))\n"
        "import core.ai.service, core.ai.llm\n"
        "print('litellm' in sys.modules, 'openai' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False False"
