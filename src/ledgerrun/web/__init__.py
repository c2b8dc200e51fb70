"""The web application: upload, review, approve (four eyes), run, download, reconcile.

Served by ``ledgerrun serve`` for finance staff who work in browsers. It holds no business logic
of its own: every page calls the same library functions as the command line (``prepare``,
``build_plan``/``plan_online``, ``run_job``, reconcile), over the same jobs and the same store.

Modules: :mod:`~ledgerrun.web.config` (``serve.toml``), :mod:`~ledgerrun.web.security`
(passwords, sessions, CSRF, headers, the upload cap), :mod:`~ledgerrun.web.service` (batches over
the library), :mod:`~ledgerrun.web.worker` (runs queued work), :mod:`~ledgerrun.web.progress`
(the progress of that work), :mod:`~ledgerrun.web.app` (the application and its route table),
:mod:`~ledgerrun.web.routes` (the pages, one module per area), :mod:`~ledgerrun.web.grid` (a
page of a ledger with its problems on their cells), :mod:`~ledgerrun.web.results` (a run's
results table, read and converted), :mod:`~ledgerrun.web.views` (how numbers and statuses are
shown).
"""
