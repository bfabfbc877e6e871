"""CLI subcommands. Each module exposes ``register(subparsers)``; ``cli.main`` wires them.

The commands only translate between the command line and the library: they parse
arguments, call pure library functions, print or write results, and map
:class:`wastenet.errors.WastenetError` to exit code 2 with its message.
"""

COMMAND_MODULES = (
    "network",
    "site",
    "compare",
    "solve",
    "plan_routes",
    "plan_province",
    "serve",
    "keys",
)
