"""Microsoft Dynamics 365 Finance (finance and operations apps), OData v4 on data entities.

The vendor facts this package relies on (``shared/vendors/erps.md`` §1):

- Auth is Entra ID client credentials (v2.0 token endpoint, scope ``<environment>/.default``);
  the app must also be registered inside F&O, whose user's roles govern what it may do.
- The service root is ``<environment>/data``; reads page server-side (at most 10,000 rows) and
  follow ``@odata.nextLink``; ``$filter`` has no ``in`` (an ``or`` chain stands for it); every
  key holds ``dataAreaId``; a read sees the default company unless it asks ``cross-company=true``,
  so every read names its company in the filter.
- Customers are ``CustomersV3``; service invoices are free text invoices
  (``FreeTextInvoiceHeaders``/``FreeTextInvoiceLines``), drafts until posted; status and amounts
  settled come from the customer transactions (``CustTransBiEntities``: ``AmountCur``,
  ``SettleAmountCur``, ``Closed``, ``SysModifiedDateTime``), the only AR entity with a
  modification time, so the incremental reads start there.
- Assumed [unconfirmed]: posting is a bound action ``PostInvoice`` and settling a credit note
  against an invoice is ``SettleWithInvoice`` (F&O documents no OData operation for either; a
  deployment adds a custom service); credit notes are free text invoices with negative lines;
  free text invoices post as transactions of type ``Cust``; a payment names the invoice it
  settled in ``LastSettleVoucher``.
- No idempotency header: an invoice is looked up by ``ExternalInvoiceId`` before it is created
  (``posting``). Throttling is 429 with ``Retry-After`` under the service-protection limits
  (6,000 requests per 5 minutes, 52 in flight, per user); errors are OData bodies whose Infolog
  text sits in ``error.innererror.message``.
"""

from __future__ import annotations

from collectors.dynamics365.connector import (
    Dynamics365Connector,
    Dynamics365Settings,
    dynamics365_pacer,
)
from collectors.dynamics365.mapping import (
    LABEL,
    VENDOR,
    local,
    qualified,
    to_customer,
    to_invoice,
    to_payments,
)
from collectors.dynamics365.odata import STREAMS

__all__ = [
    "LABEL",
    "STREAMS",
    "VENDOR",
    "Dynamics365Connector",
    "Dynamics365Settings",
    "dynamics365_pacer",
    "local",
    "qualified",
    "to_customer",
    "to_invoice",
    "to_payments",
]
