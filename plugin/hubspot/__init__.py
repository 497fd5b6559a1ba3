"""HubSpot-compatible CRM tickets API (v3 objects and pipelines, v4 associations), mounted at the app root.

A thin adapter: every write is one `core` action; errors leave in HubSpot's body. See docs/hubspot.md.
"""

from __future__ import annotations

from typing import NoReturn

from plugin.deps import CurrentUser
from plugin.hubspot import associations, batch, objects, pipelines
from plugin.hubspot.errors import HubSpotError, hubspot_router

router = hubspot_router()
# The catch-all below must stay the last route.
for module in (batch, objects, pipelines, associations):
    router.include_router(module.router)


@router.api_route("/crm/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False,
                  response_model=None)
def unknown_endpoint(path: str, user: CurrentUser) -> NoReturn:
    """Anything else under /crm answers in HubSpot's error shape rather than the REST API's (signed in only,
    like every other route)."""
    raise HubSpotError(404, "OBJECT_NOT_FOUND", f"deskpilot does not serve /crm/{path}; see docs/hubspot.md.")


__all__ = ["router"]
