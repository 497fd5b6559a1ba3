"""Test doubles that share the real interfaces: a fake OpenAI-compatible server (the model fake is
`core.ai.llm.FakeChatModel`)."""

from tests.fakes.openai_server import FakeOpenAIServer, RecordedRequest

__all__ = ["FakeOpenAIServer", "RecordedRequest"]
