"""Find a module, class or attribute by its dotted path."""

import importlib


def dotted_resolve(dotted: str):
    """`package.module.Class.attribute` -> that object; ImportError if no prefix is a module."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)
