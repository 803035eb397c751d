"""The console: a server-rendered web front end for agency staff (see docs/console.md).

Another front end of the api layer over the same ``services`` use cases, with people's accounts
and sessions instead of API clients' tokens. ``routes.console_router`` is what ``app.py``
mounts; ``gate.ConsoleGate`` decides who may open what before any handler runs.
"""
