"""Retries with exponential backoff and jitter, bounded by a deadline on the whole operation."""

from __future__ import annotations

import random
import time

from .errors import PermanentError, RemoteError, TransientError

__all__ = ["Deadline", "retrying", "BACKOFF_FIRST_S", "BACKOFF_MAX_S"]

#: Pause after the first failed try; each later pause doubles, up to BACKOFF_MAX_S.
BACKOFF_FIRST_S = 0.1
#: The longest pause between two tries.
BACKOFF_MAX_S = 5.0


class Deadline:
    """A point in time ``seconds`` from now (monotonic clock)."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.end = time.monotonic() + self.seconds

    def left(self) -> float:
        """Seconds left (0 once past)."""
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return time.monotonic() >= self.end


def backoff(attempt: int) -> float:
    """The pause after failed try number ``attempt`` (0-based): exponential, with jitter
    (a factor drawn in [0.5, 1.5)) so that many clients do not retry in step."""
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** attempt) * (0.5 + random.random())


def retrying(what: str, url: str, attempt_fn, deadline: Deadline, retries: int,
             on_retry=None):
    """Calls ``attempt_fn()`` until it returns, retrying a TransientError with backoff up to
    ``retries`` times while ``deadline`` allows. A PermanentError, the retries spent or the
    deadline passed raise RemoteError naming ``what``, ``url`` and the last cause.
    ``on_retry(cause)`` is called before each retry."""
    tries = 0
    while True:
        try:
            return attempt_fn()
        except PermanentError as exc:
            raise RemoteError(f"{what}: {url}: {exc}") from exc
        except TransientError as exc:
            tries += 1
            pause = backoff(tries - 1)
            if tries > retries or deadline.left() <= pause:
                why = (f"{tries} tries failed" if tries > retries
                       else f"timed out after {deadline.seconds:g} s ({tries} tries)")
                raise RemoteError(f"{what}: {url}: {why}; last cause: {exc}") from exc
            if on_retry is not None:
                on_retry(exc)
            time.sleep(pause)
