"""B6's instruments: the fake provider's answer time and the replay of the server's provider calls."""

from __future__ import annotations

import time

from bench.ai import MODEL, REPLY, FakeProvider, _raw_calls


def test_the_raw_reference_replays_each_provider_call_with_the_providers_answer_time() -> None:
    made = [{"model": "test-model", "messages": [{"role": "user", "content": f"part {n}"}], "temperature": 0.3,
             "max_tokens": 600} for n in range(2)]
    fake = FakeProvider(default_reply=REPLY).start()
    with fake:
        fake.latency = 0.05
        replay = _raw_calls(fake, made)
        started = time.perf_counter()
        answers = replay()
        elapsed = time.perf_counter() - started
    assert [request.json["messages"] for request in fake.requests] == [body["messages"] for body in made]
    assert {request.json["model"] for request in fake.requests} == {MODEL.split("/", 1)[1]}
    assert [answer.choices[0].message.content for answer in answers] == [REPLY, REPLY]
    assert elapsed >= 2 * fake.latency  # each call waited for its answer
