"""The readers of environment variables and their refusals, used by env.py and nothing else.

env.py is the one list of the variables the service reads; each reader here records the
variable it reads with what it accepts (VARIABLES), and refuses a value with one SettingError
line naming the variable and what it accepts.
"""

import os
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import SettingError

# Every variable read, with what it accepts: filled by the readers, so that a variable cannot be
# read without being named (core/tests/test_settings_bounds.py has a case for each). Each run of
# env.py starts its own (variables_start): the tests run it afresh, a planted variable included.
VARIABLES: dict[str, str] = {}


def variables_start() -> dict[str, str]:
    """A new, empty registry that the readers fill from now on; env.py calls it first."""
    global VARIABLES
    VARIABLES = {}
    return VARIABLES


TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def _read(name: str, accepts: str) -> str | None:
    VARIABLES[name] = accepts
    value = os.environ.get(name)
    return None if value is None or value == "" else value


def refuse(name: str, value: str | None, accepts: str) -> SettingError:
    """The one line: the variable, its value (None: a secret's, never shown), what it accepts."""
    shown = name if value is None else f"{name}={value!r}"
    return SettingError(f"{shown} is refused: expected {accepts}.")


def env_str(name: str, default: str, *, choices: tuple[str, ...] = ()) -> str:
    accepts = " or ".join(repr(choice) for choice in choices) if choices else "any text"
    VARIABLES[name] = accepts
    value = os.environ.get(name, default)
    if choices and value not in choices:
        raise refuse(name, value, accepts)
    return value


def env_time_zone(name: str, default: str) -> str:
    """An IANA time zone name, refused at startup if this machine's zone database lacks it."""
    value = env_str(name, default)
    VARIABLES[name] = "an IANA time zone name (e.g. Europe/Moscow)"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise refuse(name, value, VARIABLES[name]) from None
    return value


def env_bool(name: str, default: bool) -> bool:
    accepts = "1 or 0 (true/false, yes/no, on/off)"
    value = _read(name, accepts)
    if value is None:
        return default
    if value.strip().lower() not in TRUE | FALSE:
        raise refuse(name, value, accepts)
    return value.strip().lower() in TRUE


def env_int(name: str, default: int, *, minimum: int, maximum: int, unit: str = "") -> int:
    accepts = f"a whole number from {minimum} to {maximum}{f' ({unit})' if unit else ''}"
    value = _read(name, accepts)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise refuse(name, value, accepts) from None
    if not minimum <= number <= maximum:
        raise refuse(name, value, accepts)
    return number


def env_list(name: str, default: str) -> list[str]:
    VARIABLES.setdefault(name, "comma-separated values")
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_secret(name: str, default: str) -> str:
    """A secret from NAME, or from the file NAME_FILE names (Docker and Kubernetes secrets).

    Setting both is refused: which one wins would be a guess. The file's trailing newline is
    not part of the secret.
    """
    VARIABLES[name] = "a secret"
    VARIABLES[f"{name}_FILE"] = f"the path of a readable file holding {name}"
    path = os.environ.get(f"{name}_FILE")
    if not path:
        return os.environ.get(name, default)
    if os.environ.get(name):
        raise SettingError(f"Set {name} or {name}_FILE, not both")
    try:
        return Path(path).read_text().rstrip("\r\n")
    except OSError as error:
        raise refuse(f"{name}_FILE", path, f"a readable file ({error.strerror})") from None


def env_secret_list(name: str) -> list[str]:
    return [item.strip() for item in env_secret(name, "").split(",") if item.strip()]


def env_renamed(name: str, *, formerly: str) -> str:
    """The variable to read: name, or its former name while only that one is set (with a
    warning, as the former name will stop working)."""
    VARIABLES[formerly] = f"the former name of {name}"
    if not os.environ.get(formerly):
        return name
    warnings.warn(
        f"{formerly} is deprecated: set {name} instead"
        + (f" ({formerly} is ignored while {name} is set)." if os.environ.get(name) else "."),
        FutureWarning,
        stacklevel=2,
    )
    return name if os.environ.get(name) else formerly
