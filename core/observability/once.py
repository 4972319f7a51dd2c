"""Once per launch: a startup warning said by the first process of a launch, not by each.

`make run` starts migrate, the seed, uvicorn's supervisor and its workers (and a worker in
background mode), each loading Django; a warning from an app's ready() came out 8-10 times. They
share one process group (the launcher's: scripts/serve.sh under make, uvicorn as the container's
PID 1, a test's server started in a session of its own), so the first process of the group to
ask creates a marker file named after the group and its leader's start time, and the others
find it. Without /proc (not Linux) every process says it: too often is better than never.
"""

import os
import tempfile
from pathlib import Path


def launch_first(what: str) -> bool:
    """True in the first process of this launch to ask about `what`, False in the others."""
    group = os.getpgrp()
    try:
        # Field 22 of /proc/<pid>/stat: the start time, so a reused group id is another launch.
        started = Path(f"/proc/{group}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return True
    marker = Path(tempfile.gettempdir()) / f"payments-once-{os.getuid()}-{group}-{started}-{what}"
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return False
    except OSError:
        return True
    return True
