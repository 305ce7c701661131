"""Schemathesis hooks for infra/schemathesis.

No generated callback_url may leave this machine: the API resolves a callback's
host when the job is created and the worker would call it. Every body's
callback_url is replaced by an https URL on a loopback literal, which the API
refuses (422 bad-callback-url) without resolving or calling anything.
"""

import schemathesis

LOOPBACK = "https://127.0.0.1/never-called"


@schemathesis.hook
def before_call(context, case, kwargs):
    body = case.body
    if isinstance(body, dict) and "callback_url" in body:
        body["callback_url"] = LOOPBACK
