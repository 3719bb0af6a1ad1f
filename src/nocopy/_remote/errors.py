"""The errors of the remote shard stores."""

from __future__ import annotations

__all__ = ["RemoteError", "TransientError", "PermanentError"]


class RemoteError(OSError):
    """A remote dataset could not be read: the server stayed down or kept failing past the
    timeout or the retries, refused a file (4xx), or kept sending a file that does not match
    its index entry. The message names the shard or file, the URL and the last cause."""


class TransientError(Exception):
    """One try failed in a way that a later try may not (5xx, a dropped connection, a socket
    timeout, a short or corrupt body): retried with backoff."""


class PermanentError(Exception):
    """One try failed in a way that no retry will mend (4xx such as 404 or 403, missing
    credentials): raised at once as a RemoteError."""
