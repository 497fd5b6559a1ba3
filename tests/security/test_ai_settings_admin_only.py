"""Only super admins can point the model at another server (the LLM API base), over the API or the web UI."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core import workspace
from core.errors import PermissionDenied, ValidationFailed
from core.models import User
from core.uow import UnitOfWork
from tests.security.conftest import AIDesk
from tests.support import create_user

ELSEWHERE = "http://127.0.0.1:9/v1"  # loopback, unused: where an attacker would point the model


def _api_base(desk: AIDesk) -> str | None:
    with desk.uow() as uow:
        return workspace.load_settings(uow).llm_api_base


def test_only_super_admins_change_the_llm_api_base(ai_desk: AIDesk, uow_factory: Callable[[], UnitOfWork]) -> None:
    _, token = create_user(uow_factory, "power@desk.example", permissions=("delete_tickets", "account_access"))
    ai_desk.tokens["power@desk.example"] = token
    for email in ("agent@desk.example", "power@desk.example"):
        api = ai_desk.api(email)
        assert api.put("/settings/ai", json={"api_base": ELSEWHERE}).status_code == 403
        assert api.put("/settings/ai", json={"model": "openai/other", "api_base": ELSEWHERE}).status_code == 403
        assert api.get("/settings/ai").status_code == 403  # not even readable
        web = ai_desk.web(email)
        refused = web.post("/admin/ai", {"api_base": ELSEWHERE, "model": "openai/other", "copilot": "on"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
    assert _api_base(ai_desk) is None

    admin = ai_desk.api("admin@desk.example")
    changed = admin.put("/settings/ai", json={"api_base": ELSEWHERE})
    assert changed.status_code == 200 and changed.json()["api_base"] == ELSEWHERE
    assert _api_base(ai_desk) == ELSEWHERE
    web = ai_desk.web("admin@desk.example")
    assert web.post("/admin/ai", {"api_base": "http://127.0.0.1:10/v1"}, json_errors=False).status_code == 303
    assert _api_base(ai_desk) == "http://127.0.0.1:10/v1"


@pytest.mark.parametrize("base", ["file:///etc/passwd", "gopher://127.0.0.1/", "javascript:alert(1)", "127.0.0.1:9"])
def test_api_base_must_be_an_http_url(base: str, ai_desk: AIDesk) -> None:
    response = ai_desk.api("admin@desk.example").put("/settings/ai", json={"api_base": base})
    assert response.status_code == 422
    assert _api_base(ai_desk) is None


def test_core_refuses_non_admins_whoever_calls_it(uow_factory: Callable[[], UnitOfWork]) -> None:
    user, _ = create_user(uow_factory, "agent2@desk.example", permissions=("delete_tickets", "account_access"))
    with uow_factory() as uow:
        actor = uow.session.get(User, user.id)
        with pytest.raises(PermissionDenied):
            workspace.update_ai_settings(uow=uow, actor=actor, changes={"llm_api_base": ELSEWHERE})
    with uow_factory() as uow, pytest.raises(ValidationFailed):
        workspace.update_ai_settings(uow=uow, actor=None, changes={"llm_api_base": "ftp://x"})
