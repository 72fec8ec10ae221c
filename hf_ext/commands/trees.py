"""``hf-ext trees ...``: work with tool-use inference trees.

``collect`` and ``eval`` (growing trees with a model, scoring a tool agent) live in
:mod:`hf_ext.commands.trees_agents`; this module only opens the ``trees`` group and adds them.
"""

from __future__ import annotations


def add_parser(subparsers) -> None:
    from hf_ext.commands.trees_agents import add_subcommands

    parser = subparsers.add_parser("trees", help="grow, mine and score tool-use inference trees")
    commands = parser.add_subparsers(dest="trees_command", required=True, metavar="ACTION")
    add_subcommands(commands)
