"""B6: the AI path's overhead, against the same litellm call made directly to the same fake provider."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from itertools import cycle
from typing import Any

from sqlalchemy import func, select

from bench.common import Context, Result, ok
from bench.env import Server
from bench.timing import interleaved
from core.models import Conversation, Message, Ticket
from tests.fakes.openai_server import FakeOpenAIServer, _handler_for

API = "/api/v1"
MODEL = "openai/test-model"
# One answer that both features accept: names read "suggestions", summaries read "summary".
REPLY = json.dumps({
    "suggestions": ["Checkout page rejects the card", "Card declined at checkout", "Payment fails on checkout"],
    "summary": "The customer's card is declined at checkout since Monday; we asked for a screenshot and wait for it.",
})


class _NoDelayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr


class FakeProvider(FakeOpenAIServer):
    """The tests' fake OpenAI server with TCP_NODELAY on its connections.

    It writes headers and body in two sends; with Nagle's algorithm and delayed ACKs that stalls some
    responses by tens of milliseconds at random, which would swamp the overhead being measured.
    """

    def start(self) -> FakeProvider:
        if self._httpd is None:
            self._stopping.clear()
            self._httpd = _NoDelayHTTPServer(("127.0.0.1", 0), _handler_for(self))
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="bench-fake-provider", daemon=True)
            self._thread.start()
        return self


def llm_env(fake: FakeOpenAIServer) -> dict[str, str]:
    """Server settings that send AI requests to the fake provider."""
    return {"DESKPILOT_LLM_MODEL": MODEL, "DESKPILOT_LLM_API_BASE": fake.base_url, "DESKPILOT_LLM_API_KEY": "sk-bench",
            "DESKPILOT_LLM_MAX_RETRIES": "0", "DESKPILOT_LLM_TIMEOUT": "30"}


def _ticket_with_thread(ctx: Context) -> int:
    """A live ticket with a typical thread (6-8 messages)."""
    with ctx.engine.connect() as conn:
        counts = (select(Conversation.ticket_id, func.count(Message.id).label("n"))
                  .join(Message, Message.conversation_id == Conversation.id).group_by(Conversation.ticket_id)
                  .subquery())
        return int(conn.scalar(
            select(Ticket.id).join(counts, counts.c.ticket_id == Ticket.id)
            .where(Ticket.deleted_at.is_(None), Ticket.merged_into_id.is_(None), counts.c.n.between(6, 8))
            .order_by(Ticket.id.desc()).limit(1)) or 0)


def _raw_call(fake: FakeOpenAIServer, request: dict[str, Any]) -> Callable[[], Any]:
    """The provider call the server made, replayed through litellm directly (same settings, same body)."""
    from core.ai.llm import _litellm

    litellm = _litellm()  # configured exactly as the server configures it (offline, quiet, httpx transport)
    kwargs: dict[str, Any] = {
        "model": MODEL, "messages": request["messages"], "api_base": fake.base_url, "api_key": "sk-bench",
        "timeout": 30, "num_retries": 0, "max_retries": 0, "temperature": request.get("temperature"),
        "max_tokens": request.get("max_tokens"),
    }
    if "response_format" in request:
        kwargs["response_format"] = request["response_format"]
    return lambda: litellm.completion(**kwargs)


MODEL_SECONDS = 0.2  # a fast local model's answer time, for the second measurement


def b6_ai_overhead(ctx: Context) -> list[Result]:
    """POST /ai/summary and /ai/name end to end, each against a direct `litellm.completion` of its request.

    Measured twice: with a provider that answers at once (the overhead laid bare) and with one that
    takes MODEL_SECONDS, like a fast local model.
    """
    found: dict[float, dict[str, dict[str, Any]]] = {0.0: {}, MODEL_SECONDS: {}}
    with FakeProvider(default_reply=REPLY) as fake, \
            Server(ctx.url, app_dir=ctx.app_dir, env=llm_env(fake)) as server:
        # AI requests are rate limited per user: the agents take turns.
        clients = [ctx.client(token, base_url=server.base_url) for token in [ctx.accounts.admin, *ctx.accounts.agents]]
        turns = cycle(clients)
        ok(clients[0].put(f"{API}/settings/ai", json={"conversation_data": True, "copilot": True}))
        ticket_id = _ticket_with_thread(ctx)
        for feature, path in (("summary", f"{API}/tickets/{ticket_id}/ai/summary"),
                              ("name", f"{API}/tickets/{ticket_id}/ai/name")):
            ok(next(turns).post(path))  # warm-up: the server imports litellm on its first AI request
            raw = _raw_call(fake, fake.requests[-1].json)
            for delay, rounds in ((0.0, ctx.rounds), (MODEL_SECONDS, max(5, ctx.rounds // 4))):
                def api(p: str = path, d: float = delay) -> Any:
                    fake.enqueue_delay(d)
                    return ok(next(turns).post(p))

                def direct(d: float = delay, call: Callable[[], Any] = raw) -> Any:
                    fake.enqueue_delay(d)
                    return call()

                found[delay][feature] = interleaved(api, direct, rounds=rounds, warmup=2).summary()
        for client in clients:
            client.close()
    results = []
    for delay, per_feature in found.items():
        worst = max(per_feature, key=lambda f: per_feature[f]["ratio"])
        ratio = per_feature[worst]["ratio"]
        overhead = per_feature[worst]["median_ms"] - per_feature[worst]["reference_ms"]
        what = ("AI path vs raw litellm.completion, fake provider answering at once" if not delay else
                f"the same, provider answering in {delay * 1000:.0f} ms")
        results.append(Result("B6", ctx.backend, what, "≤ 1.15×",
                              f"{per_feature[worst]['median_ms']:.1f} ms ({worst}); raw "
                              f"{per_feature[worst]['reference_ms']:.1f} ms; +{overhead:.1f} ms",
                              ratio <= 1.15, ratio, {"features": per_feature, "model_seconds": delay}))
    return results
