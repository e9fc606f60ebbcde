"""The one exception type for bad user input (the CLI prints it on one line and exits 2),
and the helpers its messages share."""


class UserError(Exception):
    """Bad input found before anything started: the message says what, where and the fix."""

    exit_code = 2

    def __init__(self, message: str):
        # One line, always: a wrapped message is easier to miss in a terminal.
        super().__init__(" ".join(str(message).split()))


def did_you_mean(name: str, valid) -> str:
    """' (did you mean 'x'?)' when a close match exists, else ''."""
    import difflib

    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_problem(e: Exception) -> str:
    """What a TOML or JSON parser's exception says, without advice meant for programmers."""
    if isinstance(e, RecursionError):
        return "nested too deeply"
    if "integer string conversion" in str(e):
        return "a number with more than 4300 digits"
    return " ".join(str(e).split())
