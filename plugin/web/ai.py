"""AI from the ticket page: name suggestions (JSON for the page's script) and the summary card."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from core.ai import service
from plugin.api.ai import count_ai_request
from plugin.deps import UoW
from plugin.web.auth import FormUser
from plugin.web.render import WebRoute, redirect

router = APIRouter(route_class=WebRoute)


class NamesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exclude: list[str] = Field(default_factory=list, max_length=30)


@router.post("/tickets/{ticket_id}/ai/names", name="web_ai_names")
def suggest_names(request: Request, ticket_id: int, uow: UoW, user: FormUser,
                  body: NamesIn | None = None) -> JSONResponse:
    """Suggestions and the model that answered; Regenerate sends the names on screen as `exclude`."""
    count_ai_request(request, user)
    result = service.suggest_names(uow=uow, actor=user, ticket_id=ticket_id, exclude=body.exclude if body else [])
    return JSONResponse({"suggestions": result.suggestions, "model": result.model})


@router.post("/tickets/{ticket_id}/summary", name="web_ai_summary")
def summarize(request: Request, ticket_id: int, uow: UoW, user: FormUser) -> Response:
    count_ai_request(request, user)
    ticket = service.summarize_ticket(uow=uow, actor=user, ticket_id=ticket_id)
    return redirect(request, f"/tickets/{ticket.id}", anchor="summary", notice="summary")
