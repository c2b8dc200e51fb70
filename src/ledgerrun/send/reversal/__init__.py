"""``ledgerrun reverse``: undoing adjustments, in full or in part, exactly once.

``requests``: what a reversal request asks, checked against the journal; ``books``: what Stripe's
books say of the transfers to reverse (confirmed, reversed outside ledgerrun, reversals already
made); ``sender``: each reversal sent exactly once by the engine; ``files``: the reversals file
and its summary; ``command``: :func:`~ledgerrun.send.reversal.command.reverse_job`, the stages
composed.
"""
