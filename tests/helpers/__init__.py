"""Everything the tests share, in one place (fixtures are registered by ``tests/conftest.py``).

=================  ==========================================================================
``constants``      paths (repository, samples, jobs), the run date, the test key, the platform
                   and connected accounts of ``data_samples/accounts.json``, the ledger header
``cli``            the real command line in its own process; job files and results files
``sandbox``        a running sandbox over HTTP: its state, clock and balances, the SDK client,
                   and the seed the sandbox's own tests start from
``fixtures``       ``make_sandbox`` (any seed, faults), ``sandbox`` (the sample accounts), ``write``
``soak``           the mixed-request soak (``tests/sandbox`` runs it short, ``tools/soak.py`` long)
``stages``         a validation as the later stages take it (prepared, plan, results), offline
``store``          store entries, runs and outcomes; child processes; a version-1 journal
``fakes``          in-process doubles: ``FakeClock``, ``FakeClient`` (the Stripe client),
                   ``FakeStore`` (the journal)
=================  ==========================================================================

Nothing here may read ``/work/shared`` or anything outside the repository.
"""
