"""AI through the real litellm stack, with only the provider's wire mocked (respx) — both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import Engine, select

from core import tickets
from core.ai import service
from core.config import Settings
from core.db import make_session_factory
from core.errors import AIDisabled, LLMBadAnswer, LLMRateLimited, LLMTimeout, LLMUnavailable
from core.models import AuditEvent, Ticket, User
from core.schemas import MessageIn, TicketCreate
from core.uow import UnitOfWork
from core.workspace import update_ai_settings
from tests.support import Clock, create_user

API = "http://llm.test/v1"
MODEL = "openai/test-model"
PII_TEXT = ("Call me on +44 20 7946 0958 or mail jo.bloggs@home.example. Card 4111 1111 1111 1111, "
            "IBAN GB82 WEST 1234 5698 7654 32. The export to CSV fails with error E42.")


def completion(content: str, prompt_tokens: int = 120, completion_tokens: int = 30) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


@pytest.fixture
def ai(engine: Engine, db_url: str, clock: Clock, uow_factory: Callable[[], UnitOfWork]) -> Any:
    """A UnitOfWork factory with a provider model configured, a user, and a ticket with a conversation."""

    class Ctx:
        def __init__(self) -> None:
            self.user, _ = create_user(uow_factory, "ai@desk.example", super_admin=True)
            self.settings = Settings(database_url=db_url, llm_model=MODEL, llm_api_base=API, llm_max_retries=0,
                                     llm_context_window=4096)
            with self.uow() as uow:
                t = tickets.create_ticket(uow=uow, actor=None, data=TicketCreate(
                    name="Export broken", channel="email",
                    messages=[MessageIn(direction="incoming", sender_name="Jo", text=PII_TEXT, subject="CSV export")]))
                self.ticket_id = t.id

        def uow(self, **overrides: Any) -> UnitOfWork:
            settings = self.settings.model_copy(update=overrides)
            return UnitOfWork(make_session_factory(engine), settings=settings, clock=clock)

        def actor(self, uow: UnitOfWork) -> User:
            user = uow.session.get(User, self.user.id)
            assert user is not None
            return user

        def enable(self, **changes: Any) -> None:
            with self.uow() as uow:
                update_ai_settings(uow=uow, actor=None, changes={"ai_conversation_data": True, "ai_copilot": True,
                                                                   **changes})

        def names(self, exclude: tuple[str, ...] = ()) -> service.NameSuggestions:
            with self.uow() as uow:
                return service.suggest_names(uow=uow, actor=self.actor(uow), ticket_id=self.ticket_id,
                                             exclude=exclude)

        def summary(self) -> dict[str, Any]:
            with self.uow() as uow:
                t = service.summarize_ticket(uow=uow, actor=self.actor(uow), ticket_id=self.ticket_id)
                return {"text": t.summary_text, "model": t.summary_model, "covers": t.summary_covers_message_id,
                        "version": t.version}

        def audits(self, action: str) -> list[dict[str, Any]]:
            with self.uow() as uow:
                return list(uow.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == action)
                                                .order_by(AuditEvent.id)))

    return Ctx()


@pytest.mark.parametrize("on", [{}, {"ai_conversation_data": True}, {"ai_copilot": True}])
def test_ai_off_sends_nothing_to_the_provider(ai: Any, on: dict[str, bool]) -> None:
    if on:
        with ai.uow() as uow:
            update_ai_settings(uow=uow, actor=None, changes=on)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(f"{API}/chat/completions").mock(return_value=httpx.Response(200, json=completion("{}")))
        with pytest.raises(AIDisabled) as info:
            ai.names()
        with pytest.raises(AIDisabled):
            ai.summary()
    assert route.call_count == 0
    assert set(info.value.detail["off"]) == {"conversation_data", "copilot"} - {k[3:] for k in on}


def test_names_through_litellm_are_validated_and_audited(ai: Any) -> None:
    ai.enable()
    answer = json.dumps({"suggestions": ["CSV export fails with E42", "**Export error** E42", "\"CSV export bug\""]})
    with respx.mock as mock:
        route = mock.post(f"{API}/chat/completions").mock(return_value=httpx.Response(200, json=completion(answer)))
        result = ai.names(exclude=("Old name",))
    assert result.model == "test-model", "the model the provider says answered"
    assert result.suggestions == ["CSV export fails with E42", "Export error E42", "CSV export bug"]
    body = json.loads(route.calls.last.request.content)
    assert body["model"] == "test-model"
    system, user = body["messages"][0]["content"], body["messages"][1]["content"]
    assert "Old name" in system, "exclude is passed to the model"
    assert "<conversation>" in user and "CSV export" in user
    audit = ai.audits("ai.name")[-1]
    assert audit["outcome"] == "ok" and audit["tokens_in"] == 120 and audit["tokens_out"] == 30
    assert audit["model"] == "test-model" and "E42" not in json.dumps(audit), "no conversation text in the audit"


def test_pii_is_redacted_in_the_bytes_sent(ai: Any) -> None:
    ai.enable()
    with respx.mock as mock:
        route = mock.post(f"{API}/chat/completions").mock(
            return_value=httpx.Response(200, json=completion(json.dumps({"summary": "Export fails with E42."}))))
        ai.summary()
    sent = route.calls.last.request.content.decode()
    for secret in ("7946 0958", "jo.bloggs@home.example", "4111 1111 1111 1111", "GB82 WEST"):
        assert secret not in sent
    assert "E42" in sent and "[email]" in sent and "[card]" in sent
    ai.enable(ai_redact_pii=False)
    with respx.mock as mock:
        route = mock.post(f"{API}/chat/completions").mock(
            return_value=httpx.Response(200, json=completion(json.dumps({"summary": "Export fails with E42."}))))
        ai.summary()
    assert "jo.bloggs@home.example" in route.calls.last.request.content.decode()


def test_summary_is_stored_with_the_message_it_covers(ai: Any) -> None:
    ai.enable()
    with respx.mock as mock:
        mock.post(f"{API}/chat/completions").mock(return_value=httpx.Response(
            200, json=completion(json.dumps({"summary": "Customer needs CSV export fixed. Pending: our fix."}))))
        ticket = ai.summary()
    assert ticket["text"] == "Customer needs CSV export fixed. Pending: our fix."
    assert ticket["model"] == "test-model" and ticket["covers"] is not None
    assert ticket["version"] == 1, "storing a summary does not bump the ticket version"


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(200, json=completion("")), (LLMBadAnswer, LLMUnavailable)),
        (httpx.Response(200, json=completion("{}")), (LLMBadAnswer,)),
        (httpx.Response(200, content=b"<html>gateway</html>"), (LLMUnavailable, LLMBadAnswer)),
        (httpx.Response(500, json={"error": {"message": "boom"}}), (LLMUnavailable,)),
        (httpx.Response(503, json={"error": {"message": "overloaded"}}), (LLMUnavailable,)),
        (httpx.Response(401, json={"error": {"message": "bad key"}}), (LLMUnavailable,)),
        (httpx.Response(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "7"}),
         (LLMRateLimited,)),
        (httpx.ReadTimeout("timed out"), (LLMTimeout,)),
    ],
)
def test_provider_failure_is_a_clear_error_and_nothing_is_stored(ai: Any, response: Any, error: tuple) -> None:
    ai.enable()
    with respx.mock as mock:
        route = mock.post(f"{API}/chat/completions")
        if isinstance(response, Exception):
            route.mock(side_effect=response)
        else:
            route.mock(return_value=response)
        with pytest.raises(error) as info:
            ai.names()
        with pytest.raises(error):
            ai.summary()
    if isinstance(info.value, LLMRateLimited):
        assert info.value.retry_after == 7
    with ai.uow() as uow:
        ticket = uow.session.get(Ticket, ai.ticket_id)
        assert ticket.summary_text is None and ticket.name == "Export broken"
    assert ai.audits("ai.summary")[-1]["outcome"] == "error"


def test_long_thread_requests_stay_within_the_token_budget(ai: Any) -> None:
    from core.ai.llm import count_tokens

    ai.enable()
    with ai.uow() as uow:
        conv = uow.session.get(Ticket, ai.ticket_id).conversations[0]
        actor = ai.actor(uow)
        for i in range(2000):
            tickets.add_message_row(uow, conv, MessageIn(
                direction="incoming" if i % 2 else "outgoing", sender_name="Jo" if i % 2 else "Agent",
                text=f"Message {i}: the export still fails on row {i * 7} with a timeout after 30 seconds."),
                author=actor if i % 2 == 0 else None)
        uow.commit()
    sizes: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sizes.append(count_tokens(MODEL, body["messages"]))
        return httpx.Response(200, json=completion(json.dumps({"summary": f"Part {len(sizes)} summarised here."})))

    with respx.mock as mock:
        mock.post(f"{API}/chat/completions").mock(side_effect=answer)
        assert ai.summary()["text"]
        first = len(sizes)
        names = json.dumps({"suggestions": ["Export timeout", "CSV rows fail", "Export fails after 30 s"]})
        mock.post(f"{API}/chat/completions").mock(return_value=httpx.Response(200, json=completion(names)))
        ai.names()
    assert first > 1, "a 2,000-message thread is summarised in chunks"
    budget = 4096 - 600
    assert max(sizes) <= budget, (max(sizes), budget)


def test_a_thread_longer_in_bytes_than_the_budget_is_sent_whole_when_its_tokens_fit(ai: Any) -> None:
    """Past the byte bound (a token is at least a byte) the messages are counted, not dropped."""
    from core.ai.llm import text_counter

    ai.enable()
    words = "the export fails again " * 20  # ~460 bytes, far fewer tokens
    with ai.uow() as uow:
        conv = uow.session.get(Ticket, ai.ticket_id).conversations[0]
        for i in range(12):
            tickets.add_message_row(uow, conv, MessageIn(direction="incoming", sender_name="Jo",
                                                         text=f"Note {i}: {words}"), author=None)
        uow.commit()
    texts = [f"Note {i}: {words}" for i in range(12)]
    budget = 4096 - 600 - service.PROMPT_MARGIN_TOKENS
    assert sum(len(t.encode()) for t in texts) > budget > sum(text_counter(MODEL)(t) for t in texts) + 12 * 20
    prompts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        prompts.append(json.loads(request.content)["messages"][1]["content"])
        reply = {"summary": "Exports keep failing.", "suggestions": ["Export fails", "Exports failing", "CSV export"]}
        return httpx.Response(200, json=completion(json.dumps(reply)))

    with respx.mock as mock:
        mock.post(f"{API}/chat/completions").mock(side_effect=answer)
        ai.names()
        ai.summary()
    assert len(prompts) == 2  # one request each: no chunks
    for prompt in prompts:
        assert all(f"Note {i}:" in prompt for i in range(12)), prompt[:300]
        assert "left out" not in prompt
