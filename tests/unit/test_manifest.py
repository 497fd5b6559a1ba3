"""manifest.json is validated strictly and cannot drift from the code."""

from __future__ import annotations

import importlib
import json
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.permissions import ACTIONS
from plugin.manifest import load_manifest, parse_manifest

ROOT = Path(__file__).resolve().parents[2]


def test_manifest_version_equals_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert load_manifest().version == pyproject["project"]["version"]


def test_manifest_actions_equal_the_permission_table() -> None:
    manifest = load_manifest()
    declared = {a.id: a.requires for a in manifest.actions}
    assert declared == {name: rule.name.lower() for name, rule in ACTIONS.items()}


def test_manifest_entrypoint_and_mount_import() -> None:
    manifest = load_manifest()
    for target in (manifest.entrypoint, manifest.mount.function):
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr))


def test_manifest_rejects_unknown_keys() -> None:
    data = json.loads((ROOT / "manifest.json").read_text())
    data["surprise"] = True
    with pytest.raises(ValidationError):
        parse_manifest(json.dumps(data))


def test_manifest_rejects_unknown_permission_rule() -> None:
    data = json.loads((ROOT / "manifest.json").read_text())
    data["actions"][0]["requires"] = "everyone"
    with pytest.raises(ValidationError):
        parse_manifest(json.dumps(data))


def test_packaged_manifest_is_the_repository_one() -> None:
    assert (ROOT / "plugin" / "manifest.json").read_text() == (ROOT / "manifest.json").read_text()
