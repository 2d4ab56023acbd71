"""What the environment gives this process, known without building the settings when it sets nothing of ours.

`permscope.settings` reads every PERMSCOPE_ variable through pydantic-settings, whose import alone costs about
a tenth of a second. A command that only needs the file limits (`permscope scan`) asks here: when no variable
named PERMSCOPE_... (in any case, as pydantic-settings matches them) is set, the settings are their defaults
and so are the limits; otherwise the settings are built as always, with their validation and their errors.
"""

from __future__ import annotations

import os

from permscope.userfiles import DEFAULT_LIMITS, FileLimits

ENV_PREFIX = "PERMSCOPE_"  # the prefix of every setting's variable (Settings.model_config)


def sets_anything() -> bool:
    """Whether a PERMSCOPE_ variable is set (then only the settings know what it changes)."""
    return any(name.upper().startswith(ENV_PREFIX) for name in os.environ)


def file_limits() -> FileLimits:
    """The limits on the files users give: `Settings.file_limits()`, without the settings when nothing is set."""
    if not sets_anything():
        return DEFAULT_LIMITS
    from permscope.settings import get_settings

    return get_settings().file_limits()
