"""The wheel installs on its own and carries the CLI, the manifest and the prompt templates."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_installs_and_ships_manifest_and_prompts(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, cwd=tmp_path)
    wheel = next(dist.glob("deskpilot-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    # Dependencies come from the project's venv (read-only, via a path entry); the project itself only
    # from the wheel: the editable-install hook in that venv is a .pth file, which a path entry does not run.
    Path(site, "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # pip's --python installs into the new venv as if run there: package files and the console script.
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "--quiet",
                    str(wheel)], check=True, capture_output=True)
    work = tmp_path / "elsewhere"
    work.mkdir()
    probe = (
        "import core, plugin, prompts, json; from importlib import resources;"
        "from plugin.manifest import load_manifest; m = load_manifest();"
        "names = sorted(p.name for p in resources.files('prompts').iterdir() if p.name.endswith('.j2'));"
        "t = resources.files('prompts').joinpath(names[0]).read_text() if names else '';"
        "mig = resources.files('core').joinpath('migrations/versions').iterdir();"
        "print(json.dumps({'core': core.__file__, 'version': m.version, 'prompts': names, 'template': len(t),"
        " 'migrations': sorted(p.name for p in mig if p.name.endswith('.py'))}))"
    )
    out = subprocess.run([str(py), "-c", probe], check=True, capture_output=True, text=True, cwd=work).stdout
    import json

    info = json.loads(out)
    assert info["core"].startswith(site), "core must come from the installed wheel, not the checkout"
    assert info["version"] == "0.1.0"
    assert info["prompts"] and info["template"] > 0
    assert info["migrations"]
    help_out = subprocess.run([str(env_dir / "bin" / "deskpilot"), "--help"], check=True, capture_output=True,
                              text=True, cwd=work)
    assert "serve" in help_out.stdout and "import" in help_out.stdout
    db = work / "wheel.db"
    init = subprocess.run([str(env_dir / "bin" / "deskpilot"), "init"], capture_output=True, text=True, cwd=work,
                          env={"DESKPILOT_DATABASE_URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin"})
    assert init.returncode == 0, init.stderr
    assert db.exists()
