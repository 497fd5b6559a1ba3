"""AI ticket names and summaries: gated by the workspace's AI access, audited, nothing stored on failure."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from core import audit
from core.ai import answers
from core.ai.types import AIInput, PromptMessage, TicketFacts
from core.errors import InvalidAction, LLMBadAnswer, LLMError
from core.listing import ticket_relations
from core.models import Conversation, Message, Ticket, User, WorkspaceSettings
from core.permissions import require, require_ai
from core.tickets import resolve_ticket
from core.uow import UnitOfWork
from core.workspace import load_settings

OFFLINE = "offline"
NAME_COUNT = 3
PROMPT_MARGIN_TOKENS = 200


@dataclass(frozen=True)
class NameSuggestions:
    suggestions: list[str]
    model: str


@dataclass(frozen=True)
class Usage:
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: int = 0
    calls: int = 0

    def add(self, completion: Any) -> Usage:
        return Usage(completion.model, self.tokens_in + completion.tokens_in, self.tokens_out + completion.tokens_out,
                     self.latency_ms + completion.latency_ms, self.calls + 1)


def model_name(uow: UnitOfWork, ws: WorkspaceSettings) -> str:
    """The configured model: the workspace override, else DESKPILOT_LLM_MODEL, else offline."""
    return (ws.llm_model or uow.settings.llm_model or OFFLINE).strip()


def _chat_model(uow: UnitOfWork, ws: WorkspaceSettings) -> Any:
    """The provider model the workspace and server settings name (a `LiteLLMModel`)."""
    from core.ai.llm import LiteLLMModel, LLMConfig

    settings = uow.settings
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    model, api_base = model_name(uow, ws), ws.llm_api_base or settings.llm_api_base
    if key is None and api_base and model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
        # Self-hosted OpenAI-compatible servers (vLLM, Ollama, LM Studio) need no key, but the client wants one.
        key = "no-key-needed"
    config = LLMConfig(
        model=model, api_base=api_base, api_key=key,
        timeout=settings.llm_timeout, max_retries=settings.llm_max_retries,
        temperature=ws.llm_temperature if ws.llm_temperature is not None else settings.llm_temperature,
        context_window_fallback=settings.llm_context_window,
    )
    return LiteLLMModel(config)


def _ticket_facts(uow: UnitOfWork, ticket: Ticket) -> TicketFacts:
    """The ticket's properties the prompts quote, with its owner's and associations' names."""
    rel = ticket_relations(uow, ticket.id)  # the associations' names in one query, not one per relationship
    owner = uow.session.get(User, ticket.owner_id) if ticket.owner_id is not None else None
    return TicketFacts(
        id=ticket.id, name=ticket.name, description=ticket.description, priority=ticket.priority,
        category=ticket.category, status=ticket.status, status_label=ticket.status_label, channel=ticket.channel,
        owner_name=owner.name if owner else None, contacts=[c.name for c in rel.contacts],
        companies=[c.name for c in rel.companies], deals=[d.name for d in rel.deals],
    )


def _messages(uow: UnitOfWork, ticket: Ticket) -> list[Message]:
    stmt = (
        select(Message).join(Conversation, Message.conversation_id == Conversation.id)
        .where(Conversation.ticket_id == ticket.id, Conversation.spam_at.is_(None))
        .order_by(Message.sent_at, Message.id)
        .options(lazyload(Message.attachments))  # the prompt has no use for them: skip their eager query
    )
    return list(uow.session.scalars(stmt))


def _prepare(uow: UnitOfWork, actor: User, ticket_id: int) -> tuple[Ticket, WorkspaceSettings, list[Message]]:
    """Check the actor may use the AI and AI access is on; the ticket, the settings and its thread."""
    require(actor, "ai.use")
    ws = load_settings(uow)
    require_ai(ws)
    ticket = resolve_ticket(uow, ticket_id)
    rows = _messages(uow, ticket)
    if not rows:
        raise InvalidAction(f"Ticket {ticket.id} has no conversation for the AI to read.")
    return ticket, ws, rows


def _ai_input(facts: TicketFacts, rows: Sequence[Message], *, redact: bool) -> AIInput:
    """What the prompts are built from, with personal data masked when `redact` is set."""
    from core.ai.redact import redact as scrub

    # Senders and subjects repeat down a thread: each distinct text is scrubbed once.
    clean: Callable[[str], str] = functools.lru_cache(maxsize=None)(scrub) if redact else str
    messages = [
        # The sender's name too: an email without a display name is known by its address.
        PromptMessage(id=m.id, direction=m.direction, sender_name=clean(m.sender_name), text=clean(m.text),
                      subject=clean(m.subject) if m.subject else None, sent_at=m.sent_at)
        for m in rows
    ]
    if redact:
        facts = replace(facts, name=clean(facts.name), description=clean(facts.description),
                        owner_name=clean(facts.owner_name) if facts.owner_name else None,
                        contacts=[clean(c) for c in facts.contacts], companies=[clean(c) for c in facts.companies],
                        deals=[clean(d) for d in facts.deals])
    return AIInput(ticket=facts, messages=messages)


def _budget(model: Any) -> tuple[int, Callable[[str], int]]:
    from core.ai.llm import context_window, text_counter

    config = model.config
    budget = context_window(config) - config.max_output_tokens - PROMPT_MARGIN_TOKENS
    return max(budget, 256), text_counter(config.model)


def _fits_outright(budget: int, *texts: str) -> bool:
    """Whether the prompt surely fits without counting tokens: a token is at least one byte in the
    tokenizers litellm counts with, so text of at most `budget` bytes is at most `budget` tokens."""
    return sum(len(text.encode()) for text in texts) <= budget


def _texts_fit_outright(budget: int, system: str, messages: Sequence[PromptMessage]) -> bool:
    """Whether the messages' texts alone leave the prompt a chance to fit outright (saves rendering a long one)."""
    return _fits_outright(budget, system, *(m.text for m in messages))


def _render_tokens(count: Callable[[str], int], system: str, user: str) -> int:
    return count(system) + count(user)


def _audit_call(uow: UnitOfWork, actor: User, ticket: Ticket, feature: str, usage: Usage, outcome: str,
                error: str | None = None) -> None:
    detail: dict[str, Any] = {"feature": feature, "model": usage.model, "tokens_in": usage.tokens_in,
                              "tokens_out": usage.tokens_out, "latency_ms": usage.latency_ms, "calls": usage.calls,
                              "outcome": outcome}
    if error:
        detail["error"] = error
    audit.record(uow, actor=actor, action=f"ai.{feature}", ticket=ticket, detail=detail, notify=False)


def _fail(uow: UnitOfWork, actor: User, ticket_id: int, feature: str, usage: Usage, exc: LLMError) -> None:
    """Nothing of the attempt is kept except the audit line saying it failed."""
    uow.rollback()
    ticket = resolve_ticket(uow, ticket_id)
    _audit_call(uow, actor, ticket, feature, usage, "error", exc.code)
    uow.commit()


def suggest_names(*, uow: UnitOfWork, actor: User, ticket_id: int, exclude: Sequence[str] = ()) -> NameSuggestions:
    """Three ticket names from the conversation and properties; `exclude` makes Regenerate give new ones."""
    ticket, ws, rows = _prepare(uow, actor, ticket_id)
    exclude = [answers.clean_name(e) for e in exclude if e and e.strip()][:30]
    name = model_name(uow, ws)
    usage = Usage(model=name)
    started = time.perf_counter()
    try:
        if name == OFFLINE:
            from core.ai import offline

            data = _ai_input(_ticket_facts(uow, ticket), rows, redact=False)
            try:
                names = offline.suggest_names(data, exclude=exclude, count=NAME_COUNT)
            except ValueError as exc:
                raise LLMBadAnswer(f"The offline model found nothing to name: {exc}") from exc
            names = answers.parse_names("\n".join(names), count=NAME_COUNT, exclude=exclude)
            usage = Usage(OFFLINE, latency_ms=round((time.perf_counter() - started) * 1000), calls=1)
        else:
            names, usage = _names_from_model(_chat_model(uow, ws), _ticket_facts(uow, ticket), rows,
                                            redact=ws.ai_redact_pii, language=_language(uow, ws), exclude=exclude,
                                            usage=usage)
    except LLMError as exc:
        _fail(uow, actor, ticket.id, "name", usage, exc)
        raise
    _audit_call(uow, actor, ticket, "name", usage, "ok")
    uow.commit()
    return NameSuggestions(suggestions=names, model=usage.model)


def _language(uow: UnitOfWork, ws: WorkspaceSettings) -> str | None:
    return ws.ai_language or uow.settings.ai_language


def _names_from_model(model: Any, facts: TicketFacts, rows: Sequence[Message], *, redact: bool, language: str | None,
                     exclude: Sequence[str], usage: Usage) -> tuple[list[str], Usage]:
    """The model path from loaded data to checked names: masking, prompt, token budget, the call, the answer."""
    from core.ai.budget import fit_to_budget
    from core.ai.prompts import render

    data = _ai_input(facts, rows, redact=redact)
    system = render("name_system", count=NAME_COUNT, exclude=exclude, language=language)
    budget, count = _budget(model)
    user = None
    if _texts_fit_outright(budget, system, data.messages):  # else the whole prompt cannot fit outright either
        user = render("name_user", ticket=data.ticket, messages=data.messages, omitted=0)
    if user is None or not _fits_outright(budget, system, user):
        overhead = _render_tokens(count, system, render("name_user", ticket=data.ticket, messages=[], omitted=0))
        kept, omitted = fit_to_budget(data.messages, budget_tokens=max(budget - overhead, 128), count=count)
        user = render("name_user", ticket=data.ticket, messages=kept, omitted=omitted)
    completion = model.complete([{"role": "system", "content": system}, {"role": "user", "content": user}],
                                json_schema=answers.NAMES_SCHEMA, schema_name="ticket_names")
    usage = usage.add(completion)
    return answers.parse_names(completion.text, count=NAME_COUNT, exclude=exclude), usage


def summarize_ticket(*, uow: UnitOfWork, actor: User, ticket_id: int) -> Ticket:
    """Generate (or regenerate) the ticket's summary and store it with the last message it covers."""
    ticket, ws, rows = _prepare(uow, actor, ticket_id)
    name = model_name(uow, ws)
    usage = Usage(model=name)
    started = time.perf_counter()
    try:
        if name == OFFLINE:
            from core.ai import offline

            data = _ai_input(_ticket_facts(uow, ticket), rows, redact=False)
            text = answers.parse_summary(offline.summarize(data))
            usage = Usage(OFFLINE, latency_ms=round((time.perf_counter() - started) * 1000), calls=1)
        else:
            text, usage = _summary_from_model(_chat_model(uow, ws), _ticket_facts(uow, ticket), rows,
                                             redact=ws.ai_redact_pii, language=_language(uow, ws), usage=usage)
    except LLMError as exc:
        _fail(uow, actor, ticket.id, "summary", usage, exc)
        raise
    now = uow.now()
    covers = rows[-1].id
    # A direct UPDATE: storing a summary must not bump the ticket's version and make agents' edits conflict.
    uow.session.execute(
        update(Ticket).where(Ticket.id == ticket.id).values(
            summary_text=text, summary_model=usage.model, summary_generated_at=now, summary_covers_message_id=covers)
        .execution_options(synchronize_session=False)
    )
    _audit_call(uow, actor, ticket, "summary", usage, "ok")
    uow.commit()
    stored = {"summary_text": text, "summary_model": usage.model, "summary_generated_at": now,
              "summary_covers_message_id": covers}
    for key, value in stored.items():  # what the UPDATE wrote, without reading the row back
        set_committed_value(ticket, key, value)
    return ticket


def _summary_from_model(model: Any, facts: TicketFacts, rows: Sequence[Message], *, redact: bool,
                       language: str | None, usage: Usage) -> tuple[str, Usage]:
    """The model path from loaded data to a checked summary; a thread too long for one request is
    summarised in chunks, then the chunk summaries together."""
    from core.ai.budget import chunk_messages, fit_to_budget
    from core.ai.prompts import render

    data = _ai_input(facts, rows, redact=redact)
    system = render("summary_system", language=language)
    budget, count = _budget(model)

    def ask(messages: list[PromptMessage], earlier: list[str], omitted: int) -> str:
        nonlocal usage
        user = render("summary_user", ticket=data.ticket, messages=messages, earlier_summaries=earlier,
                      omitted=omitted)
        completion = model.complete([{"role": "system", "content": system}, {"role": "user", "content": user}],
                                    json_schema=answers.SUMMARY_SCHEMA, schema_name="ticket_summary")
        usage = usage.add(completion)
        return answers.parse_summary(completion.text)

    if _texts_fit_outright(budget, system, data.messages) and _fits_outright(
            budget, system, render("summary_user", ticket=data.ticket, messages=data.messages, earlier_summaries=[],
                                   omitted=0)):
        return ask(data.messages, [], 0), usage
    overhead = _render_tokens(count, system, render("summary_user", ticket=data.ticket, messages=[],
                                                    earlier_summaries=[], omitted=0))
    room = max(budget - overhead, 128)
    kept, omitted = fit_to_budget(data.messages, budget_tokens=room, count=count)
    if not omitted:
        return ask(kept, [], 0), usage
    # Too long for one request: summarise the thread in chunks, then summarise the chunk summaries
    # together with the most recent messages that fit next to them.
    earlier: list[str] = []
    chunks = chunk_messages(data.messages, budget_tokens=room // 2, count=count)
    for chunk in chunks[:-1]:
        earlier.append(ask(chunk, [], 0))
    earlier = _reduce(earlier, room // 2, count, lambda group: ask([], group, 0))
    earlier_tokens = sum(count(s) for s in earlier)
    tail, tail_omitted = fit_to_budget(chunks[-1], budget_tokens=max(room - earlier_tokens, 128), count=count)
    return ask(tail, earlier, tail_omitted), usage


def _reduce(
    parts: list[str], budget: int, count: Callable[[str], int], combine: Callable[[list[str]], str]
) -> list[str]:
    """Fold partial summaries together until they fit `budget` tokens."""
    while len(parts) > 1 and sum(count(p) for p in parts) > budget:
        groups: list[list[str]] = [[]]
        used = 0
        for part in parts:
            size = count(part)
            if groups[-1] and used + size > budget:
                groups.append([])
                used = 0
            groups[-1].append(part)
            used += size
        if len(groups) == len(parts):  # each part alone is too big: pair them up so the loop shrinks
            groups = [parts[i:i + 2] for i in range(0, len(parts), 2)]
        parts = [combine(group) for group in groups]
    return parts
