"""What every entity declares: its properties, which operations it allows, and the hooks the generic
operations (``Books.create``, ``update``, ``delete``, ``void``, ``render``) call. Defaults do nothing."""

from __future__ import annotations

from decimal import Decimal

from ..ledger import Ledger
from ..values import Obj


class EntityKind:
    name = ""
    writable: frozenset[str] = frozenset()
    # accepted on input and ignored (docs/quickbooks/libraries.md#what-python-quickbooks-sends: python-quickbooks sends
    # them)
    read_only: frozenset[str] = frozenset()
    ref_keys: tuple[str, ...] = ()  # properties of any object that refer to this entity (filled with its name)
    name_field = "Name"
    name_list = False  # names are made inactive, never deleted; queries leave inactive ones out
    creatable = True
    api_writable = True  # False: read-only to the API (query and read only; the seed inserts them)
    deletable = False
    voidable = False
    open_amount = ""  # what a void zeroes besides TotalAmt (Balance, UnappliedAmt)

    @property
    def properties(self) -> frozenset[str]:
        return self.writable | self.read_only

    def build(self, books: Ledger, fields: Obj, old: Obj | None, body: Obj, include: frozenset[str]) -> Obj:
        """The fields to store, validated and completed; ``old`` is the stored version on an update and
        ``body`` the whole cleaned request (read-only properties included)."""
        raise NotImplementedError

    def read_id(self, books: Ledger, entity_id: str) -> str:
        return entity_id

    def check_unlinked(self, books: Ledger, obj: Obj, verb: str) -> None:
        """Refuse to delete or void (``verb``) an object other transactions still depend on."""

    def after_write(self, books: Ledger, old: Obj | None, new: Obj | None) -> None:
        """Propagate a committed change to linked objects (``new`` is None after a delete)."""

    def render(self, books: Ledger, obj: Obj, out: Obj, balances: dict[str, Decimal] | None) -> None:
        """Add the derived fields QBO shows to ``out`` (a copy of ``obj``)."""
