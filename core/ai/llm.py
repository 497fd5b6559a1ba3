"""The one module that talks to LLM providers: litellm behind a small `ChatModel` interface.

litellm is imported lazily (about 3 s and 200 MB) so the CLI and the app start fast; nothing else
in the project imports it. Errors leave this module as `core.errors.LLMError` subclasses.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from core.errors import LLMBadAnswer, LLMError, LLMRateLimited, LLMTimeout, LLMUnavailable

if TYPE_CHECKING:
    from types import ModuleType

logger = logging.getLogger(__name__)

# Set before the first import: no cost-map or tokenizer downloads, no `.env` loading, and httpx
# (not aiohttp) for async calls so respx sees every request.
_LITELLM_ENV = {
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_MODE": "PRODUCTION",
    "DISABLE_AIOHTTP_TRANSPORT": "True",
}
# Providers whose model-info lookups make HTTP calls even in offline mode (huggingface.co, or the
# Ollama/Lemonade server, ignoring our timeout): for these we use the configured fallbacks instead.
_LIVE_LOOKUP_PROVIDERS = frozenset({"huggingface", "ollama", "ollama_chat", "lemonade"})
DEFAULT_RETRY_AFTER = 30
_LITELLM_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy")
_litellm_configured = False
_litellm_lock = threading.Lock()


@dataclass(frozen=True)
class LLMConfig:
    """How to reach one model; `api_key` is kept out of repr and logs."""

    model: str
    api_base: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    max_retries: int = 2
    temperature: float = 0.3
    context_window_fallback: int = 8192
    max_output_tokens: int = 600


@dataclass(frozen=True)
class Completion:
    """A model's answer with what the audit log needs."""

    text: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: int


class ChatModel(Protocol):
    """Anything that turns chat messages into a `Completion` (a provider, or a fake in tests)."""

    name: str

    def complete(
        self, messages: list[dict[str, str]], *, json_schema: dict | None = None, schema_name: str = "answer"
    ) -> Completion: ...


def is_litellm_loaded() -> bool:
    """Whether litellm has been imported in this process."""
    return "litellm" in sys.modules


def _litellm() -> ModuleType:
    """Import litellm with offline, production and quiet settings applied first."""
    global _litellm_configured
    with _litellm_lock:
        if not _litellm_configured:
            for name, value in _LITELLM_ENV.items():
                os.environ.setdefault(name, value)
            httpx_level = logging.getLogger("httpx").level
            import litellm

            litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner on stdout
            if hasattr(litellm, "telemetry"):
                litellm.telemetry = False
            # litellm's import silences the host's httpx logger; give it back.
            logging.getLogger("httpx").setLevel(httpx_level)
            if "LITELLM_LOG" not in os.environ:
                # litellm logs whole prompts at DEBUG (on its own stderr handler too): keep ticket text out
                for name in _LITELLM_LOGGERS:
                    logging.getLogger(name).setLevel(logging.WARNING)
            _litellm_configured = True
    import litellm

    return litellm


class LiteLLMModel:
    """A `ChatModel` backed by `litellm.completion` (any provider litellm supports)."""

    def __init__(self, config: LLMConfig, *, retry_backoff: float = 0.5) -> None:
        self.config = config
        self.name = config.model
        self.retry_backoff = retry_backoff

    def complete(
        self, messages: list[dict[str, str]], *, json_schema: dict | None = None, schema_name: str = "answer"
    ) -> Completion:
        """Ask the model once (plus `max_retries` retries on timeouts, connection errors and 5xx)."""
        request = self._request(messages, json_schema, schema_name)
        started = time.perf_counter()
        response = self._call_with_retries(request)
        latency_ms = round((time.perf_counter() - started) * 1000)
        return _completion(response, fallback_model=self.name, latency_ms=latency_ms)

    def _call_with_retries(self, request: dict[str, Any]) -> Any:
        litellm = _litellm()
        attempt = 0
        while True:
            try:
                return litellm.completion(**request)
            except Exception as exc:
                logger.warning(
                    "LLM call failed: model=%s error=%s status=%s attempt=%d",
                    self.name,
                    type(exc).__name__,
                    getattr(exc, "status_code", None),
                    attempt + 1,
                )
                if attempt >= self.config.max_retries or not _is_retryable(exc):
                    # `from None`: provider messages in the chain may echo (part of) the key.
                    raise _domain_error(exc, self.config) from None
            time.sleep(self.retry_backoff * 2**attempt)
            attempt += 1

    def _request(self, messages: list[dict[str, str]], json_schema: dict | None, schema_name: str) -> dict[str, Any]:
        config = self.config
        request: dict[str, Any] = {
            "model": config.model,
            "messages": messages,
            "api_base": config.api_base,
            "api_key": config.api_key,
            "timeout": config.timeout,
            # We retry ourselves: litellm's own retries need the optional `tenacity` package (without
            # it every exhausted retry becomes a bare `Exception`) and sleep through Retry-After.
            "num_retries": 0,
            "max_retries": 0,
            "temperature": config.temperature,
            "max_tokens": config.max_output_tokens,
        }
        if json_schema is not None and supports_response_schema(config.model):
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": json_schema, "strict": True},
            }
        return request


def _completion(response: Any, *, fallback_model: str, latency_ms: int) -> Completion:
    """Turn a litellm `ModelResponse` into a `Completion`, refusing an empty answer."""
    choices = getattr(response, "choices", None) or []
    text = (choices[0].message.content or "") if choices else ""
    if not text.strip():
        finish = getattr(choices[0], "finish_reason", None) if choices else None
        raise LLMBadAnswer(f"The AI provider returned an empty answer (finish reason: {finish or 'none'}).")
    usage = getattr(response, "usage", None)
    return Completion(
        text=text,
        model=getattr(response, "model", None) or fallback_model,
        tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
        tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
        latency_ms=latency_ms,
    )


def _is_retryable(exc: Exception) -> bool:
    litellm = _litellm()
    if isinstance(exc, litellm.Timeout | litellm.APIConnectionError):
        return True
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and status >= 500


def _domain_error(exc: Exception, config: LLMConfig) -> LLMError:
    """Map a litellm/openai exception to a domain error whose message an agent can read."""
    litellm = _litellm()
    status = getattr(exc, "status_code", None)
    if isinstance(exc, litellm.Timeout):
        return LLMTimeout(f"The AI provider did not answer within {config.timeout:g} s.")
    if isinstance(exc, litellm.RateLimitError):
        retry_after = _retry_after(exc)
        return LLMRateLimited(
            f"The AI provider is rate limiting requests; try again in {retry_after} s.", retry_after=retry_after
        )
    if isinstance(exc, litellm.ContextWindowExceededError):
        return LLMUnavailable("The conversation is too long for the model's context window.", status=status)
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        return LLMUnavailable(
            f"The AI provider refused the configured API key (HTTP {status}); an administrator should check "
            "the AI settings.",
            status=status,
        )
    if isinstance(exc, litellm.NotFoundError):
        return LLMUnavailable(
            _without_key(
                f"The AI provider does not know the model {config.model!r} (HTTP 404); check the model name "
                "and base URL.",
                config,
            ),
            status=status,
        )
    if isinstance(exc, litellm.BadRequestError):
        return LLMUnavailable(f"The AI provider rejected the request (HTTP {status}).", status=status)
    if isinstance(exc, litellm.APIConnectionError) or _caused_by_connection_failure(exc):
        return LLMUnavailable(
            _without_key(f"Could not connect to the AI provider at {_endpoint(config)}.", config), status=None
        )
    if isinstance(status, int) and status >= 500:
        # litellm also reports a 200 whose body is not a chat completion (HTML, no `choices`) as a 500.
        return LLMUnavailable(
            f"The AI provider returned an error or an unreadable response (status {status}); try again later.",
            status=status,
        )
    return LLMUnavailable(f"The AI provider call failed ({type(exc).__name__}).", status=status)


def _without_key(message: str, config: LLMConfig) -> str:
    """Belt and braces for messages that quote configuration: never echo the API key."""
    return message.replace(config.api_key, "***") if config.api_key else message


def _caused_by_connection_failure(exc: BaseException) -> bool:
    """A refused connection surfaces as InternalServerError; find the connect error underneath."""
    link: BaseException | None = exc
    for _ in range(10):
        if link is None:
            return False
        if type(link).__name__ in {"APIConnectionError", "ConnectError", "ConnectTimeout"}:
            return True
        link = link.__cause__ or link.__context__
    return False


def _endpoint(config: LLMConfig) -> str:
    """The provider's scheme://host:port only: a base URL may carry credentials in its path or query."""
    if not config.api_base:
        return "its default address"
    try:
        parts = urlsplit(config.api_base)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured base URL"
    return f"{parts.scheme}://{parts.hostname or '?'}{port}"


def _retry_after(exc: Exception) -> int:
    """Seconds from the 429 response's Retry-After (or retry-after-ms) header, else the default."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or getattr(exc, "headers", None) or {}
    try:
        if (millis := headers.get("retry-after-ms")) is not None:
            return max(1, math.ceil(float(millis) / 1000))
        value = headers.get("retry-after")
        if value is None:
            return DEFAULT_RETRY_AFTER
        try:
            return max(1, math.ceil(float(value)))
        except ValueError:
            from email.utils import parsedate_to_datetime  # rare (an HTTP date); keeps the import light

            return max(1, math.ceil(parsedate_to_datetime(value).timestamp() - time.time()))
    except (TypeError, ValueError, OverflowError):
        return DEFAULT_RETRY_AFTER


def _provider(model: str) -> str | None:
    try:
        return _litellm().get_llm_provider(model=model)[1]
    except Exception:
        return None


@lru_cache(maxsize=64)
def supports_response_schema(model: str) -> bool:
    """Whether litellm knows the model honours a strict JSON schema (`response_format`)."""
    if _provider(model) in _LIVE_LOOKUP_PROVIDERS:
        return False
    try:
        return bool(_litellm().supports_response_schema(model=model))
    except Exception:
        return False


@lru_cache(maxsize=64)
def _known_context_window(model: str) -> int | None:
    if _provider(model) in _LIVE_LOOKUP_PROVIDERS:
        return None
    try:
        window = _litellm().get_model_info(model=model).get("max_input_tokens")
    except Exception:
        return None
    return window if isinstance(window, int) and window > 0 else None


def context_window(config: LLMConfig) -> int:
    """The model's input context size in tokens, or `config.context_window_fallback` if unknown."""
    return _known_context_window(config.model) or config.context_window_fallback


def count_tokens(model: str, text: str | list[dict]) -> int:
    """Tokens in a text or a message list for `model`, estimated offline (never touches the network)."""
    if isinstance(text, str):
        return text_counter(model)(text)
    try:
        return int(_litellm().token_counter(model=model, messages=text))
    except Exception:
        return _estimate_tokens(text)


COUNTED_TEXTS = 4096


@lru_cache(maxsize=64)
def text_counter(model: str) -> Callable[[str], int]:
    """A function counting the tokens of a text as `litellm.token_counter(model=..., text=...)` does.

    litellm picks the model's tokenizer on every call, which costs several times the encoding of a
    typical message; fitting a long thread into a prompt counts every message, so the choice is made
    once per model here (through litellm's own selection, where this litellm version exposes it).
    The counts of the last COUNTED_TEXTS texts are kept: names, Regenerate and the summary of one
    ticket count the same messages again (tokenizing was 12% of a name request on 200 messages).
    """
    litellm = _litellm()
    try:
        from litellm.litellm_core_utils.token_counter import _get_count_function

        chosen: Callable[[str], Any] = _get_count_function(model)
    except Exception:  # another litellm version, or a tokenizer that cannot load: litellm's public call
        def chosen(text: str) -> Any:
            return litellm.token_counter(model=model, text=text)

    counted: OrderedDict[bytes, int] = OrderedDict()  # digest of a text -> its tokens, least recently used first
    lock = threading.Lock()

    def count(text: str) -> int:
        if litellm.disable_token_counter is True:
            return _estimate_tokens(text)
        # Keyed by a digest, so no customer text stays in memory after its request.
        key = hashlib.blake2b(text.encode(), digest_size=16).digest()
        with lock:
            found = counted.get(key)
            if found is not None:
                counted.move_to_end(key)
                return found
        try:
            tokens = int(chosen(text))
        except Exception:
            return _estimate_tokens(text)
        with lock:
            counted[key] = tokens
            if len(counted) > COUNTED_TEXTS:
                counted.popitem(last=False)
        return tokens

    return count


def _estimate_tokens(text: str | list[dict]) -> int:
    if not isinstance(text, str):
        text = "\n".join(str(message.get("content") or "") for message in text)
    return len(text) // 4 + 1


class FakeChatModel:
    """A `ChatModel` for tests: answers with queued texts (or raises queued exceptions), records calls."""

    name = "fake"

    def __init__(self, *replies: str | BaseException) -> None:
        self._replies: deque[str | BaseException] = deque(replies)
        self.history: list[list[dict[str, str]]] = []
        self.json_schemas: list[dict | None] = []

    def enqueue(self, reply: str | BaseException) -> None:
        """Queue the next answer text, or an exception the next call raises."""
        self._replies.append(reply)

    def complete(
        self, messages: list[dict[str, str]], *, json_schema: dict | None = None, schema_name: str = "answer"
    ) -> Completion:
        """Record the call and return (or raise) the next queued reply."""
        self.history.append([dict(message) for message in messages])
        self.json_schemas.append(json_schema)
        if not self._replies:
            raise AssertionError("FakeChatModel.complete() called with no reply queued")
        reply = self._replies.popleft()
        if isinstance(reply, BaseException):
            raise reply
        if not reply.strip():
            raise LLMBadAnswer("The AI provider returned an empty answer (finish reason: stop).")
        return Completion(
            text=reply,
            model=self.name,
            tokens_in=_estimate_tokens(messages),
            tokens_out=_estimate_tokens(reply),
            latency_ms=0,
        )
