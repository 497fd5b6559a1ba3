"""REST API v1."""

from fastapi import APIRouter

from plugin.api import ai, directory, inbound, inboxes, lifecycle, mail, restructure, tickets

router = APIRouter()
for module in (tickets, inboxes, directory, lifecycle, restructure, ai, inbound, mail):
    router.include_router(module.router)
