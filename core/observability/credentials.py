"""Passwords out of anything shown: URLs (`scheme://user:PASSWORD@host`) and libpq key=value
strings (`password=...`). Used by every log formatter (core.observability.logs) and by the error
reports Django renders or logs (core.observability.error_reports).

No Django here: the log formatters are loaded before Django's apps are ready.
"""

import re

CLEANSED = "********"
# `scheme://user:password@` (the user may be empty: redis://:password@host); the password ends
# at the last `@` before the host, so a password holding `@` or `:` is still hidden.
_URL_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/?#@]*:)[^\s/?#]*@")
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s'\"]+)", re.IGNORECASE)


def credentials_cleanse(text: str) -> str:
    """text with every URL password and `password=` value replaced by CLEANSED."""
    # Most lines hold neither: two substring tests spare them the regular expressions.
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\g<1>{CLEANSED}@", text)
    if "assword" in text or "ASSWORD" in text:
        text = _KEYWORD_PASSWORD.sub(rf"\g<1>{CLEANSED}", text)
    return text
