"""Request bodies of the HubSpot-compatible API, in HubSpot's camelCase field names."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PropertyValue = str | int | float | bool | None
BATCH_LIMIT = 100


class HubSpotBody(BaseModel):
    # HubSpot clients send fields we do not use (objectWriteTraceId, propertiesWithHistory); they are ignored.
    model_config = ConfigDict(extra="ignore")


class ObjectInput(HubSpotBody):
    """`{properties, associations?}` for create (associations must be empty: see docs/hubspot.md)."""

    properties: dict[str, PropertyValue]
    associations: list[dict[str, Any]] = Field(default_factory=list)


class ObjectId(HubSpotBody):
    id: str | int


class BatchIds(HubSpotBody):
    inputs: list[ObjectId] = Field(..., max_length=BATCH_LIMIT)


class BatchRead(HubSpotBody):
    inputs: list[ObjectId] = Field(..., max_length=BATCH_LIMIT)
    properties: list[str] = Field(default_factory=list)
    idProperty: str | None = None


class BatchCreate(HubSpotBody):
    inputs: list[ObjectInput] = Field(..., max_length=BATCH_LIMIT)


class UpdateItem(HubSpotBody):
    id: str | int
    properties: dict[str, PropertyValue]
    idProperty: str | None = None


class BatchUpdate(HubSpotBody):
    inputs: list[UpdateItem] = Field(..., max_length=BATCH_LIMIT)


class MergeInput(HubSpotBody):
    primaryObjectId: str | int
    objectIdToMerge: str | int


class AssociationSpec(HubSpotBody):
    associationCategory: str = "HUBSPOT_DEFINED"
    associationTypeId: int
