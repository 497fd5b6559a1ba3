"""The server-rendered web workspace: session login, help desk, tickets, inboxes, admin settings.

Routes are thin: they call the same `core` functions as the REST API and render Jinja2 templates.
"""

from pathlib import Path

from fastapi import APIRouter

from plugin.web import admin, ai, bulk_actions, composer, inbox_actions, login, pages, ticket, ticket_actions

MODULES = (login, pages, ticket, ai, admin, ticket_actions, bulk_actions, inbox_actions, composer)
ROUTERS = [module.router for module in MODULES]
router = APIRouter(include_in_schema=False)
for sub_router in ROUTERS:
    router.include_router(sub_router)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
