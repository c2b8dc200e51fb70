"""The routes: every page, form and download, each behind a sign-in and a role check, one module
per area: :mod:`~ledgerrun.web.routes.signin`, :mod:`~ledgerrun.web.routes.batches` (list,
upload, batch page, approve and reject), :mod:`~ledgerrun.web.routes.runs` (run, progress,
results, downloads, report), :mod:`~ledgerrun.web.routes.reconcile`,
:mod:`~ledgerrun.web.routes.reverse` and :mod:`~ledgerrun.web.routes.audit`; what they share
(the roles, the guard, form helpers) is in :mod:`~ledgerrun.web.routes.common`.
:func:`~ledgerrun.web.app.create_app` puts each at its address.

Roles: a *preparer* uploads ledgers; an *approver* approves or rejects them (never a batch they
uploaded themselves); an *admin* may do both (still never approving their own upload). Anyone
signed in may look at batches, run an approved batch, reconcile it and download its results.
Every POST carries the session's CSRF token; a signed-out visitor is sent to the sign-in page (a
download or a progress request gets 401); an action beyond the user's role gets 403, whatever
the page showed.
"""
