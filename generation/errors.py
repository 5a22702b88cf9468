"""The one root for problems a user caused; `str(error)` is the message they see."""


class InputError(ValueError):
    """Bad user input: the message names what was wrong and what is allowed."""
