"""Copies of Django, DRF and adrf internals, each checked against its installed original
(core/tests/http/test_fastpath.py): the overrides that keep a webhook request off worker threads,
and the JSON parser that refuses repeated keys."""
