"""The manifest's UI extension points agree with what the web workspace renders."""

from __future__ import annotations

from pathlib import Path

from core.permissions import ACTIONS
from plugin.manifest import load_manifest
from plugin.web.actions import BULK_ACTIONS, CONVERSATION_ACTIONS, TICKET_ACTIONS, TRASH_ACTIONS

TEMPLATES = Path(__file__).resolve().parents[2] / "plugin" / "templates"


def test_manifest_ticket_header_actions_equal_the_actions_menu() -> None:
    """Same keys, same order: the Actions menu is what the manifest declares."""
    assert load_manifest().ui.ticket_header_actions == [a.key for a in TICKET_ACTIONS]


def test_every_ui_action_names_a_permission_and_an_existing_dialog() -> None:
    for action in [*TICKET_ACTIONS, *TRASH_ACTIONS, *BULK_ACTIONS, *CONVERSATION_ACTIONS]:
        assert action.permission in ACTIONS, action.key
        if action.dialog:
            assert (TEMPLATES / action.dialog).is_file(), action.dialog
