"""Commands: the `flask --app app …` command line.

Owns every CLI command (db, campaigns, customers, consent, users, posters, birthdays,
competitions, worker) as thin click functions over the app's `Services`. It may import any
selfserve package and `services`; nothing imports it except app.py.
"""

from selfserve.commands.posters import posters_group
from selfserve.commands.root import build_cli

__all__ = [
    "build_cli",
    "posters_group",
]
