"""Sub-commands of the ``hf-ext`` CLI: one module each, with ``add_parser(subparsers)``.

A module's ``add_parser`` adds its sub-parser and sets ``func`` to a function taking the parsed arguments
and returning an exit code; setting ``pass_through=True`` too hands the arguments the parser did not know to
``func`` as ``args.extra``. :data:`COMMAND_MODULES` lists the modules in the order ``--help`` shows.
"""

COMMAND_MODULES = [
    "hf_ext.commands.train",
    "hf_ext.commands.listing",
    "hf_ext.commands.evaluate",
    "hf_ext.commands.quickstart",
    "hf_ext.commands.babilong",
    "hf_ext.commands.prune",
    "hf_ext.commands.elo",
    "hf_ext.commands.trees",
    "hf_ext.commands.formalize",
    "hf_ext.commands.streambench",
]
