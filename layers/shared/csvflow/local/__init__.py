"""The local runtime: the real workflow against an in-process AWS emulation (moto).

It comes with the ``local`` extra (``pip install "csvflow[local]"``): the deployed functions and
an operator's commands against AWS need none of these modules, so a plain install lacks them.
"""

EXTRA = "local"
# The top-level modules of the extra's packages (pyproject.toml, [local]; a test holds the two
# equal): a command that imports one of them without the extra says which extra to install.
EXTRA_MODULES = frozenset({"moto", "flask", "flask_cors", "pgserver", "platformdirs"})


def missing_extra_module(error: BaseException) -> str | None:
    """The extra's module whose absence ``error`` reports, if that is what it reports."""
    if not isinstance(error, ModuleNotFoundError) or not error.name:
        return None
    return error.name if error.name.partition(".")[0] in EXTRA_MODULES else None
