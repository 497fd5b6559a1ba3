"""REST API v1."""

from fastapi import APIRouter

from plugin.api import directory, inboxes, tickets

router = APIRouter()
for module in (tickets, inboxes, directory):
    router.include_router(module.router)
