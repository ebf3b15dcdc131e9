"""The one error type the command line turns into a one-line message and exit status 2."""


class UsageError(Exception):
    """Bad input from the user: a rule file with a mistake, a malformed trace, absurd parameters.

    The message is printed on one line after ``tbcheck: error:``; no traceback is shown.
    """
