"""The built-in offline model: extractive ticket names and summaries, no network and no third-party NLP."""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from core.ai.offline_patterns import PLATFORM_RE, finish_name, name_key, pattern_names, problem_kind
from core.ai.offline_text import (
    clean_body,
    clean_subject,
    is_content,
    loose_sentences,
    noun_phrases,
    sentences,
    term,
    tokenize,
)
from core.ai.types import AIInput

MAX_NAME = 80
MAX_SUMMARY = 600
_DIVERSITY = 2.0  # how far a candidate drops for repeating the words of a name already shown
_TOP_TERMS = 6


@dataclass(frozen=True)
class Candidate:
    """A possible ticket name, its score, and where it came from."""

    text: str
    score: float
    origin: str


@dataclass
class _Message:
    direction: str
    sentences: list[str]
    had_link: bool


@dataclass
class _Conversation:
    """The cleaned conversation plus the term weights and key phrases both features rank with."""

    messages: list[_Message]
    subjects: list[str]
    category: str
    weights: dict[str, float] = field(default_factory=dict)
    counts: dict[str, float] = field(default_factory=dict)
    phrases: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def customer(self) -> list[_Message]:
        """Messages from the customer (all messages when the customer never wrote, e.g. an outbound ticket)."""
        incoming = [m for m in self.messages if m.direction == "incoming" and m.sentences]
        return incoming or [m for m in self.messages if m.sentences]

    @property
    def agent(self) -> list[_Message]:
        """Agent replies and internal notes that hold text."""
        return [m for m in self.messages if m.direction != "incoming" and m.sentences]

    top_terms: frozenset[str] = frozenset()
    top_weight: float = 1.0

    def topical(self, text: str) -> float:
        """How much of the conversation's main topic text names: 0 (none) to about 1.2 (all of it)."""
        terms = _content_terms(text)
        main = sum(self.weights[t] for t in terms & self.top_terms)
        minor = sum(self.weights.get(t, 0.0) for t in terms - self.top_terms)
        return min(1.2, (main + 0.15 * minor) / self.top_weight)


def _content_terms(text: str) -> set[str]:
    return {term(tok) for tok in tokenize(text) if is_content(tok)}


def _read(data: AIInput) -> _Conversation:
    messages = []
    for index, message in enumerate(data.messages):
        text = message.text or ""
        found = sentences(clean_body(text, outgoing=message.direction != "incoming"))
        if index == 0 and sum(len(_content_terms(s)) for s in found) < 6:
            # An opening that only says "asking again" above its own quoted question: keep the quote.
            quoted = clean_body(text, outgoing=message.direction != "incoming", keep_quotes=True)
            found = sentences(quoted) or found or loose_sentences(text)
        messages.append(_Message(message.direction, found, bool(re.search(r"https?://|www\.", text))))
    repeated = Counter(s for m in messages for s in set(m.sentences[-2:]))
    for item in messages:  # the same closing line in several messages is a signature, not content
        item.sentences = item.sentences[:-2] + [s for s in item.sentences[-2:] if repeated[s] < 2]
    incoming = [m for m in data.messages if m.direction == "incoming"] or data.messages
    subjects = list(dict.fromkeys(s for m in incoming if (s := clean_subject(m.subject))))
    conv = _Conversation(messages, subjects, (data.ticket.category or "").strip())
    people = {term(w) for m in data.messages for w in re.findall(r"[A-Za-z]{2,}", m.sender_name.split("<")[0])}
    _weigh(conv, people - {term(w) for s in subjects for w in tokenize(s)})
    return conv


def _weigh(conv: _Conversation, people: set[str]) -> None:
    """TF-style term weights (the opening message and subject count more) and noun phrases ranked by them."""
    counts: defaultdict[str, float] = defaultdict(float)
    for index, message in enumerate(conv.customer):
        for sentence in message.sentences:  # once per sentence: a pasted log repeating a word is not a topic
            for key in _content_terms(sentence):
                counts[key] += 1.5 if index == 0 else 1.0
    conv.counts = counts
    agent_counts = Counter(t for m in conv.agent for s in m.sentences for t in _content_terms(s))
    subject_terms = {t for s in conv.subjects for t in _content_terms(s)}
    named = {term(tok) for m in conv.customer for s in m.sentences for tok in tokenize(s)
             if re.search(r"[A-Z0-9]", tok[1:]) or tok.isupper()}  # product names, versions, acronyms
    for key in set(counts) | subject_terms | set(agent_counts):
        weight = math.log1p(counts.get(key, 0.0)) + 1.2 * (key in subject_terms) + 0.25 * min(agent_counts[key], 3)
        conv.weights[key] = 0.0 if key in people else weight * (1.25 if key in named else 1.0)
    ranked = sorted(conv.weights, key=lambda k: (-conv.weights[k], k))
    conv.top_terms = frozenset(ranked[:_TOP_TERMS])
    conv.top_weight = max(sum(conv.weights[k] for k in ranked[:3]), 1e-6)
    scores: dict[tuple[str, ...], float] = {}
    surfaces: dict[tuple[str, ...], tuple[str, ...]] = {}
    for text in [*conv.subjects, *(s for m in conv.customer for s in m.sentences)]:
        for phrase in noun_phrases(text):
            if any(term(word) in people for word in phrase):
                continue  # the sender signing off is not the topic
            for start in range(len(phrase)):  # the phrase and its heads: "flat panel monitor", "monitor"
                sub = phrase[start:]
                if start and (phrase[start - 1][:1].isupper() and sub[0][:1].isupper() or sub[0][:1].isdigit()):
                    continue  # never split a name ("Red Hat kernel" -> "Hat kernel") or start at its version
                terms = tuple(term(t) for t in sub)
                score = sum(conv.weights.get(k, 0.0) for k in set(terms)) / len(sub) ** 0.6
                scores[terms] = max(scores.get(terms, 0.0), score) + 0.15  # repeated phrases gain a little
                surfaces.setdefault(terms, sub)
    conv.phrases = [surfaces[terms] for terms in sorted(scores, key=lambda k: (-scores[k], k))]


def _platform(conv: _Conversation) -> str | None:
    """The OS, device or product version the customer is on ("Suse 7.2", "PS4"), if they say."""
    families: Counter[str] = Counter()
    best: dict[str, str] = {}
    for text in [*conv.subjects, *(s for m in conv.customer for s in m.sentences)]:
        for match in PLATFORM_RE.finditer(text):
            found = re.sub(r"\s+", " ", match.group()).strip()
            family = re.sub(r"[\s\d.-]+$", "", found.lower()) or found.lower()
            families[family] += 1
            if family not in best or re.search(r"\d", found) and not re.search(r"\d", best[family]):
                best[family] = found  # the most specific form: "Suse 7.2" over "Suse"
    if not families:
        return None
    order = list(best)
    return best[max(families, key=lambda f: (families[f], bool(re.search(r"\d", best[f])), -order.index(f)))]


def _key_phrases(conv: _Conversation, limit: int = 8) -> list[str]:
    """Top noun phrases; a single word only if it is a name ("Xine", "CIPE") or the customer repeats it."""
    chosen: dict[str, str] = {}
    for strict in (True, False):  # a short thread may only offer single common words: then take them
        for phrase in conv.phrases:
            text = " ".join(phrase)
            single = len(phrase) == 1 and not re.search(r"[A-Z0-9]", text) and (
                conv.counts.get(term(text), 0.0) < 2.5 or re.search(r"(?:ible|ous|ful|less|ical)$", text))
            if len(text) <= 40 and not (strict and single):
                chosen.setdefault(name_key(text), text)
            if len(chosen) == limit:
                return list(chosen.values())
        if len(chosen) >= 3:
            break
    return list(chosen.values())


def _mentions(text: str, platform: str) -> bool:
    family = re.sub(r"[\s\d.-]+$", "", platform.lower()) or platform.lower()
    return name_key(family) in name_key(text)


def _score(conv: _Conversation, prior: float, topic: str, text: str, *, own_title: bool = False) -> float:
    """Prior of the name's form, plus how much of the main topic it names; off-topic and long names lose.

    The customer's own subject line is never off-topic, whatever the body's words.
    """
    topical = conv.topical(topic)
    off_topic = topical < 0.1 and not own_title
    return prior + 2.5 * topical - (1.0 if off_topic else 0.0) - 0.03 * max(0, len(text) - 55)


def _candidates(conv: _Conversation) -> list[Candidate]:
    """Every name the conversation supports, scored; regenerate rounds draw further down this pool."""
    found: list[Candidate] = []
    for index, message in enumerate(conv.messages[:8]):
        customer = message in conv.customer
        for position, sentence in enumerate(message.sentences[:12]):
            bonus = (0.5 if index == 0 else 0.0) + 0.5 / (1 + position) - (0.0 if customer else 1.2)
            for text, topic, prior in pattern_names(sentence):
                found.append(Candidate(text, _score(conv, prior + bonus, topic, text), "pattern"))
    labels = {c.text for c in found}
    if {"Refund request", "Double charge"} <= labels:  # said in two sentences, named as one request
        found.append(Candidate("Refund request for double charge", 4.5, "pattern"))
    for index, subject in enumerate(conv.subjects):  # later subjects drift away from the ticket's topic
        found.append(Candidate(subject, _score(conv, 2.8 - 0.5 * index, subject, subject, own_title=True), "subject"))
    phrases = _key_phrases(conv)
    kind = problem_kind(conv.customer[0].sentences if conv.customer else [])
    platform = _platform(conv)
    for rank, phrase in enumerate(phrases):
        base = _score(conv, 1.8 - 0.1 * rank, phrase, phrase)
        found.append(Candidate(f"{phrase} {kind}", base, "phrase"))
        found.append(Candidate(f"Question about {phrase}" if kind == "question" else f"Help with {phrase}",
                               base - 0.4, "phrase"))
        if platform and not _mentions(phrase, platform):
            found.append(Candidate(f"{phrase} {kind} on {platform}", base + 0.2, "phrase"))
    for i, first in enumerate(phrases[:4]):
        for second in phrases[i + 1 : 4]:
            if not _content_terms(first) & _content_terms(second):
                found.append(Candidate(f"{first} and {second}", _score(conv, 0.5, f"{first} {second}", ""), "pair"))
    if platform:
        found.extend(
            Candidate(f"{c.text} on {platform}", c.score + 0.2, c.origin)
            for c in list(found)
            if c.origin in ("pattern", "subject") and len(c.text) < 50 and not _mentions(c.text, platform)
        )
    return found


def _fallbacks(conv: _Conversation, sender: str) -> Iterator[Candidate]:
    """Endless plainer names, so regenerate never runs dry."""
    phrases = _key_phrases(conv, limit=12) or [w for w in (conv.category, sender) if w]
    for frame in ("{} follow-up", "Customer question about {}", "{} support request", "Issue reported with {}"):
        yield from (Candidate(frame.format(phrase), 0.0, "fallback") for phrase in phrases)
    if conv.category:
        yield from (Candidate(f"{conv.category}: {phrase}", 0.0, "fallback") for phrase in phrases)
    label = f"Support request from {sender}" if sender else "Support request"
    number = 2
    while True:
        yield Candidate(f"{label} ({number})", 0.0, "fallback")
        number += 1


def _similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def suggest_names(data: AIInput, *, exclude: Sequence[str] = (), count: int = 3) -> list[str]:
    """Suggest count ticket names (one line, at most 80 chars), distinct from each other and from exclude."""
    conv = _read(data)
    if not any(m.sentences for m in conv.messages) and not conv.subjects:
        raise ValueError("the conversation has no text to name the ticket from")
    used = {name_key(text) for text in [*exclude, data.ticket.name or ""]}
    pool: dict[str, Candidate] = {}
    for cand in _candidates(conv):
        text = finish_name(cand.text, MAX_NAME)
        key = name_key(text)
        if key and key not in used and (key not in pool or pool[key].score < cand.score):
            pool[key] = Candidate(text, cand.score, cand.origin)
    shown = [_content_terms(text) for text in exclude]
    chosen: list[str] = []
    while len(chosen) < count and pool:
        taken = [*shown, *(_content_terms(text) for text in chosen)]
        best = max(pool.values(), key=lambda c: (
            c.score - _DIVERSITY * max((_similarity(_content_terms(c.text), t) for t in taken), default=0.0), c.text))
        chosen.append(best.text)
        used.add(name_key(best.text))
        del pool[name_key(best.text)]
    sender = next((m.sender_name for m in data.messages if m.direction == "incoming" and m.sender_name), "")
    sender = " ".join(re.sub(r"<[^>]*>|[^\w .'-]", " ", sender).split())[:40]  # the numbered names must fit 80
    fallbacks = _fallbacks(conv, sender)
    while len(chosen) < count:
        text = finish_name(next(fallbacks).text, MAX_NAME)
        if text and name_key(text) not in used:
            used.add(name_key(text))
            chosen.append(text)
    return chosen


# --- summary --------------------------------------------------------------------------------------------

_INSTRUCTION = re.compile(
    r"(?:^|\bplease\s+)(?:so\s+|then\s+)?(?:try|check|run|install|use|make sure|set|open|go|restart|reinstall"
    r"|update|upgrade|download|remove|add|edit|change|load|type|contact|reset|enable|disable|follow|read|visit|clear"
    r"|delete|head"
    r"|submit|uninstall|rebuild|reboot|look at|get in touch)\b|\byou (?:can|could|should|need to|might want to|may"
    r"|will need)\b|\b(?:i'?d|i would|we) (?:suggest|recommend)\b|\b(?:fixed|solved|resolved|patched|released)\b",
    re.IGNORECASE,
)
_FILLER = re.compile(
    r"\b(?:thanks? (?:you )?for|sorry (?:to hear|for|about)|we(?:'re| are) (?:here|sorry)|keep us posted|happy to"
    r"|hope (?:this|that) helps|reaching out|let us know|standing by|glad to|could you|can you|mind sharing"
    r"|please (?:share|send|tell|confirm|provide))\b",
    re.IGNORECASE,
)
_NEED = re.compile(r"\?|\b(?:need|want|cannot|unable|error|fail|problem|issue|trouble|help|how|not)\b|n't\b", re.I)


def _clip(text: str, limit: int) -> str:
    text = " ".join(re.sub(r"[*_`#<>|~{}]", "", text).split()).rstrip(" :;,-")
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


def _end(text: str) -> str:
    return text if text.endswith(("?", "!", ".", "…")) else text + "."


def _best(conv: _Conversation, ranked: list[tuple[str, float]], prefer: re.Pattern[str]) -> str:
    """The sentence with the best TF-style centroid score, times its weight, boosted when prefer matches."""
    def score(item: tuple[int, tuple[str, float]]) -> tuple[float, int]:
        index, (sentence, weight) = item
        value = conv.topical(sentence) / max(len(tokenize(sentence)), 4) ** 0.3 * weight
        value *= (1.8 if prefer.search(sentence) else 1.0) * (0.35 if _FILLER.search(sentence) else 1.0)
        return value, -index

    return max(enumerate(ranked), key=score)[1][0] if ranked else ""


def _stated_weight(conv: _Conversation, sentence: str) -> float:
    """Sentences that state a problem or request (a name pattern fires) about the main topic weigh more."""
    return max((1.5 + conv.topical(topic) for _name, topic, _prior in pattern_names(sentence)), default=1.0)


def summarize(data: AIInput) -> str:
    """Summarise in 2-5 sentences (at most 600 chars): what the customer needs, what was done, what is pending."""
    conv = _read(data)
    spoken = [m for m in conv.messages if m.direction != "comment" and m.sentences]
    if not spoken and not conv.subjects:
        raise ValueError("the conversation has no text to summarise")
    opening = conv.customer[0].sentences if conv.customer else []
    stated = [(s, _stated_weight(conv, s) / (1 + 0.25 * i)) for i, s in enumerate(opening[:10])]
    need = _best(conv, stated, _NEED)
    parts = [f"Customer needs: {_end(_clip(need or conv.subjects[0], 220))}"]
    last = spoken[-1] if spoken else None
    asked = [s for s in last.sentences if s.endswith("?") and not _FILLER.search(s)] if last else []
    agent = [m for m in spoken if m.direction != "incoming"]
    done_pool = [(s, 1.0 + i / max(len(agent) - 1, 1)) for i, m in enumerate(agent) for s in m.sentences
                 if not s.endswith("?")]  # the latest reply weighs twice the first: it holds the current answer
    done = _best(conv, done_pool, _INSTRUCTION)
    if done and _FILLER.search(done) and not _INSTRUCTION.search(done):
        done = "the agent replied with a help link" if any(m.had_link for m in agent) else ""
    if done:
        link = " A help link was sent." if any(m.had_link for m in agent) and "link" not in done else ""
        parts.append(f"Done: {_end(_clip(done, 200))}{link}")
    elif not agent:
        parts.append("Done: no agent reply yet.")
    if last is None or last.direction != "incoming":
        parts.append(f"Pending: the customer's answer to: {_end(_clip(asked[-1], 150))}" if asked
                     else "Pending: the customer's confirmation that the suggestion worked.")
    elif last is conv.customer[0] and len(spoken) == 1:
        parts.append(f"Pending: a first reply{f' to: {_end(_clip(asked[-1], 150))}' if asked else '.'}")
    else:
        latest = asked[-1] if asked else _best(conv, [(s, 1.0) for s in last.sentences], _NEED)
        parts.append(f"Pending: reply to the customer's latest message: {_end(_clip(latest, 150))}")
    return _clip(" ".join(parts), MAX_SUMMARY)
