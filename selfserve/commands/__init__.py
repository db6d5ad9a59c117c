"""commands."""

from selfserve.commands.posters import (
    posters_group,
)
from selfserve.commands.root import (
    build_cli,
)

__all__ = [
    "build_cli",
    "posters_group",
]
