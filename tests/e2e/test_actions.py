"""Every help desk action through the UI in a real Chromium: the Actions menu, its dialogs, bulk delete with
the typed count, the spam view, inbox moves, AI names from an OpenAI-compatible server, and the keyboard."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from core import inboxes, tickets, users, workspace
from core.actions.merge import merge_tickets
from core.schemas import ContactIn, MessageIn, TicketCreate
from tests.e2e.conftest import SCREENSHOTS, Desk
from tests.fakes.openai_server import FakeOpenAIServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SignIn = Callable[..., None]


def shot(page: Any, name: str) -> None:
    """A screenshot of what the user sees (the viewport: an open dialog and its backdrop)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def make_ticket(desk: Desk, name: str, *texts: str, channel: str = "email") -> int:
    """A ticket from Casey with one message per text (a minute apart, oldest first)."""
    with desk.uow() as uow:
        start = uow.now() - timedelta(hours=1)
        messages = [MessageIn(direction="incoming", sender_name="Casey Customer", sender_email="casey@shop.example",
                              subject=name if n == 0 else None, text=text, sent_at=start + timedelta(minutes=n))
                    for n, text in enumerate(texts or ("Please help.",))]
        data = TicketCreate(name=name, channel=channel, messages=messages,
                            contact=ContactIn(name="Casey Customer", email="casey@shop.example"))
        return tickets.create_ticket(uow=uow, actor=None, data=data).id


def make_inbox(desk: Desk, name: str) -> int:
    with desk.uow() as uow:
        return inboxes.create_inbox(uow=uow, actor=None, name=name).id


def open_action(page: Any, label: str) -> None:
    page.locator("summary#actions-button").click()
    page.locator(".actions-menu").get_by_role("button", name=label, exact=True).click()


def row(page: Any, ticket_id: int) -> Any:
    return page.locator(f'tr[data-ticket-id="{ticket_id}"]')


def notice(page: Any) -> Any:
    return page.locator("p.notice[role=status]")


def alert(page: Any) -> Any:
    return page.locator("p.notice[role=alert]")


def ticket_id_in(url: str) -> int:
    match = re.search(r"/tickets/(\d+)", url)
    assert match, url
    return int(match.group(1))


def test_follow_and_unfollow(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, "Follow me")
    sign_in(page)
    page.goto(f"/tickets/{ticket}")
    open_action(page, "Follow")
    expect(notice(page)).to_contain_text("You follow this ticket")
    expect(page.locator("#details")).to_contain_text("Sam")
    open_action(page, "Unfollow")
    expect(notice(page)).to_have_text("You no longer follow this ticket.")
    expect(page.locator("#details")).to_contain_text("Nobody")


def test_split_ticks_messages_then_creates_the_new_ticket(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, "Printer and scanner", "The printer is jammed.", "Also the scanner is broken.",
                         "And the scanner makes a noise.")
    sign_in(page)
    page.goto(f"/tickets/{ticket}")
    open_action(page, "Split ticket…")
    bar = page.locator("[data-split-bar]")
    expect(bar).to_be_visible()
    expect(bar.get_by_role("button", name="Next: ticket details")).to_be_disabled()
    page.get_by_label("Split off the message from Casey Customer", exact=False).nth(1).check()
    page.get_by_label("Split off the message from Casey Customer", exact=False).nth(2).check()
    expect(bar.locator("[data-split-count]")).to_have_text("2 selected")
    shot(page, "ticket-split-mode")
    bar.get_by_role("button", name="Next: ticket details").click()
    dialog = page.locator("#dialog-split")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Name (required)")).to_be_focused()
    expect(dialog).to_contain_text("The 2 messages you ticked")
    dialog.get_by_label("Name (required)").fill("Scanner is broken")
    dialog.get_by_label("Pipeline and status").select_option(label="Waiting on us")
    dialog.get_by_label("Owner").select_option(label="Sam.Agent")
    dialog.get_by_label("Priority").select_option("HIGH")
    dialog.get_by_label("Category").select_option("PRODUCT_ISSUE")
    shot(page, "dialog-split")
    dialog.get_by_role("button", name="Create ticket").click()
    expect(notice(page)).to_contain_text("Ticket split")
    expect(page.get_by_role("heading", level=1)).to_have_text("Scanner is broken")
    assert ticket_id_in(page.url) != ticket
    expect(page.locator(".message")).to_have_count(2)
    expect(page.get_by_label("Status")).to_have_value("WAITING_ON_US")
    expect(page.get_by_label("Priority")).to_have_value("HIGH")
    page.goto(f"/tickets/{ticket}")
    expect(page.locator(".message")).to_have_count(1)
    expect(page.locator(".message-body")).to_have_text("The printer is jammed.")


def test_split_of_a_chat_ticket_shows_why_on_the_page(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, "Chat about prices", "Hi", "How much is it?", channel="chat")
    sign_in(page)
    page.goto(f"/tickets/{ticket}")
    open_action(page, "Split ticket…")
    page.get_by_label("Split off the message from Casey Customer", exact=False).nth(1).check()
    page.get_by_role("button", name="Next: ticket details").click()
    page.locator("#dialog-split").get_by_label("Name (required)").fill("Prices")
    page.locator("#dialog-split").get_by_role("button", name="Create ticket").click()
    expect(alert(page)).to_contain_text("Only email tickets can be split")
    expect(page.get_by_role("heading", level=1)).to_have_text("Chat about prices")
    expect(page.locator(".message")).to_have_count(2)


def test_merge_searches_for_the_other_ticket_and_uses_the_chosen_primary(page: Any, desk: Desk,
                                                                         sign_in: SignIn) -> None:
    this = make_ticket(desk, "Refund for order 4471", "Please refund order 4471.")
    other = make_ticket(desk, "Zebrafish refund missing", "Still no refund for 4471.")
    sign_in(page)
    page.goto(f"/tickets/{this}")
    open_action(page, "Merge ticket…")
    dialog = page.locator("#dialog-merge")
    expect(dialog.get_by_label("Find the ticket to merge with")).to_be_focused()
    expect(dialog).to_contain_text("A merge cannot be undone.")
    expect(dialog.get_by_role("button", name="Merge")).to_be_disabled()
    dialog.get_by_label("Find the ticket to merge with").fill("zebrafish")
    found = dialog.get_by_role("radio", name=f"#{other} Zebrafish refund missing Casey Customer · New")
    expect(found).to_be_visible()
    expect(dialog.get_by_role("radio", name="The ticket you choose above")).to_be_disabled()
    expect(dialog.get_by_role("radio", name=re.compile(rf"^#{this} .*this ticket"))).to_be_checked()
    found.check()
    dialog.get_by_role("radio", name=f"#{other} Zebrafish refund missing", exact=True).check()
    expect(dialog.get_by_role("button", name="Merge")).to_be_enabled()
    shot(page, "dialog-merge")
    dialog.get_by_role("button", name="Merge").click()
    expect(notice(page)).to_have_text("Tickets merged into this new ticket.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Zebrafish refund missing")
    merged = ticket_id_in(page.url)
    assert merged not in (this, other)
    expect(page.locator("#details")).to_contain_text(f"#{min(this, other)}, #{max(this, other)}")
    expect(page.locator(".switcher a")).to_have_count(2)
    page.goto(f"/tickets/{this}")
    expect(page).to_have_url(re.compile(rf"/tickets/{merged}$"))


def test_mark_as_unread(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, "Unread again")
    sign_in(page)
    page.goto(f"/tickets/{ticket}")
    open_action(page, "Mark as unread")
    expect(notice(page)).to_have_text("Ticket marked as unread.")
    expect(row(page, ticket)).to_have_class("unread")


def test_move_a_conversation_to_an_inbox_and_back(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, "Pricing for 40 seats")
    inbox = make_inbox(desk, "Sales")
    sign_in(page, "admin")
    page.goto(f"/tickets/{ticket}")
    open_action(page, "Move conversation…")
    dialog = page.locator("#dialog-move_conversation")
    dialog.get_by_label("Move to").select_option(label="Inbox: Sales")
    dialog.get_by_label("Assign to").select_option(label="Sam.Agent")
    dialog.get_by_label("Ticket pipeline and status").select_option(label="Waiting on contact")
    dialog.get_by_label("Comment (an internal note, optional)").fill("Sales quotes seat prices.")
    shot(page, "dialog-move-conversation")
    dialog.get_by_role("button", name="Move").click()
    expect(notice(page)).to_have_text("Conversation moved.")
    expect(page.locator("[data-location]")).to_contain_text("in Sales; the ticket stays in the help desk")
    expect(page.get_by_label("Status")).to_have_value("WAITING_ON_CONTACT")
    expect(page.locator(".message.comment .message-body")).to_have_text("Sales quotes seat prices.")
    page.get_by_role("link", name="Sales").click()
    line = page.locator("table.conversations tbody tr", has_text="Pricing for 40 seats")
    expect(line).to_contain_text("Sam.Agent")
    line.get_by_role("button", name="Move…").click()
    back = page.locator("dialog[open]")
    back.get_by_label("Move to").select_option("help_desk")
    back.get_by_role("button", name="Move").click()
    expect(notice(page)).to_have_text("Conversation moved to the help desk.")
    assert ticket_id_in(page.url) == ticket
    expect(page.locator("[data-location]")).to_have_count(0)
    page.goto(f"/inboxes/{inbox}")
    expect(page.locator("table.conversations tbody tr", has_text="Pricing for 40 seats")).to_have_count(0)


def test_plain_agent_sees_what_needs_a_permission_disabled_with_the_reason(page: Any, desk: Desk,
                                                                          sign_in: SignIn) -> None:
    ticket = make_ticket(desk, "Not for agents")
    sign_in(page)
    page.goto(f"/tickets/{ticket}")
    page.locator("summary#actions-button").click()
    menu = page.locator(".actions-menu")
    for label, flag in (("Move conversation", "account_access"), ("Mark as spam", "delete_tickets"),
                        ("Delete", "delete_tickets")):
        button = menu.get_by_role("button", name=label, exact=True)
        expect(button).to_be_disabled()
        expect(button).to_have_accessible_description(re.compile(f"needs the {flag} permission"))
    expect(menu.get_by_role("button", name="Merge ticket…")).to_be_enabled()
    page.goto("/helpdesk")
    expect(page.locator("#why-bulk_delete")).to_contain_text("needs the delete_tickets permission")


def test_mark_spam_then_not_spam(page: Any, desk: Desk, sign_in: SignIn) -> None:
    first = make_ticket(desk, "Cheap watches", "Buy cheap watches now")
    second = make_ticket(desk, "Real question", "Where is my order?")
    with desk.uow() as uow:
        admin = users.get_user(uow=uow, user_id=desk.ids["admin"])
        ticket = merge_tickets(uow=uow, actor=admin, ticket_ids=[second, first], primary_id=second).id
    sign_in(page, "admin")
    page.goto(f"/tickets/{ticket}")
    open_action(page, "Mark as spam…")
    dialog = page.locator("#dialog-mark_spam")
    choices = dialog.get_by_role("checkbox")
    expect(choices).to_have_count(2)
    warning = dialog.locator("[data-spam-deletes-ticket]")
    for box in choices.all():
        box.uncheck()
    expect(dialog.get_by_role("button", name="Confirm")).to_be_disabled()
    choices.nth(0).check()
    choices.nth(1).check()
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("the ticket will be deleted too")
    shot(page, "dialog-mark-spam")
    choices.nth(1).uncheck()
    expect(warning).to_be_hidden()
    spam_conversation = choices.nth(0).get_attribute("value")
    dialog.get_by_role("button", name="Confirm").click()
    expect(notice(page)).to_have_text("Conversations marked as spam.")
    page.get_by_role("link", name="Spam", exact=True).click()
    spam_row = page.locator(f'tr[data-conversation-id="{spam_conversation}"]')
    expect(spam_row).to_be_visible()
    spam_row.get_by_role("button", name=re.compile("^Not spam")).click()
    expect(notice(page)).to_have_text("Conversation restored from spam.")
    expect(spam_row).to_have_count(0)


def test_spam_for_the_only_conversation_deletes_the_ticket_and_not_spam_brings_it_back(
    page: Any, desk: Desk, sign_in: SignIn
) -> None:
    ticket = make_ticket(desk, "You won a prize", "Click here to claim")
    sign_in(page, "admin")
    page.goto(f"/tickets/{ticket}")
    open_action(page, "Mark as spam…")
    dialog = page.locator("#dialog-mark_spam")
    expect(dialog.get_by_role("checkbox")).to_be_checked()
    expect(dialog.locator("[data-spam-deletes-ticket]")).to_be_visible()
    dialog.get_by_role("button", name="Confirm").click()
    expect(notice(page)).to_contain_text("the ticket had no other conversation, so it was deleted")
    expect(page.get_by_role("heading", level=1)).to_have_text("Spam")
    page.locator("table.spam tr", has_text="You won a prize").get_by_role("link").click()
    expect(page.locator(".ticket-head .banner")).to_contain_text("deleted as spam")
    page.locator("[data-spam-banner]").get_by_role("button", name="Not spam").click()
    expect(notice(page)).to_have_text("Conversation restored from spam, and its ticket with it.")
    expect(page.locator(".ticket-head .banner")).to_have_count(0)


def test_delete_then_restore_from_the_trash(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, "Delete me please")
    sign_in(page, "admin")
    page.goto(f"/tickets/{ticket}")
    open_action(page, "Delete…")
    dialog = page.locator("#dialog-delete")
    expect(dialog).to_contain_text("go to the trash")
    shot(page, "dialog-delete")
    dialog.get_by_role("button", name="Delete ticket").click()
    expect(notice(page)).to_have_text("Ticket moved to the trash.")
    expect(row(page, ticket)).to_have_count(0)
    page.get_by_role("link", name="Trash").click()
    row(page, ticket).get_by_role("button", name=re.compile("^Restore")).click()
    expect(notice(page)).to_have_text("Ticket restored from the trash.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete me please")
    page.goto("/helpdesk")
    expect(row(page, ticket)).to_be_visible()


def test_bulk_delete_needs_the_typed_count(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ids = [make_ticket(desk, f"Bulk cleanup {n}") for n in range(3)]
    sign_in(page, "admin")
    bulk = page.get_by_role("button", name="Delete…")
    expect(bulk).to_be_disabled()
    for ticket in ids[:2]:
        row(page, ticket).get_by_role("checkbox").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    bulk.click()
    dialog = page.locator("#dialog-bulk_delete")
    typed = dialog.get_by_label("Type the number of tickets to delete")
    submit = dialog.get_by_role("button", name="Delete tickets")
    expect(typed).to_be_focused()
    expect(dialog.locator("[data-bulk-expected]")).to_have_text("2")
    expect(submit).to_be_disabled()
    typed.fill("3")
    expect(submit).to_be_disabled()
    typed.press("Enter")  # a wrong count cannot be submitted by keyboard either
    expect(dialog).to_be_visible()
    typed.fill("2")
    expect(submit).to_be_enabled()
    shot(page, "dialog-bulk-delete")
    submit.click()
    expect(notice(page)).to_have_text("Tickets moved to the trash.")
    for ticket in ids[:2]:
        expect(row(page, ticket)).to_have_count(0)
    expect(row(page, ids[2])).to_be_visible()
    page.goto("/helpdesk?view=trash")
    for ticket in ids[:2]:
        expect(row(page, ticket)).to_be_visible()


def test_ai_insert_and_regenerate_with_an_openai_compatible_server(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, "Labels", "Shipping labels print blank for international orders.")
    with FakeOpenAIServer(default_reply=None) as provider:
        with desk.uow() as uow:
            workspace.update_ai_settings(uow=uow, actor=None, changes={
                "ai_conversation_data": True, "ai_copilot": True, "llm_model": "openai/test-model",
                "llm_api_base": provider.base_url})
        try:
            provider.enqueue_reply(json.dumps({"suggestions": ["Blank international labels", "Label printing bug",
                                                               "Shipping labels empty"]}))
            provider.enqueue_reply(json.dumps({"suggestions": ["International labels print blank",
                                                               "Empty shipping labels abroad", "Label export bug"]}))
            sign_in(page)
            page.goto(f"/tickets/{ticket}")
            page.get_by_role("button", name="Suggest names with AI").click()
            panel = page.locator("#ai-names-panel")
            names = panel.locator("[data-ai-list] li span")
            expect(names).to_have_text(["Blank international labels", "Label printing bug", "Shipping labels empty"],
                                       timeout=30_000)
            expect(panel.locator("[data-ai-status]")).to_contain_text("test-model")
            panel.get_by_role("button", name="Regenerate").click()
            expect(names.first).to_have_text("International labels print blank", timeout=30_000)
            sent = provider.requests[-1].json
            assert "Blank international labels" in json.dumps(sent), "Regenerate tells the model what was shown"
            panel.get_by_role("button", name="Insert “Empty shipping labels abroad” as the ticket name").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Empty shipping labels abroad")
            page.reload()
            expect(page.get_by_role("heading", level=1)).to_have_text("Empty shipping labels abroad")
        finally:
            with desk.uow() as uow:
                workspace.update_ai_settings(uow=uow, actor=None, changes={"llm_model": None, "llm_api_base": None})


def test_keyboard_opens_the_actions_menu_and_works_a_dialog(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, "Keyboard delete")
    sign_in(page, "admin")
    page.goto(f"/tickets/{ticket}")
    actions = page.locator("summary#actions-button")
    actions.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".actions-menu").get_by_role("button", name="Follow")).to_be_focused()
    for _ in range(6):
        page.keyboard.press("ArrowDown")
    delete = page.locator(".actions-menu").get_by_role("button", name="Delete…")
    expect(delete).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.locator("#dialog-delete")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(actions).to_be_focused()
    page.keyboard.press("Enter")
    # The menu focuses its first item when its toggle event fires; wait for it before moving on.
    expect(page.locator(".actions-menu").get_by_role("button", name="Follow")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(delete).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Delete ticket")).to_be_focused()
    page.keyboard.press("Enter")
    expect(notice(page)).to_have_text("Ticket moved to the trash.")
