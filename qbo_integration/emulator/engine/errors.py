"""QBO faults: the one exception the engine raises, and the faults every part shares.

A fault only one part raises (6140 duplicate DocNumber, 6070 line amount, ...) is built where it is raised.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .times import envelope_time


class QboFault(Exception):
    """A QBO fault: ``status`` is the HTTP status; ``errors`` is a list of
    ``(code, message, detail, element)``; ``fault_type`` e.g. ``ValidationFault``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str = "",
        element: str | None = None,
        fault_type: str = "ValidationFault",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.status = status
        self.fault_type = fault_type
        self.errors: list[tuple[str, str, str, str | None]] = [(code, message, detail, element)]

    @property
    def code(self) -> str:
        return self.errors[0][0]

    def fault(self) -> dict[str, Any]:
        """The ``Fault`` object (docs/quickbooks/errors.md#fault-shape), as it appears inside batch items too."""
        return {
            "Error": [{"Message": m, "Detail": d, "code": c, "element": e or ""} for c, m, d, e in self.errors],
            "type": self.fault_type,
        }

    def body(self, now: datetime) -> dict[str, Any]:
        return {"Fault": self.fault(), "time": envelope_time(now)}


def unknown_company(realm_id: str) -> QboFault:  # docs/quickbooks/errors.md#http-statuses: wrong realm for the token
    return QboFault(
        403,
        "3100",
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        f"Company {realm_id} is not known to this emulator",
        fault_type="SERVICE",
    )


def system_failure() -> QboFault:
    return QboFault(
        500,
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: the emulator failed unexpectedly",
        fault_type="SystemFault",
    )


def required(element: str) -> QboFault:
    return QboFault(
        400,
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def invalid_property(element: str, detail: str | None = None) -> QboFault:
    return QboFault(
        400,
        "2010",
        "Request has invalid or unsupported property",
        detail or f"Property Name:{element} specified is unsupported or invalid",
        element,
    )


def invalid_value(element: str) -> QboFault:
    return invalid_property(element, f"Property Name:{element} has an invalid value")


def invalid_ref(element: str, value: str) -> QboFault:
    return QboFault(
        400,
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {element} {value} does not exist or is inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
        element,
    )


def not_found(entity: str, entity_id: str, deleted: bool = False) -> QboFault:
    reason = (
        "Another user has deleted this transaction."
        if deleted
        else "Something you're trying to use has been made inactive or deleted. "
        "Check the fields with accounts, customers, items, vendors or employees."
    )
    return QboFault(400, "610", "Object Not Found", f"Object Not Found : {reason}", f"{entity}.Id")


def too_long(element: str, maximum: int, supplied: int) -> QboFault:
    return QboFault(
        400,
        "2050",
        "String length is either shorter or longer than supported by specification",
        "String length specified does not match the supported length. "
        f"Min:0 Max:{maximum} supported. Supplied length:{supplied}",
        element,
    )


def business(detail: str, element: str | None = None) -> QboFault:
    return QboFault(
        400,
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def unsupported(detail: str, status: int = 400) -> QboFault:
    return QboFault(status, "500", "Unsupported Operation", detail)


def invalid_enum(element: str, value: Any) -> QboFault:
    return QboFault(400, "2170", "Invalid Enumeration", f"Invalid Enumeration : {value}", element)


def stale() -> QboFault:  # docs/quickbooks/api.md#full-and-sparse-updates
    return QboFault(
        400,
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and Emulator were working on this at the same time. "
        "Emulator finished before you did, so your work was not saved.",
    )


# docs/quickbooks/entities.md#customer, docs/quickbooks/entities.md#item
def duplicate_name(kind: str, existing_id: str) -> QboFault:
    return QboFault(
        400,
        "6240",
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : Another {kind} is already using this "
        f"name. Please use a different name. Id={existing_id}",
    )
