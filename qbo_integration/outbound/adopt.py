"""Before creating a document: look for one an earlier try created — by the order's number, or, where QuickBooks
numbers documents itself, by the marker in its private note (adapt/numbering.py) — and adopt it when it is ours."""

from __future__ import annotations

from orders.models import Order

from ..adapt import classes, names
from ..adapt.numbering import quickbooks_numbers
from ..adapt.tax import subtotal_in_quickbooks
from ..client.errors import QboDuplicateError, QboValidationError
from ..connection import calls
from ..documents.reading import is_voided
from ..models import QboSyncJob
from ..outbox.jobs import reapply_id
from ..refs.lookups import find_by_doc_number
from ..refs.markers import find_by_marker


def adoptable(doc: dict, *, customer_id: str, order: Order, entity: str) -> dict:
    """A document found by DocNumber (or marker) is ours only if customer and total match (Invoice Ninja's check)."""
    same_customer = str((doc.get("CustomerRef") or {}).get("value")) == str(customer_id)
    same_total = subtotal_in_quickbooks(doc) == order.total  # QuickBooks' tax is not Kadouri's (adapt/tax.py)
    # A voided invoice keeps its number and customer but every amount is 0 (docs/quickbooks/api.md#void): ours, voided
    # by the bookkeeper after a try whose answer was lost (found by the soak). Refusing it would fail the job for good.
    voided = entity in ("Invoice", "SalesReceipt") and is_voided(doc)
    if same_customer and (same_total or voided):
        return doc
    number = doc.get("DocNumber") or order.number
    raise QboDuplicateError(
        f"QuickBooks already has {entity.lower()} #{number} (Id {doc.get('Id')}) for order {order.number} with "
        f"another customer or amount. Check it in QuickBooks: delete or renumber it there if it is not this order, "
        f"then try again.",
        code="6140",
    )


def existing_document(entity: str, order: Order, customer_id: str) -> dict | None:
    """What an earlier try of this order may have created (one query, more only for a very busy customer)."""
    if quickbooks_numbers():
        return find_by_marker(entity, order, customer_id)
    return find_by_doc_number(entity, order.number)


def create_or_adopt(job: QboSyncJob, order: Order, entity: str, payload: dict, customer_id: str) -> dict:
    # Always look before creating: not only this job's earlier tries, but an earlier job that ended failed while in
    # doubt, or one from before the order was edited (the job key holds the version), may have reached QuickBooks
    # although we saw an error.
    found = existing_document(entity, order, customer_id)
    if found is not None:
        return adoptable(found, customer_id=customer_id, order=order, entity=entity)
    try:
        return calls.create(entity, payload, request_id=job.request_id)
    except QboValidationError as e:
        # 2500: the customer or an item was made inactive in QuickBooks since it was linked. The company rule makes
        # it active again (then the create is sent once more, under its own requestid: the first one's answer is
        # cached) or refuses in plain words (adapt/names.py). A class made inactive is refused (adapt/classes.py).
        # Nothing inactive any more: a retry after an earlier try reactivated them, whose second create failed on a
        # blip, got the first request's cached 2500 back; the second request id sends it for real.
        classes.raise_if_class_fault(order, payload, e)
        names.settle_inactive_refs(order, payload, e)
        return calls.create(entity, payload, request_id=reapply_id(job))
    except QboDuplicateError as e:
        if e.code != "6140":
            raise
        found = existing_document(entity, order, customer_id)
        if found is None:
            raise
        return adoptable(found, customer_id=customer_id, order=order, entity=entity)
