"""Load and strictly validate manifest.json (shipped inside the package)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MountSpec(_Strict):
    function: str = Field(pattern=r"^[\w.]+:\w+$")
    prefix: str = Field(pattern=r"^/[\w\-/]*$")


class ApiSpec(_Strict):
    prefix: str
    openapi: str
    health: str


class PermissionSpec(_Strict):
    id: str
    label: str
    description: str


class ActionSpec(_Strict):
    id: str
    requires: Literal["any_user", "account_access", "delete_tickets", "super_admin"]


class AIFeatureSpec(_Strict):
    id: str
    endpoint: str
    requires_settings: list[Literal["conversation_data", "copilot"]]


class SettingSpec(_Strict):
    id: str
    label: str
    type: Literal["boolean", "string", "number"]
    default: bool | str | float | None
    scope: Literal["workspace", "user"]
    editable_by: Literal["super_admin", "any_user"]


class UISpec(_Strict):
    ticket_header_actions: list[str]
    sidebar_cards: list[str]


class Manifest(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9\-]*$")
    name: str
    version: str = Field(pattern=r"^\d+\.\d+\.\d+([.-]?\w+)?$")
    description: str
    entrypoint: str = Field(pattern=r"^[\w.]+:\w+$")
    mount: MountSpec
    api: ApiSpec
    permissions: list[PermissionSpec]
    actions: list[ActionSpec]
    ai_features: list[AIFeatureSpec]
    settings: list[SettingSpec]
    ui: UISpec
    webhooks: list[str]

    @property
    def mount_prefix(self) -> str:
        return self.mount.prefix


def parse_manifest(text: str) -> Manifest:
    """Validate manifest text; unknown or missing keys are errors."""
    return Manifest.model_validate(json.loads(text))


@lru_cache(maxsize=1)
def load_manifest() -> Manifest:
    """The manifest shipped with the installed package."""
    return parse_manifest(resources.files("plugin").joinpath("manifest.json").read_text(encoding="utf-8"))
