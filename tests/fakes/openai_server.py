"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: queued replies, errors and delays.

with FakeOpenAIServer() as server:
    server.enqueue_reply("Printer offline on floor 3")
    config = LLMConfig(model="openai/test-model", api_base=server.base_url, api_key="sk-test")
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JsonBody = dict[str, Any] | list[Any]
Body = JsonBody | str | bytes | None


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]  # names lowercased
    json: Any
    raw_bytes: int


@dataclass(frozen=True)
class _Reply:
    content: str
    usage: dict[str, int] | None
    model: str | None


@dataclass(frozen=True)
class _Error:
    status: int
    body: JsonBody | str | bytes | None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Delay:
    seconds: float


class FakeOpenAIServer:
    """`POST /v1/chat/completions` answers from a queue (or `default_reply`); `GET /v1/models` lists models."""

    def __init__(self, *, default_reply: str | None = "OK", models: tuple[str, ...] = ("test-model",)) -> None:
        self.default_reply = default_reply
        self.models = models
        self.requests: list[RecordedRequest] = []
        self.bytes_received = 0
        self._queue: deque[_Reply | _Error | _Delay] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._served = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        """Listen on a free port of 127.0.0.1 in a background thread."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (pending delays end at once) and free the port."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """What to pass as `api_base`: `http://127.0.0.1:PORT/v1`."""
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting -------------------------------------------------------------------------------

    def enqueue_reply(self, content: str, *, usage: dict[str, int] | None = None, model: str | None = None) -> None:
        """Queue a successful chat completion whose message content is `content`."""
        with self._lock:
            self._queue.append(_Reply(content, usage, model))

    def enqueue_error(
        self, status: int, body: JsonBody | str | bytes | None = None, headers: dict[str, str] | None = None
    ) -> None:
        """Queue a response with this status, body (dict → JSON, str/bytes sent as is) and headers."""
        with self._lock:
            self._queue.append(_Error(status, body, dict(headers or {})))

    def enqueue_delay(self, seconds: float) -> None:
        """Make the next queued (or default) response wait `seconds` before it is sent."""
        with self._lock:
            self._queue.append(_Delay(seconds))

    @property
    def pending(self) -> int:
        """How many queued items have not been served yet."""
        with self._lock:
            return len(self._queue)

    # -- request handling (server threads) -------------------------------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self.bytes_received += request.raw_bytes

    def _next(self) -> tuple[float, _Reply | _Error | None]:
        """Total delay to apply, then the reply or error to send (None: the default reply)."""
        delay = 0.0
        with self._lock:
            item = self._queue.popleft() if self._queue else None
            while isinstance(item, _Delay):
                delay += item.seconds
                item = self._queue.popleft() if self._queue else None
            self._served += 1
        return delay, item

    def _completion_body(self, reply: _Reply, request_json: Any) -> dict[str, Any]:
        messages = request_json.get("messages", []) if isinstance(request_json, dict) else []
        prompt_tokens = sum(len(str(m.get("content") or "")) // 4 + 1 for m in messages if isinstance(m, dict))
        completion_tokens = len(reply.content) // 4 + 1
        usage = reply.usage or {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        requested_model = request_json.get("model") if isinstance(request_json, dict) else None
        return {
            "id": f"chatcmpl-fake-{self._served}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model or requested_model or self.models[0],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": "stop",
                }
            ],
            "usage": usage,
        }


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real providers

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def do_GET(self) -> None:
            server._record(RecordedRequest("GET", self.path, _lowercase(self.headers.items()), None, 0))
            if self.path.rstrip("/") == "/v1/models":
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "tests"} for m in server.models]
                self._send(200, {"object": "list", "data": data})
            else:
                self._send(404, _error_body(f"No route for GET {self.path}", "not_found"))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = None
            server._record(RecordedRequest("POST", self.path, _lowercase(self.headers.items()), body, len(raw)))
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, _error_body(f"No route for POST {self.path}", "not_found"))
                return
            delay, item = server._next()
            if delay and server._stopping.wait(delay):
                return  # stopping: drop the connection unanswered
            if isinstance(item, _Error):
                body_out = item.body if item.body is not None else _error_body(f"Fake error {item.status}", "fake")
                self._send(item.status, body_out, item.headers)
            elif item is not None:
                self._send(200, server._completion_body(item, body))
            elif server.default_reply is not None:
                self._send(200, server._completion_body(_Reply(server.default_reply, None, None), body))
            else:
                self._send(500, _error_body("FakeOpenAIServer: no reply queued", "server_error"))

        def _send(self, status: int, body: Body, headers: dict[str, str] | None = None) -> None:
            if isinstance(body, bytes):
                payload, content_type = body, "application/octet-stream"
            elif isinstance(body, str):
                payload, content_type = body.encode(), "text/plain; charset=utf-8"
            elif body is None:
                payload, content_type = b"", "application/json"
            else:
                payload, content_type = json.dumps(body).encode(), "application/json"
            extra = {name.lower(): value for name, value in (headers or {}).items()}
            try:
                self.send_response(status)
                self.send_header("Content-Type", extra.pop("content-type", content_type))
                self.send_header("Content-Length", str(len(payload)))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test): nothing to answer

    return Handler


def _lowercase(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def _error_body(message: str, error_type: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": None}}
