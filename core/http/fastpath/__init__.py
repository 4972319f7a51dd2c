"""Overrides of Django and adrf internals that keep a webhook request off worker threads."""
