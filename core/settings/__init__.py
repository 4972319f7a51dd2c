"""Settings for the bank-webhook payments service (DJANGO_SETTINGS_MODULE=core.settings).

Read in sections; every environment variable is read in core.settings.env and nowhere else.
"""

from core.settings.api import *  # noqa: F403
from core.settings.database import *  # noqa: F403
from core.settings.jobs import *  # noqa: F403
from core.settings.operations import *  # noqa: F403
from core.settings.project import *  # noqa: F403
from core.settings.security import *  # noqa: F403
