"""Oracle Fusion Cloud ERP (Financials REST API): receivables invoices, credit memos and standard
receipts per business unit; customers through the CRM ``accounts`` resource of the same pod.

Vendor facts relied on (``shared/vendors/erps.md`` §2; how sure each is, in brackets there):

- base ``https://{pod}/fscmRestApi/resources/11.13.18.05``; HTTP Basic as an integration user in
  every vendor example, or a bearer JWT from the pod's token relay; ``REST-Framework-Version: 2``
  so ``q`` reads ``and``/``or`` expressions with quoted values.
- collections page with ``limit``/``offset`` (at most 500 a page [3rd-party]) and answer
  ``{items, count, hasMore, limit, offset, links}``; ``onlyData=true`` drops the links;
  ``expand`` brings children (invoice lines, receipt applications) into the item.
- a company is a business unit, named in every transaction (``BusinessUnit``); the business
  units are listed by ``finBusinessUnitsLOV``, each with its legal entity's name where the pod
  says (``LegalEntityName`` [unconfirmed]).
- invoices are created Incomplete with their lines and completed with
  ``{"InvoiceStatus": "Complete"}`` (PATCH may change only InvoiceStatus, PaymentTerms and
  TransactionDate); what is due is ``InvoiceBalanceAmount`` [3rd-party]; credit memos are created
  on account (negative lines) and completed with ``CreditMemoStatus``; their application to an
  invoice (``action/applyCreditMemo``) is [unconfirmed]: Fusion's REST documents none.
- payments are standard receipts; their applications to invoices are read with
  ``expand=standardReceiptApplications`` [unconfirmed child on ``standardReceipts``: Fusion
  documents that name under customer account activities].
- incremental reads filter ``LastUpdateDate>=`` (inclusive) [unconfirmed that it is queryable on
  these resources].
- ``parts[]`` batches on the version root are all-or-none [confirmed].
- no idempotency key: documents are looked up by transaction number before they are created
  (``posting``); Oracle publishes no rate limit, so calls are paced at ``requests_per_minute``
  and a 429's ``Retry-After`` is honoured. Errors come as
  ``{title, status, detail, o:errorDetails: [{detail, o:errorPath}]}`` [unconfirmed].
"""

from __future__ import annotations

from collectors.oracle_fusion.connector import (
    MAX_PAGE,
    OracleFusionConnector,
    OracleFusionSettings,
    fusion_pacer,
)
from collectors.oracle_fusion.mapping import (
    VENDOR,
    credit_memo_body,
    invoice_body,
    posted_credit_note,
    posted_invoice,
    quoted,
    to_customer,
    to_invoice,
    to_payments,
)
from collectors.oracle_fusion.posting import Posting, run_batch

__all__ = [
    "MAX_PAGE",
    "VENDOR",
    "OracleFusionConnector",
    "OracleFusionSettings",
    "Posting",
    "credit_memo_body",
    "fusion_pacer",
    "invoice_body",
    "posted_credit_note",
    "posted_invoice",
    "quoted",
    "run_batch",
    "to_customer",
    "to_invoice",
    "to_payments",
]
