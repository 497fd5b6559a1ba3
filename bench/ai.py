"""B6: the AI path's overhead, against the same litellm calls made directly to the same fake provider.

The target is judged with a provider that takes MODEL_SECONDS per answer; with one that answers at
once the ratio would compare deskpilot's whole request (HTTP, sign-in, access checks, reading the
thread, the audit line) with litellm's client work alone (~3 ms, while /healthz by itself takes
~1.2 ms), so those rows give the absolute overhead and carry no verdict.
"""

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
from bench.env import Server, ai_users
from bench.timing import interleaved
from core.loadgen import long_tickets
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

    latency = 0.0  # seconds every answer takes, like a model generating it

    def _next(self) -> tuple[float, Any]:
        delay, item = super()._next()
        return delay + self.latency, item

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


def _raw_calls(fake: FakeOpenAIServer, requests: list[dict[str, Any]]) -> Callable[[], Any]:
    """The provider calls the server made for one request, replayed through litellm directly."""
    from core.ai.llm import _litellm

    litellm = _litellm()  # configured exactly as the server configures it (offline, quiet, httpx transport)
    calls = []
    for request in requests:
        kwargs: dict[str, Any] = {
            "model": MODEL, "messages": request["messages"], "api_base": fake.base_url, "api_key": "sk-bench",
            "timeout": 30, "num_retries": 0, "max_retries": 0, "temperature": request.get("temperature"),
            "max_tokens": request.get("max_tokens"),
        }
        if "response_format" in request:
            kwargs["response_format"] = request["response_format"]
        calls.append(kwargs)
    return lambda: [litellm.completion(**kwargs) for kwargs in calls]


MODEL_SECONDS = 0.2  # a fast model's answer time; hosted and local models take longer for these answers
AI_USERS = 60  # AI requests are rate limited per user (20 a minute): the samples take turns


def b6_ai_overhead(ctx: Context) -> list[Result]:
    """POST /ai/name and /ai/summary end to end, each against direct `litellm.completion` calls of the
    requests it made: on a typical ticket and on one of 200 messages (budgeted prompts, the summary
    in chunks), with a provider taking MODEL_SECONDS per answer (the target) and one answering at once.
    """
    tickets = {"typical": _ticket_with_thread(ctx),
               "200 messages": long_tickets(engine=ctx.engine, count=1, messages=200, seed=ctx.seed + 6)[0]}
    found: dict[tuple[str, float], dict[str, dict[str, Any]]] = {}
    fake = FakeProvider(default_reply=REPLY).start()
    with fake, Server(ctx.url, app_dir=ctx.app_dir, env=llm_env(fake)) as server:
        clients = [ctx.client(token, base_url=server.base_url) for token in ai_users(ctx.url, AI_USERS)]
        turns = cycle(clients)
        ok(ctx.client(base_url=server.base_url).put(f"{API}/settings/ai", json={"conversation_data": True,
                                                                                "copilot": True}))
        for thread, ticket_id in tickets.items():
            for feature in ("name", "summary"):
                path = f"{API}/tickets/{ticket_id}/ai/{feature}"

                def api(p: str = path) -> Any:
                    return ok(next(turns).post(p))

                fake.latency = 0.0
                seen = len(fake.requests)
                api()  # warm-up: the server imports litellm on its first AI request
                made = [request.json for request in fake.requests[seen:]]
                raw = _raw_calls(fake, made)
                for latency, rounds in ((0.0, ctx.rounds), (MODEL_SECONDS, max(5, ctx.rounds // 4))):
                    fake.latency = latency
                    sampled = interleaved(api, raw, rounds=rounds, warmup=2).summary()
                    found.setdefault((thread, latency), {})[feature] = {**sampled, "provider_calls": len(made)}
        for client in clients:
            client.close()
    return [_result(ctx, thread, latency, per_feature) for (thread, latency), per_feature in found.items()]


def _result(ctx: Context, thread: str, latency: float, per_feature: dict[str, dict[str, Any]]) -> Result:
    worst = max(per_feature, key=lambda f: per_feature[f]["ratio"])
    figures = per_feature[worst]
    overhead = figures["median_ms"] - figures["reference_ms"]
    measured = (f"{figures['median_ms']:.1f} ms ({worst}); raw {figures['reference_ms']:.1f} ms; "
                f"+{overhead:.1f} ms")
    data = {"features": per_feature, "model_seconds": latency, "ticket": thread}
    if latency:
        return Result("B6", ctx.backend, f"AI path vs raw litellm.completion, {thread} ticket, provider answering "
                      f"in {latency * 1000:.0f} ms", "≤ 1.15×", measured, figures["ratio"] <= 1.15, figures["ratio"],
                      data)
    return Result("B6", ctx.backend, f"the same, {thread} ticket, provider answering at once (no target: "
                  "deskpilot's own time in ms)", "—", measured, None, figures["ratio"], data)
