"""The two kinds of failure every layer raises, so the CLI and the window can tell them apart."""


class SeedbedError(Exception):
    """Base class: a message meant for the user, never a traceback."""


class UserError(SeedbedError):
    """The user asked for something that cannot be done as asked (bad input); exit code 2."""


class OperationError(SeedbedError):
    """A well-formed request that failed (conflict, dirty checkout, git error); exit code 1."""


class IllegalTransition(UserError):
    """A task move that the lifecycle does not allow."""


class NotFound(UserError):
    """The request names something that does not exist (a task, a project, a profile)."""


class Busy(UserError):
    """Something else holds what the request needs (the engine's lock, a task being merged)."""
