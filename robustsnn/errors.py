"""The one exception type for mistakes a user can fix (bad names, paths, configs).

The CLI turns it into a one-line message and a non-zero exit, with no traceback;
anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem in the user's input, files or environment, stated in one line."""
