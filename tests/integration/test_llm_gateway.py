"""The LLM gateway through real litellm: respx on the wire, a real local server, and process isolation.

A 200 whose body is not a chat completion (an HTML error page from a reverse proxy) becomes
`LLMUnavailable`: litellm reports it as an InternalServerError, so it is a provider failure, not the
model's answer (`LLMBadAnswer` is for a well-formed completion whose content is empty or unusable).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from core.ai.llm import (
    ChatModel,
    FakeChatModel,
    LiteLLMModel,
    LLMConfig,
    context_window,
    count_tokens,
    supports_response_schema,
)
from core.errors import LLMBadAnswer, LLMRateLimited, LLMTimeout, LLMUnavailable
from tests.fakes import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
API_BASE = "http://llm.test/v1"
COMPLETIONS_URL = f"{API_BASE}/chat/completions"
KEY = "sk-test-SECRET-4f9a2b"
MESSAGES = [
    {"role": "system", "content": "You name help desk tickets."},
    {"role": "user", "content": "Printer on floor 3 shows 'offline' since Monday."},
]
SCHEMA = {
    "type": "object",
    "properties": {"names": {"type": "array", "items": {"type": "string"}}},
    "required": ["names"],
    "additionalProperties": False,
}


def config(**overrides: Any) -> LLMConfig:
    values: dict[str, Any] = {
        "model": "openai/test-model",
        "api_base": API_BASE,
        "api_key": KEY,
        "timeout": 5.0,
        "max_retries": 0,
    }
    return LLMConfig(**{**values, **overrides})


def model(**overrides: Any) -> LiteLLMModel:
    return LiteLLMModel(config(**overrides), retry_backoff=0)


def completion_json(content: str | None = "Printer offline on floor 3", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-123",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
        **extra,
    }


def error_json(message: str, kind: str = "server_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


@pytest.fixture
def wire() -> Any:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def test_success_returns_text_tokens_and_model(wire: respx.MockRouter) -> None:
    route = wire.post(COMPLETIONS_URL).mock(return_value=httpx.Response(200, json=completion_json()))

    answer = model().complete(MESSAGES)

    assert answer.text == "Printer offline on floor 3"
    assert (answer.tokens_in, answer.tokens_out) == (42, 7)
    assert answer.model == "test-model"
    assert answer.latency_ms >= 0
    assert route.call_count == 1


def test_request_carries_messages_settings_key_and_timeout(wire: respx.MockRouter) -> None:
    route = wire.post(COMPLETIONS_URL).mock(return_value=httpx.Response(200, json=completion_json()))

    model(temperature=0.1, max_output_tokens=123, timeout=7.5).complete(MESSAGES, json_schema=SCHEMA)

    request = route.calls.last.request
    body = json.loads(request.content)
    assert body["model"] == "test-model"  # the provider prefix is litellm's, not the server's
    assert body["messages"] == MESSAGES
    assert body["temperature"] == 0.1
    assert body["max_tokens"] == 123
    assert "response_format" not in body  # litellm does not know test-model honours schemas
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.extensions["timeout"]["read"] == 7.5


def test_response_format_is_sent_when_the_model_supports_schemas(wire: respx.MockRouter) -> None:
    route = wire.post(COMPLETIONS_URL).mock(return_value=httpx.Response(200, json=completion_json('{"names": []}')))

    model(model="openai/gpt-4o-mini").complete(MESSAGES, json_schema=SCHEMA, schema_name="ticket_names")

    body = json.loads(route.calls.last.request.content)
    assert body["model"] == "gpt-4o-mini"
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "ticket_names", "schema": SCHEMA, "strict": True},
    }


def test_429_becomes_rate_limited_with_retry_after_from_the_header_and_is_not_retried(wire: respx.MockRouter) -> None:
    route = wire.post(COMPLETIONS_URL).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "17"}, json=error_json("Slow down", "rate_limit"))
    )

    with pytest.raises(LLMRateLimited) as caught:
        model(max_retries=2).complete(MESSAGES)

    assert caught.value.retry_after == 17
    assert "17 s" in caught.value.message
    assert route.call_count == 1  # the agent is told when to retry; we do not sleep through it


def test_429_without_retry_after_defaults_to_30_seconds(wire: respx.MockRouter) -> None:
    wire.post(COMPLETIONS_URL).mock(return_value=httpx.Response(429, json=error_json("Slow down", "rate_limit")))

    with pytest.raises(LLMRateLimited) as caught:
        model().complete(MESSAGES)

    assert caught.value.retry_after == 30


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_become_unavailable(wire: respx.MockRouter, status: int) -> None:
    wire.post(COMPLETIONS_URL).mock(return_value=httpx.Response(status, json=error_json("Upstream broke")))

    with pytest.raises(LLMUnavailable) as caught:
        model().complete(MESSAGES)

    assert f"status {status}" in caught.value.message
    assert caught.value.detail["status"] == status


def test_a_read_timeout_becomes_llm_timeout(wire: respx.MockRouter) -> None:
    wire.post(COMPLETIONS_URL).mock(side_effect=httpx.ReadTimeout("read timed out"))

    with pytest.raises(LLMTimeout) as caught:
        model(timeout=5.0).complete(MESSAGES)

    assert caught.value.message == "The AI provider did not answer within 5 s."


def test_a_refused_connection_says_where_it_could_not_connect(wire: respx.MockRouter) -> None:
    wire.post(COMPLETIONS_URL).mock(side_effect=httpx.ConnectError("connection refused"))

    with pytest.raises(LLMUnavailable) as caught:
        model().complete(MESSAGES)

    assert caught.value.message == "Could not connect to the AI provider at http://llm.test."


def test_401_becomes_unavailable_without_the_key_anywhere(
    wire: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    # some providers echo the key they rejected
    wire.post(COMPLETIONS_URL).mock(
        return_value=httpx.Response(401, json=error_json(f"Incorrect API key provided: {KEY}", "invalid_request_error"))
    )
    caplog.set_level(logging.DEBUG)

    with pytest.raises(LLMUnavailable) as caught:
        model().complete(MESSAGES)

    error = caught.value
    assert "API key" in error.message and "HTTP 401" in error.message
    assert KEY not in str(error) and KEY not in repr(error) and KEY not in repr(error.detail)
    assert error.__cause__ is None and error.__suppress_context__  # the provider's text is not chained
    assert KEY not in caplog.text
    assert MESSAGES[1]["content"] not in caplog.text


def test_the_config_repr_hides_the_key() -> None:
    assert KEY not in repr(config()) and KEY not in str(config())


def test_400_is_unavailable_and_not_retried(wire: respx.MockRouter) -> None:
    route = wire.post(COMPLETIONS_URL).mock(return_value=httpx.Response(400, json=error_json("bad", "invalid_request")))

    with pytest.raises(LLMUnavailable, match="rejected the request"):
        model(max_retries=2).complete(MESSAGES)

    assert route.call_count == 1


def test_a_non_json_200_is_unavailable(wire: respx.MockRouter) -> None:
    wire.post(COMPLETIONS_URL).mock(return_value=httpx.Response(200, text="<html>Bad gateway</html>"))

    with pytest.raises(LLMUnavailable, match="unreadable response"):
        model().complete(MESSAGES)


@pytest.mark.parametrize("content", [None, "", "   \n"])
def test_an_empty_answer_is_a_bad_answer(wire: respx.MockRouter, content: str | None) -> None:
    wire.post(COMPLETIONS_URL).mock(return_value=httpx.Response(200, json=completion_json(content)))

    with pytest.raises(LLMBadAnswer):
        model().complete(MESSAGES)


def test_two_server_errors_then_success_succeeds_with_two_retries(wire: respx.MockRouter) -> None:
    route = wire.post(COMPLETIONS_URL).mock(
        side_effect=[
            httpx.Response(500, json=error_json("boom")),
            httpx.Response(503, json=error_json("busy")),
            httpx.Response(200, json=completion_json("Third time lucky")),
        ]
    )

    answer = model(max_retries=2).complete(MESSAGES)

    assert answer.text == "Third time lucky"
    assert route.call_count == 3


def test_retries_stop_after_max_retries(wire: respx.MockRouter) -> None:
    route = wire.post(COMPLETIONS_URL).mock(return_value=httpx.Response(503, json=error_json("busy")))

    with pytest.raises(LLMUnavailable):
        model(max_retries=1).complete(MESSAGES)

    assert route.call_count == 2


def test_context_window_and_schema_support_come_from_litellm_offline_data() -> None:
    assert context_window(config(model="openai/gpt-4o-mini")) == 128_000
    assert context_window(config(model="openai/test-model", context_window_fallback=4096)) == 4096
    assert supports_response_schema("openai/gpt-4o-mini") is True
    assert supports_response_schema("openai/test-model") is False


def test_model_lookups_for_self_hosted_providers_make_no_http_calls(wire: respx.MockRouter) -> None:
    # litellm asks huggingface.co (even offline) and the Ollama server for these; we use the fallbacks
    hub = wire.route(host="huggingface.co")
    ollama = wire.route(path="/api/show")

    for name in ["huggingface/meta-llama/Meta-Llama-3-8B-Instruct", "ollama_chat/qwen2.5", "ollama/qwen2.5"]:
        assert context_window(config(model=name, context_window_fallback=2048)) == 2048
        assert supports_response_schema(name) is False

    assert not hub.called and not ollama.called


def test_count_tokens_counts_text_and_messages_offline() -> None:
    assert count_tokens("openai/gpt-4o-mini", "hello world") == 2
    assert count_tokens("openai/test-model", MESSAGES) > count_tokens("openai/test-model", MESSAGES[1]["content"])
    assert count_tokens("huggingface/meta-llama/Meta-Llama-3-8B-Instruct", "hello world") > 0


@pytest.mark.parametrize("model", ["openai/gpt-4o-mini", "openai/test-model", "gpt-3.5-turbo",
                                   "anthropic/claude-3-5-sonnet-20240620", "ollama/llama3"])
def test_the_per_model_text_counter_counts_as_litellm_does(model: str) -> None:
    from core.ai.llm import _litellm, text_counter

    litellm = _litellm()
    long_text = "Der Export schlägt fehl; the CSV has 12,000 rows — ünïcödé and emoji 📦. " * 2000  # > exact limit
    texts = ["", "hello world", "Bonjour, l'export échoue à la ligne 42.\n\n> quoted reply", long_text]
    assert [text_counter(model)(t) for t in texts] == [litellm.token_counter(model=model, text=t) for t in texts]
    assert text_counter(model) is text_counter(model)  # chosen once per model


def test_the_text_counter_tokenizes_a_text_once_while_it_is_recent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names, Regenerate and the summary of one ticket count the same messages: each is tokenized once,
    as long as it is among the last COUNTED_TEXTS texts counted."""
    from core.ai import llm

    llm._litellm()
    import litellm.litellm_core_utils.token_counter as litellm_counter

    real = litellm_counter._get_count_function
    tokenized: list[str] = []

    def watched(model: str) -> Any:
        tokenize = real(model)

        def count(text: str) -> Any:
            tokenized.append(text)
            return tokenize(text)
        return count

    monkeypatch.setattr(litellm_counter, "_get_count_function", watched)
    monkeypatch.setattr(llm, "COUNTED_TEXTS", 3)
    count = llm.text_counter("openai/a-model-only-this-test-counts-with")
    texts = ["alpha beta", "gamma", "delta epsilon zeta"]
    first = [count(t) for t in texts]
    assert [count(t) for t in texts] == first and first[0] > 0
    assert tokenized == texts
    count("eta")  # a fourth text: the least recently counted ("alpha beta") is forgotten
    assert count("alpha beta") == first[0]
    assert tokenized == [*texts, "eta", "alpha beta"]


def test_the_fake_chat_model_shares_the_interface() -> None:
    fake: ChatModel = FakeChatModel()
    assert isinstance(fake, FakeChatModel)
    fake.enqueue("A name")
    fake.enqueue(LLMTimeout("slow"))

    assert fake.complete(MESSAGES, json_schema=SCHEMA).text == "A name"
    with pytest.raises(LLMTimeout):
        fake.complete(MESSAGES)
    assert fake.history == [MESSAGES, MESSAGES] and fake.json_schemas == [SCHEMA, None]
    with pytest.raises(AssertionError, match="no reply queued"):
        fake.complete(MESSAGES)


def test_end_to_end_against_a_real_openai_compatible_server() -> None:
    with FakeOpenAIServer(default_reply=None) as server:
        server.enqueue_error(503, error_json("warming up"))
        server.enqueue_reply("Printer offline on floor 3", usage={"prompt_tokens": 30, "completion_tokens": 6})
        server.enqueue_error(429, error_json("Slow down", "rate_limit"), headers={"Retry-After": "9"})
        gateway = LiteLLMModel(config(api_base=server.base_url, max_retries=1), retry_backoff=0)

        answer = gateway.complete(MESSAGES)
        with pytest.raises(LLMRateLimited) as caught:
            gateway.complete(MESSAGES)

    assert (answer.text, answer.tokens_in, answer.tokens_out) == ("Printer offline on floor 3", 30, 6)
    assert caught.value.retry_after == 9
    assert [r.path for r in server.requests] == ["/v1/chat/completions"] * 3
    first = server.requests[0]
    assert first.json["model"] == "test-model" and first.json["messages"] == MESSAGES
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert server.bytes_received == sum(r.raw_bytes for r in server.requests) > 0


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITELLM_", "OPENAI_", "DISABLE_AIOHTTP"))}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_importing_the_llm_module_does_not_import_litellm(tmp_path: Path) -> None:
    result = run_python("import core.ai.llm, sys; assert 'litellm' not in sys.modules", tmp_path)
    assert result.returncode == 0, result.stderr


def test_litellm_stays_offline_and_ignores_dotenv_files(tmp_path: Path) -> None:
    """One cold process: no `.env` loading, and the only socket litellm opens is the provider's."""
    (tmp_path / ".env").write_text("OPENAI_API_KEY=leak\n")
    result = run_python(
        """
        import json, os, sys, time

        connections = []
        def audit(event, args):
            if event == "socket.connect":
                connections.append(list(args[1])[:2])
            elif event == "socket.getaddrinfo":
                connections.append([args[0], args[1]])
        sys.addaudithook(audit)

        started = time.perf_counter()
        from core.ai.llm import LiteLLMModel, LLMConfig, is_litellm_loaded
        from tests.fakes import FakeOpenAIServer
        imported = time.perf_counter()
        with FakeOpenAIServer(default_reply="Printer offline") as server:
            gateway = LiteLLMModel(LLMConfig(model="openai/test-model", api_base=server.base_url, api_key="k"))
            assert not is_litellm_loaded()
            text = gateway.complete([{"role": "user", "content": "hi"}]).text
            first = time.perf_counter()
            gateway.complete([{"role": "user", "content": "again"}])
            second = time.perf_counter()
            port = server.port
        time.sleep(0.5)  # give any background fetch thread a chance to show itself

        import litellm
        print(json.dumps({
            "text": text,
            "leaked": os.environ.get("OPENAI_API_KEY"),
            "offline": os.environ.get("LITELLM_OFFLINE_MODE"),
            "mode": os.environ.get("LITELLM_MODE"),
            "quiet": litellm.suppress_debug_info,
            "foreign": [c for c in connections if c[:2] not in (["127.0.0.1", port], ["localhost", port])],
            "import_ms": round((imported - started) * 1000),
            "first_complete_ms": round((first - imported) * 1000),
            "second_complete_ms": round((second - first) * 1000),
        }))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(report)  # timings, visible with -s
    assert report["text"] == "Printer offline"
    assert report["leaked"] is None
    assert report["offline"] == "true" and report["mode"] == "PRODUCTION"
    assert report["quiet"] is True
    assert report["foreign"] == []
