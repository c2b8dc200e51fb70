"""Everything the tests share, in one place (fixtures are registered by ``tests/conftest.py``).

The suite: ``unit/`` (milliseconds, in-process fakes, no HTTP), ``ingest/`` and ``store/`` (one
stage each, real files), ``sandbox/`` (the Stripe double on its own), ``e2e/`` (the real CLI in
its own process against a sandbox over HTTP, money judged on the sandbox's books),
``browser/`` (the HTML report in Chromium), and at the top the tests of one module each plus
``test_layout.py`` (the architecture) and ``test_facts_agree.py`` (product and sandbox facts).

=================  ==========================================================================
``constants``      paths (repository, samples, jobs), the run date, the test key, the platform
                   and connected accounts of ``data_samples/accounts.json``, the ledger header
``cli``            the real command line in its own process; job files and results files
``sandbox``        a running sandbox over HTTP: its state, clock and balances, the SDK client,
                   and the seed the sandbox's own tests start from
``fixtures``       ``make_sandbox`` (any seed, faults), ``sandbox`` (the sample accounts), ``write``
``soak``           the mixed-request soak (``tests/sandbox`` runs it short, ``tools/soak.py`` long)
``stages``         a validation as the later stages take it (prepared, plan, results), offline;
                   a ledger and its job, prepared online against the fakes
``store``          store entries, runs and outcomes; child processes; a version-1 journal
``fakes``          in-process doubles: ``FakeClock``, ``FakeClient`` (the Stripe client),
                   ``FakeStore`` (the journal)
=================  ==========================================================================

Nothing here reads anything outside the repository.
"""
