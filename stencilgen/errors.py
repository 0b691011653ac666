"""The project's error types. Each carries the process exit code the CLI uses for it."""

from __future__ import annotations


class StencilgenError(Exception):
    """Base of every error stencilgen raises on purpose; the message is one line for the user."""

    exit_code = 1


class UsageError(StencilgenError):
    """The command line asks for something impossible (bad option value, conflicting options)."""

    exit_code = 2


class InputError(StencilgenError):
    """An input file (layout or rules) cannot be read or holds nothing usable."""

    exit_code = 3


class EmptyStencil(InputError):
    """A stencil file that draws nothing at all: checked, it is a stencil without apertures (every
    contact's finding says so), not an unreadable file."""


class OutputError(StencilgenError):
    """An output file or folder cannot be written."""

    exit_code = 4


def input_error(path: object, message: str) -> InputError:
    """An InputError whose message starts with the file's name, as every reader error should."""
    return InputError(f"{path}: {message}")
