"""Notifications: who is told when a run ends, reconcile finds a discrepancy, or a batch in the web
application needs a decision or gets one.

The package takes plain values (a job's name, an exit code, counts, a batch's fields) and imports
only the base layer, so every front end (the command line, the Python API, the web application and
its worker) tells people the same way:

``settings``
    The ``[notify]`` table of a job file or of ``serve.toml``, checked key by key (a base module:
    the job file reader uses it).
``message``
    :class:`~ledgerrun.notify.message.Notification`: one event, its JSON body and the short text
    that Slack and email show.
``channels``
    Webhook (a JSON POST signed with HMAC-SHA256), Slack's incoming webhooks, email over SMTP.
``deliver``
    :class:`~ledgerrun.notify.deliver.Notifier`: each channel in its own thread, a few tries with
    back-off, every failure logged and none raised: a notification never changes an exit code.

This module imports nothing, so that reading a job file does not load the mail and HTTP clients.
"""
