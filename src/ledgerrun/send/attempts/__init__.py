"""The exactly-once engine and the operations built on it.

``engine``: one attempt at one operation (intent, key, send, outcome; stale attempts; in-flight
tasks; the journal failing); ``operation``: what an operation tells the engine; ``moves``: a
row's debit by transfer, debit by charge, credit; ``undo``: a reversal; ``lanes``: one account's
tasks in order, accounts side by side. docs/architecture.md shows how a new operation is added.
"""
