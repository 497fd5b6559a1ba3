"""Rate limits: failed sign-ins per account and IP, and AI requests per user (429 with Retry-After)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from core import workspace
from core.errors import RateLimited
from core.ratelimit import AI_REQUESTS_PER_MINUTE, SlidingWindowLimiter
from core.uow import UnitOfWork
from tests.security.session import login_form, sign_in
from tests.support import Agent, LiveServer, ticket_payload


def test_login_is_rate_limited_after_five_failures(server: LiveServer, make_agent: Callable[..., Agent]) -> None:
    make_agent("target@desk.example")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        statuses = []
        for _ in range(6):
            token = login_form(client)
            response = client.post("/login", data={"email": "target@desk.example", "password": "guess",
                                                   "csrf_token": token})
            statuses.append(response.status_code)
        assert statuses == [401] * 5 + [429]
        assert int(response.headers["Retry-After"]) > 0
        # Even the right password waits now: the limit is not a password oracle.
        token = login_form(client)
        right = client.post("/login", data={"email": "target@desk.example", "password": "correct horse battery",
                                             "csrf_token": token})
        assert right.status_code == 429


def test_ai_requests_are_rate_limited_per_user(make_agent: Callable[..., Agent],
                                               uow_factory: Callable[[], UnitOfWork]) -> None:
    with uow_factory() as uow:
        workspace.update_ai_settings(uow=uow, actor=None, changes={"ai_conversation_data": True, "ai_copilot": True})
    busy, other = make_agent("busy@desk.example"), make_agent("other@desk.example")
    tid = busy.post("/tickets", json=ticket_payload(text="The invoice total is wrong, please check order 55.")
                    ).json()["id"]
    paths = [f"/tickets/{tid}/ai/summary", f"/tickets/{tid}/ai/name"]
    statuses = [busy.post(paths[n % 2]).status_code for n in range(AI_REQUESTS_PER_MINUTE)]
    assert 429 not in statuses
    refused = busy.post(paths[0])
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert other.post(paths[0]).status_code == 200  # per user: someone else is not held up


def test_limiter_window_slides() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(limit=2, window=60, clock=lambda: now[0])
    limiter.hit("u")
    now[0] = 30
    limiter.hit("u")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("u")
    assert refused.value.retry_after == 30
    now[0] = 60.5  # the first hit has left the window
    limiter.hit("u")
    with pytest.raises(RateLimited):
        limiter.hit("u")


def test_limiter_memory_is_bounded() -> None:
    limiter = SlidingWindowLimiter(limit=1, window=60, max_keys=3)
    for key in range(10):
        limiter.hit(key)
    limiter.hit(0)  # evicted long ago, so allowed again


def test_web_ai_buttons_share_the_users_ai_budget(server: LiveServer, make_agent: Callable[..., Agent],
                                                  uow_factory: Callable[[], UnitOfWork]) -> None:
    with uow_factory() as uow:
        workspace.update_ai_settings(uow=uow, actor=None, changes={"ai_conversation_data": True, "ai_copilot": True})
    agent = make_agent("clicker@desk.example")
    tid = agent.post("/tickets", json=ticket_payload(text="The invoice total is wrong, please check order 55.")
                     ).json()["id"]
    for _ in range(AI_REQUESTS_PER_MINUTE):
        assert agent.post(f"/tickets/{tid}/ai/name").status_code == 200
    web = sign_in(server.url, "clicker@desk.example")
    try:
        refused = web.post_json(f"/tickets/{tid}/ai/names", {"exclude": []})
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert web.post(f"/tickets/{tid}/summary", {}).status_code == 429
    finally:
        web.client.close()
