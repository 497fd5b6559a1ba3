"""`/crm/v3/pipelines/tickets`: our pipelines and statuses as HubSpot pipelines and stages (read-only).

Stage ids are our status ids (`NEW`, `WAITING_ON_CONTACT`, ...), not HubSpot's numeric defaults, so the
`hs_pipeline_stage` a client reads is the one it can write back. Pipelines are configuration, not rows, so
they carry a fixed created/updated time (the epoch, as HubSpot's built-in pipeline does).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.models import PIPELINES
from plugin.deps import CurrentUser
from plugin.hubspot.errors import HubSpotError, hubspot_router
from plugin.hubspot.properties import hs_time

router = hubspot_router()
BASE = "/crm/v3/pipelines/{object_type}"
CONFIGURED_AT = hs_time(datetime(1970, 1, 1, tzinfo=UTC))
CLOSED_STATUSES = frozenset({"CLOSED"})


def _stage(status_id: str, label: str, order: int) -> dict[str, Any]:
    state = "CLOSED" if status_id in CLOSED_STATUSES else "OPEN"
    return {"id": status_id, "label": label, "displayOrder": order, "metadata": {"ticketState": state},
            "archived": False, "createdAt": CONFIGURED_AT, "updatedAt": CONFIGURED_AT,
            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT"}


def _pipeline(pipeline_id: str, order: int) -> dict[str, Any]:
    config = PIPELINES[pipeline_id]
    stages = [_stage(sid, label, i) for i, (sid, label) in enumerate(config["statuses"].items())]
    return {"id": pipeline_id, "label": config["label"], "displayOrder": order, "stages": stages,
            "archived": False, "createdAt": CONFIGURED_AT, "updatedAt": CONFIGURED_AT}


def _check_type(object_type: str) -> None:
    if object_type.lower() not in ("tickets", "ticket", "0-5"):
        raise HubSpotError(404, "OBJECT_NOT_FOUND", f"deskpilot serves ticket pipelines only, not '{object_type}'.")


def _find(object_type: str, pipeline_id: str) -> dict[str, Any]:
    _check_type(object_type)
    if pipeline_id not in PIPELINES:
        raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Pipeline '{pipeline_id}' does not exist; use one of "
                           f"{', '.join(PIPELINES)}.")
    return _pipeline(pipeline_id, list(PIPELINES).index(pipeline_id))


@router.get(BASE)
def list_pipelines(object_type: str, user: CurrentUser, archived: bool = False) -> dict[str, Any]:
    _check_type(object_type)
    return {"results": [] if archived else [_pipeline(pid, i) for i, pid in enumerate(PIPELINES)]}


@router.get(BASE + "/{pipeline_id}")
def get_pipeline(object_type: str, pipeline_id: str, user: CurrentUser) -> dict[str, Any]:
    return _find(object_type, pipeline_id)


@router.get(BASE + "/{pipeline_id}/stages")
def list_stages(object_type: str, pipeline_id: str, user: CurrentUser, archived: bool = False) -> dict[str, Any]:
    return {"results": [] if archived else _find(object_type, pipeline_id)["stages"]}


@router.get(BASE + "/{pipeline_id}/stages/{stage_id}")
def get_stage(object_type: str, pipeline_id: str, stage_id: str, user: CurrentUser) -> dict[str, Any]:
    for stage in _find(object_type, pipeline_id)["stages"]:
        if stage["id"] == stage_id:
            return dict(stage)
    raise HubSpotError(404, "OBJECT_NOT_FOUND", f"Stage '{stage_id}' does not exist in pipeline '{pipeline_id}'.")
