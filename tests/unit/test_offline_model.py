"""The built-in offline model: ticket names and summaries from hand-written conversations."""

from __future__ import annotations

import re

import pytest

from core.ai.offline import suggest_names, summarize
from core.ai.types import AIInput, PromptMessage, TicketFacts

QUOTES_OR_MARKUP = re.compile(r"[\"“”‘’`<>*_#\[\]{}|~]|(?<!\w)'|'(?!\w)")


def conversation(*messages: tuple[str, str], subject: str | None = None, name: str = "New ticket",
                 category: str | None = None) -> AIInput:
    """An AIInput from (direction, text) pairs; the customer is Ann Lee, the agent Sam Agent."""
    ticket = TicketFacts(id=7, name=name, description="", priority=None, category=category, status="open",
                         status_label="Open", channel="email")
    return AIInput(ticket=ticket, messages=[
        PromptMessage(id=index, direction=direction, text=text, subject=subject,
                      sender_name="Ann Lee" if direction == "incoming" else "Sam Agent")
        for index, (direction, text) in enumerate(messages, start=1)
    ])


MONITOR = conversation(
    ("incoming", "Hi folks,\n\nI just installed Suse 7.2 on my new Dell PC. The install went fine, but my monitor is "
                 "not detected and X only starts in 640x480.\nI have an nVidia GeForce4 card and a Dell 15 inch LCD "
                 "monitor.\n\nAny ideas?\n\nThanks,\nAnn\n-- \nAnn Lee | Zebra Widgets Ltd"),
    ("outgoing", "Hi Ann,\nPlease install the nVidia driver from their website and run sax2 again.\n\nOn Mon, 2 Sep "
                 "2002, Ann Lee wrote:\n> I just installed Suse 7.2 on my new Dell PC, kangaroo kangaroo.\n\nSam"),
    ("incoming", "I installed the driver and ran sax2 but the monitor is still not in the list. Which settings file "
                 "should I edit by hand?"),
    subject="Re: [ILUG] Fwd: Newbie question - Suse 7.2",
)
REFUND = conversation(
    ("incoming", "Hello,\nI was charged twice for my subscription this month (order #48213).\nCould you refund the "
                 "second payment please?\nBest regards,\nAnn"),
    ("outgoing", "Sorry about that! I have issued a refund for the duplicate charge; it shows within 5 days."),
)
VPN = conversation(
    ("incoming", "Since this morning I cannot connect to the office VPN from my laptop. The client says: "
                 "authentication failed for user ann."),
    ("outgoing", "I have reset your VPN password, please try again with the new one sent by SMS."),
    ("incoming", "Thanks, that works now. Can you also reset the VPN token on my phone?"),
)
ALL = [MONITOR, REFUND, VPN]


def _names_over_rounds(data: AIInput, rounds: int) -> list[list[str]]:
    shown: list[str] = []
    result = []
    for _ in range(rounds):
        names = suggest_names(data, exclude=shown)
        result.append(names)
        shown.extend(names)
    return result


@pytest.mark.parametrize("data", ALL)
def test_names_are_one_plain_line_of_at_most_80_chars(data: AIInput) -> None:
    for name in [n for names in _names_over_rounds(data, 3) for n in names]:
        assert 3 <= len(name) <= 80
        assert "\n" not in name and name == name.strip()
        assert not QUOTES_OR_MARKUP.search(name), name


@pytest.mark.parametrize("data", ALL)
def test_suggest_names_returns_count_names_distinct_ignoring_case(data: AIInput) -> None:
    for count in (1, 3, 5):
        names = suggest_names(data, count=count)
        assert len(names) == count
        assert len({n.casefold() for n in names}) == count


@pytest.mark.parametrize("data", ALL)
def test_regenerate_gives_new_names_for_three_rounds(data: AIInput) -> None:
    rounds = _names_over_rounds(data, 3)
    everything = [n.casefold() for names in rounds for n in names]
    assert all(len(names) == 3 for names in rounds)
    assert len(set(everything)) == 9


def test_exclude_is_honoured_ignoring_case_and_punctuation() -> None:
    first = suggest_names(MONITOR)
    again = suggest_names(MONITOR, exclude=[f" {n.upper()}. " for n in first])
    assert not {n.casefold() for n in again} & {n.casefold() for n in first}


def test_regenerate_never_runs_dry_on_a_one_line_conversation() -> None:
    rounds = _names_over_rounds(conversation(("incoming", "printer broken")), 6)
    everything = [n.casefold() for names in rounds for n in names]
    assert len(set(everything)) == 18
    assert rounds[0][0] == "Printer broken"


def test_regenerate_terminates_with_a_very_long_sender_name() -> None:
    data = AIInput(ticket=MONITOR.ticket, messages=[
        PromptMessage(id=1, direction="incoming", text="help", sender_name='"' + "Very Long Name " * 12 + '" <x@y.ie>'),
    ])
    rounds = _names_over_rounds(data, 8)
    assert len({n.casefold() for names in rounds for n in names}) == 24


def test_names_never_start_like_a_numbered_list_item() -> None:
    text = "Is 0.5.7 the default apt.conf? 1) apt-get upgrade fails. 2) 1.2.6 package broken"
    data = conversation(("incoming", text), subject="1. apt 0.5.7 question")
    for name in [n for names in _names_over_rounds(data, 3) for n in names]:
        assert not re.match(r"\s*(?:[-*•]|\d+[.)])", name), name


def test_names_are_deterministic() -> None:
    assert suggest_names(VPN) == suggest_names(VPN)
    assert suggest_names(VPN, exclude=["x"]) == suggest_names(VPN, exclude=["x"])


@pytest.mark.parametrize("texts", [[], [""], ["   \n  "], ["---", "😀 👍"]])
def test_empty_conversation_is_refused(texts: list[str]) -> None:
    data = conversation(*[("incoming", text) for text in texts])
    with pytest.raises(ValueError):
        suggest_names(data)
    with pytest.raises(ValueError):
        summarize(data)


def test_names_name_the_problem_and_the_platform() -> None:
    names = suggest_names(MONITOR)
    assert names[0] == "Monitor not detected on Suse 7.2"
    assert any("monitor" in n.lower() for n in names)


def test_refund_for_a_double_charge_is_named_like_an_agent_would() -> None:
    assert "Refund request for double charge" in suggest_names(REFUND)


def test_cannot_connect_names_the_service() -> None:
    assert any(n.startswith("Cannot connect to office VPN") for n in suggest_names(VPN))


def test_quotes_attributions_and_signatures_do_not_reach_names() -> None:
    words = " ".join(n for names in _names_over_rounds(MONITOR, 3) for n in names).lower()
    assert "kangaroo" not in words
    assert "zebra" not in words and "wrote" not in words


def test_list_tags_and_reply_prefixes_are_stripped_from_the_subject() -> None:
    names = [n for names in _names_over_rounds(MONITOR, 3) for n in names]
    assert not any(re.search(r"\bRe\b|\bFwd\b|ILUG", n, re.IGNORECASE) for n in names)


def test_the_current_ticket_name_is_not_suggested_again() -> None:
    data = conversation(("incoming", "The office printer jams on every double-sided job."),
                        subject="Printer jams", name="Printer jams")
    assert "printer jams" not in [n.casefold() for n in suggest_names(data, count=5)]


def test_participant_names_are_not_topics() -> None:
    names = suggest_names(REFUND, count=6)
    assert not any(re.search(r"\b(?:Ann|Lee|Sam)\b", n) for n in names)


def _sentences(text: str) -> int:
    return len(re.findall(r"[.?!…](?:\s|$)", text))


@pytest.mark.parametrize("data", ALL)
def test_summary_is_plain_short_and_two_to_five_sentences(data: AIInput) -> None:
    summary = summarize(data)
    assert len(summary) <= 600
    assert 2 <= _sentences(summary) <= 5
    assert "\n" not in summary and not re.search(r"[<>*#`]", summary)


def test_summary_covers_need_done_and_pending() -> None:
    summary = summarize(REFUND)
    assert summary.startswith("Customer needs: I was charged twice")
    assert "Done: I have issued a refund" in summary
    assert "Pending:" in summary


def test_summary_mentions_the_customers_pending_question() -> None:
    summary = summarize(VPN)
    assert "Pending:" in summary and "reset the VPN token" in summary.split("Pending:")[1]


def test_summary_mentions_the_agents_open_question() -> None:
    data = conversation(("incoming", "My printer shows error E42 when printing."),
                        ("outgoing", "Sorry to hear that. Which printer model do you have?"))
    assert "Which printer model do you have?" in summarize(data).split("Pending:")[1]


def test_summary_without_an_agent_reply_says_so() -> None:
    summary = summarize(conversation(("incoming", "I cannot log in to the billing portal since the update.")))
    assert "Done: no agent reply yet." in summary
    assert "cannot log in to the billing portal" in summary


def test_summary_ignores_quoted_text_and_signatures() -> None:
    summary = summarize(MONITOR)
    assert "kangaroo" not in summary and "Zebra" not in summary
    assert "monitor" in summary.lower()


def test_summary_of_long_messages_stays_within_600_chars() -> None:
    clause = "the nightly export of the sales ledger to the accounting system fails with a timeout"
    clauses = ", and ".join([clause] * 8)
    data = conversation(
        ("incoming", f"Since Monday {clauses}."),
        ("outgoing", f"Please increase the export timeout in the admin settings because {clauses}."),
        ("incoming", f"Which setting controls it, given that {clauses}?"),
    )
    summary = summarize(data)
    assert len(summary) <= 600
    assert 2 <= _sentences(summary) <= 5
    assert "Which setting controls it" in summary
