"""The ASGI layers around Django, the JSON error responses, and the guarded fast path."""
