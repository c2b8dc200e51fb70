"""The pages, forms and downloads of the web application, one module per area.

Roles: a *preparer* uploads ledgers; an *approver* approves or rejects them (never a batch they
uploaded themselves); an *admin* may do both (still never approving their own upload). Anyone
signed in may look at batches, run an approved batch, reconcile it and download its results.
Every POST carries the session's CSRF token; a signed-out visitor is sent to the sign-in page (a
download or a progress request gets 401); an action beyond the user's role gets 403, whatever
the page showed.
"""
