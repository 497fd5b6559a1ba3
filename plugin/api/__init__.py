"""REST API v1."""

from fastapi import APIRouter

from plugin.api import ai, directory, inbound, inboxes, lifecycle, restructure, tickets

router = APIRouter()
for module in (tickets, inboxes, directory, lifecycle, restructure, ai, inbound):
    router.include_router(module.router)
