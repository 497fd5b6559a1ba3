"""The role × action matrix: one parametrized test over the whole permission table."""

from __future__ import annotations

import pytest

from core.errors import AIDisabled, PermissionDenied
from core.models import User, WorkspaceSettings
from core.permissions import ACTIONS, Rule, can, require, require_ai

ROLES = {
    "agent": User(is_super_admin=False, account_access=False, delete_tickets=False, is_active=True),
    "account_access": User(is_super_admin=False, account_access=True, delete_tickets=False, is_active=True),
    "delete_tickets": User(is_super_admin=False, account_access=False, delete_tickets=True, is_active=True),
    "super_admin": User(is_super_admin=True, account_access=False, delete_tickets=False, is_active=True),
    "deactivated_admin": User(is_super_admin=True, account_access=True, delete_tickets=True, is_active=False),
}

EXPECTED = {
    Rule.ANY_USER: {"agent", "account_access", "delete_tickets", "super_admin"},
    Rule.ACCOUNT_ACCESS: {"account_access", "super_admin"},
    Rule.DELETE_TICKETS: {"delete_tickets", "super_admin"},
    Rule.SUPER_ADMIN: {"super_admin"},
}


@pytest.mark.parametrize("role", sorted(ROLES))
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_role_may_take_action_only_when_its_rule_allows(role: str, action: str) -> None:
    allowed = role in EXPECTED[ACTIONS[action]]
    assert can(ROLES[role], action) is allowed
    if allowed:
        assert require(ROLES[role], action) is ROLES[role]
    else:
        with pytest.raises(PermissionDenied):
            require(ROLES[role], action)


def test_nobody_signed_in_may_do_anything() -> None:
    assert not any(can(None, action) for action in ACTIONS)


def test_flag_actions_are_the_designed_ones() -> None:
    assert {a for a, r in ACTIONS.items() if r is Rule.DELETE_TICKETS} == {
        "ticket.spam", "ticket.delete", "ticket.restore"}
    assert {a for a, r in ACTIONS.items() if r is Rule.ACCOUNT_ACCESS} >= {"conversation.move"}


def test_refusal_names_the_missing_permission() -> None:
    with pytest.raises(PermissionDenied, match="delete_tickets"):
        require(ROLES["agent"], "ticket.delete")


@pytest.mark.parametrize(
    ("conversation_data", "copilot", "off"),
    [(False, False, ["conversation_data", "copilot"]), (True, False, ["copilot"]),
     (False, True, ["conversation_data"]), (True, True, [])],
)
def test_ai_needs_both_access_settings(conversation_data: bool, copilot: bool, off: list[str]) -> None:
    settings = WorkspaceSettings(ai_conversation_data=conversation_data, ai_copilot=copilot)
    if not off:
        require_ai(settings)
        return
    with pytest.raises(AIDisabled) as info:
        require_ai(settings)
    assert info.value.detail["off"] == off
    assert "copilot" in info.value.message or "customer conversation data" in info.value.message
