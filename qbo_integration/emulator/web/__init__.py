"""The emulator's HTTP layer: request parsing, responses, routing, the JSON control API, the live server.

``responses`` is the leaf every HTTP-facing part uses (OAuth, fault injection, the UI); nothing in this package
is imported by the parts it routes to, so ``web/__init__`` stays empty.
"""
