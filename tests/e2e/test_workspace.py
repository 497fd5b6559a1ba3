"""The web workspace in a real Chromium: sign in, help desk, ticket header edits, AI, safety, keyboard, phone."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from core import tickets, users, workspace
from core.schemas import ContactIn, MessageIn, TicketCreate, TicketUpdate
from tests.e2e.conftest import DESKTOP, PHONE, Desk
from tests.fakes.openai_server import FakeOpenAIServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SignIn = Callable[..., None]
Shot = Callable[[Any, str], Any]


def make_ticket(desk: Desk, name: str = "Printer on fire", text: str = "The printer in room 4 is on fire, please help.",
                html: str | None = None) -> int:
    message = MessageIn(direction="incoming", sender_name="Casey Customer", sender_email="casey@shop.example",
                        subject=name, text=text, html=html)
    data = TicketCreate(name=name, channel="email", contact=ContactIn(name="Casey Customer",
                                                                       email="casey@shop.example"), messages=[message])
    with desk.uow() as uow:
        return tickets.create_ticket(uow=uow, actor=None, data=data).id


def row(page: Any, ticket_id: int) -> Any:
    return page.locator(f'tr[data-ticket-id="{ticket_id}"]')


def font_weight(locator: Any) -> int:
    return int(locator.evaluate("el => getComputedStyle(el).fontWeight"))


def test_sign_in_and_unread_rows_are_bold(page: Any, desk: Desk, sign_in: SignIn) -> None:
    make_ticket(desk, name="Invoice charged twice", text="We were billed twice for March.")
    unread = make_ticket(desk, name="Login page is blank", text="After the update the login page stays white.")
    page.goto("/helpdesk")
    expect(page).to_have_url(re.compile(r"/login\?next=/helpdesk"))
    sign_in(page)
    expect(page.get_by_role("heading", name="All open")).to_be_visible()
    name_cell = row(page, unread).locator("td.col-name")
    expect(name_cell).to_contain_text("Login page is blank")
    assert font_weight(name_cell) >= 600, "unread rows are bold"


def test_opening_a_ticket_marks_it_read(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, name="Cannot export reports")
    sign_in(page)
    assert font_weight(row(page, ticket).locator("td.col-name")) >= 600
    row(page, ticket).get_by_role("link", name="Cannot export reports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cannot export reports")
    page.goto("/helpdesk")
    assert font_weight(row(page, ticket).locator("td.col-name")) < 600


def test_header_edits_save_and_conflicts_are_explained(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, name="Slow dashboard")
    sign_in(page)
    page.goto(f"/tickets/{ticket}")
    page.get_by_label("Priority").select_option("HIGH")
    expect(page.locator("[data-form-status]")).to_have_text("Priority saved.")
    page.get_by_label("Status").select_option("WAITING_ON_CONTACT")
    expect(page.locator("[data-form-status]")).to_have_text("Status saved.")
    page.reload()
    expect(page.get_by_label("Priority")).to_have_value("HIGH")
    expect(page.get_by_label("Status")).to_have_value("WAITING_ON_CONTACT")
    with desk.uow() as uow:  # someone else edits the ticket meanwhile
        admin = users.get_user(uow=uow, user_id=desk.ids["admin"])
        tickets.update_ticket(uow=uow, actor=admin, ticket_id=ticket, data=TicketUpdate(category="BILLING_ISSUE"))
    page.get_by_label("Priority").select_option("LOW")
    status = page.locator("[data-form-status]")
    expect(status).to_contain_text("changed since you loaded it")
    expect(status.get_by_role("button", name="Reload the ticket")).to_be_visible()


def test_ai_name_insert_and_regenerate_with_the_offline_model(
    page: Any, desk: Desk, sign_in: SignIn, screenshot: Shot
) -> None:
    desk.ai(True)
    ticket = make_ticket(desk, name="Help", text="Our invoice for March was charged twice to the company card. "
                                                  "Please refund the duplicate payment.")
    sign_in(page)
    page.goto(f"/tickets/{ticket}")
    page.get_by_role("button", name="Suggest names with AI").click()
    panel = page.locator("#ai-names-panel")
    expect(panel.locator("[data-ai-status]")).to_have_text("Suggested by offline.")
    expect(panel.get_by_role("button", name=re.compile("^Insert"))).to_have_count(3)
    first = panel.locator("[data-ai-list] li span").all_inner_texts()
    screenshot(page, "ticket-ai-names")
    panel.get_by_role("button", name="Regenerate").click()
    expect(panel.locator("[data-ai-list] li span").first).not_to_have_text(first[0])
    second = panel.locator("[data-ai-list] li span").all_inner_texts()
    assert len(second) == 3 and not set(first) & set(second), "Regenerate excludes the names shown"
    panel.get_by_role("button", name=f"Insert “{second[0]}” as the ticket name").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(second[0])
    expect(panel.locator("[data-ai-status]")).to_contain_text("Renamed to")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text(second[0])
    expect(page.locator("#activity")).to_contain_text("Name suggested by the AI")


def test_ai_names_from_an_openai_compatible_server(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, name="Labels", text="Shipping labels print blank for international orders.")
    with FakeOpenAIServer(default_reply=None) as provider:
        with desk.uow() as uow:
            workspace.update_ai_settings(uow=uow, actor=None, changes={
                "ai_conversation_data": True, "ai_copilot": True, "llm_model": "openai/test-model",
                "llm_api_base": provider.base_url})
        try:
            provider.enqueue_reply(json.dumps({"suggestions": ["Blank international labels", "Label printing bug",
                                                               "Shipping labels empty"]}))
            sign_in(page)
            page.goto(f"/tickets/{ticket}")
            page.get_by_role("button", name="Suggest names with AI").click()
            panel = page.locator("#ai-names-panel")
            expect(panel.locator("[data-ai-list] li span").first).to_have_text("Blank international labels",
                                                                               timeout=30_000)
            expect(panel.locator("[data-ai-status]")).to_contain_text("test-model")
            provider.enqueue_error(503, {"error": {"message": "overloaded"}})
            panel.get_by_role("button", name="Regenerate").click()
            expect(panel.locator("[data-ai-status]")).to_have_class(re.compile("is-error"), timeout=30_000)
        finally:
            with desk.uow() as uow:
                workspace.update_ai_settings(uow=uow, actor=None, changes={"llm_model": None, "llm_api_base": None})


def test_ai_turned_off_explains_why_and_sends_nothing(page: Any, desk: Desk, sign_in: SignIn) -> None:
    desk.ai(False)
    ticket = make_ticket(desk, name="Refund request")
    ai_requests: list[str] = []
    page.on("request", lambda request: ai_requests.append(request.url) if "/ai/" in request.url else None)
    sign_in(page)
    page.goto(f"/tickets/{ticket}")
    star = page.get_by_role("button", name="Suggest names with AI (unavailable)")
    expect(star).to_be_disabled()
    expect(page.locator("#ai-off-name")).to_contain_text("AI is off for this workspace")
    expect(page.locator("#ai-off-name")).to_contain_text("Customer conversation data")
    expect(page.locator("#summary").get_by_role("button", name="Generate")).to_be_disabled()
    expect(page.locator("#ai-off-summary")).to_be_visible()
    star.click(force=True)
    assert ai_requests == []


def test_summary_generate(page: Any, desk: Desk, sign_in: SignIn) -> None:
    desk.ai(True)
    ticket = make_ticket(desk, name="CSV export", text="The export to CSV fails with a timeout after two minutes.")
    sign_in(page)
    page.goto(f"/tickets/{ticket}")
    card = page.locator("#summary")
    expect(card).to_contain_text("No summary yet.")
    card.get_by_role("button", name="Generate").click()
    expect(card.locator("[data-summary-text]")).not_to_be_empty()
    expect(card.locator("[data-summary-model]")).to_have_text("offline")
    expect(card.get_by_role("button", name="Regenerate")).to_be_visible()
    expect(page.locator(".notice")).to_have_text("Summary updated.")


def test_injected_script_in_a_message_or_name_never_runs(page: Any, desk: Desk, sign_in: SignIn,
                                                          screenshot: Shot) -> None:
    name = "<img src=x onerror=\"window.__xss='name';alert('name')\">"
    ticket = make_ticket(
        desk, name=name, text="<script>window.__xss='text';alert('text')</script> please help",
        html="<p>Hi</p><img src=x onerror=\"window.__xss='html';alert('html')\">"
             "<script>window.__xss='script';alert('script')</script><svg onload=\"alert('svg')\"></svg>",
    )
    sign_in(page)
    expect(row(page, ticket).locator("td.col-name a")).to_have_text(name)
    page.goto(f"/tickets/{ticket}")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    page.get_by_text("Show formatted email").click()
    frame = page.frame_locator("iframe[sandbox]")
    expect(frame.locator("p")).to_have_text("Hi")
    page.wait_for_timeout(300)
    assert page.dialogs_seen == []
    assert page.evaluate("typeof window.__xss") == "undefined"
    email_frames = [f for f in page.frames if f != page.main_frame]
    assert email_frames and all(f.evaluate("typeof window.__xss") == "undefined" for f in email_frames)
    screenshot(page, "ticket-injected")


def test_keyboard_reaches_the_actions_menu(page: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, name="Keyboard only")
    sign_in(page)
    page.goto(f"/tickets/{ticket}")
    actions = page.locator("summary#actions-button")
    for _ in range(60):
        page.keyboard.press("Tab")
        if actions.evaluate("el => el === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the Actions menu")
    page.keyboard.press("Enter")
    item = page.get_by_role("button", name="Follow")  # the menu's first entry
    expect(item).to_be_focused()
    expect(actions).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(actions).to_be_focused()
    expect(item).to_be_hidden()
    page.keyboard.press("Enter")
    expect(item).to_be_focused()
    for _ in range(3):  # Follow, Split ticket…, Merge ticket…, Mark as unread
        page.keyboard.press("ArrowDown")
    expect(page.get_by_role("button", name="Mark as unread")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".notice")).to_have_text("Ticket marked as unread.")
    assert font_weight(row(page, ticket).locator("td.col-name")) >= 600


@pytest.fixture
def phone(browser: Any, desk: Desk) -> Iterator[Any]:
    context = browser.new_context(base_url=desk.url, viewport=PHONE, is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()


def test_phone_screen_has_no_horizontal_overflow(phone: Any, desk: Desk, sign_in: SignIn) -> None:
    ticket = make_ticket(desk, name="A rather long ticket name that has to wrap on a small phone screen nicely",
                         text="x" * 300 + " https://example.com/" + "very-long-path/" * 12)
    sign_in(phone, "admin")
    for path in ("/helpdesk", f"/tickets/{ticket}", "/admin", "/notifications"):
        phone.goto(path)
        assert overflow(phone) <= 0, f"{path} scrolls sideways by {overflow(phone)}px"


def overflow(tab: Any) -> int:
    return int(tab.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_admin_switches_ai_on_from_the_settings_page(page: Any, desk: Desk, sign_in: SignIn) -> None:
    desk.ai(False)
    ticket = make_ticket(desk, name="Admin flow")
    sign_in(page, "admin")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Customer conversation data").check()
    page.get_by_label("Copilot").check()
    page.get_by_role("button", name="Save AI settings").click()
    expect(page.locator(".notice")).to_have_text("AI settings saved.")
    page.goto(f"/tickets/{ticket}")
    expect(page.get_by_role("button", name="Suggest names with AI")).to_be_enabled()


def tour(tab: Any, demo_desk: Desk, sign_in: SignIn, screenshot: Shot, label: str) -> None:
    tab.goto("/login")
    screenshot(tab, f"login{label}")
    sign_in(tab, "admin", site=demo_desk)
    screenshot(tab, f"helpdesk{label}")
    tab.locator("tbody tr td.col-name a").first.click()
    expect(tab.get_by_role("heading", level=1)).to_be_visible()
    screenshot(tab, f"ticket{label}")
    inbox_links = tab.locator('nav.sidenav a[href*="/inboxes/"]')
    pages = ["/helpdesk?view=unassigned", "/notifications", "/admin"]
    pages += [a.get_attribute("href") for a in inbox_links.all()]
    for path in pages:
        tab.goto(path)
        assert overflow(tab) <= 0, f"{path} scrolls sideways"
    inbox_links.first.click()
    expect(tab.locator("table.conversations")).to_be_visible()
    screenshot(tab, f"inbox{label}")
    tab.goto("/admin")
    screenshot(tab, f"admin{label}")


def test_demo_workspace_tour_with_screenshots(browser: Any, demo_desk: Desk, sign_in: SignIn,
                                              screenshot: Shot) -> None:
    """What `make demo` shows a new user: every main page renders cleanly at 1280×800 and 390×844."""
    for label, viewport in (("", DESKTOP), ("-phone", PHONE)):
        context = browser.new_context(base_url=demo_desk.url, viewport=viewport)
        tab = context.new_page()
        problems: list[str] = []
        tab.on("console", lambda message, seen=problems: seen.append(message.text) if message.type == "error" else None)
        tab.on("pageerror", lambda error, seen=problems: seen.append(str(error)))
        tab.on("response", lambda r, seen=problems: seen.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        try:
            tour(tab, demo_desk, sign_in, screenshot, label)
        finally:
            context.close()
        assert problems == [], f"browser errors at {viewport}: {problems}"
