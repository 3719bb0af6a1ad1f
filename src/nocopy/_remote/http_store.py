"""Files of a dataset served over HTTP(S), read with the standard library (urllib)."""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.parse
import urllib.request

from .errors import PermanentError, TransientError

__all__ = ["HttpStore"]

_CHUNK = 1 << 20
# Statuses worth a retry: a timeout, too many requests, and every server error.
_TRANSIENT = {408, 425, 429}


def _transient_status(code: int) -> bool:
    return code >= 500 or code in _TRANSIENT


class HttpStore:
    """GETs of the files under ``url`` (a folder URL), each socket operation under a timeout;
    ``storage_options`` may give ``headers`` (a dict sent with every request)."""

    OPTIONS = ("headers",)

    def __init__(self, url: str, storage_options: dict):
        self.base = url.rstrip("/") + "/"
        headers = storage_options.get("headers", {})
        if not isinstance(headers, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise TypeError("storage_options['headers'] must be a dict of str to str")
        self.headers = dict(headers)

    def describe(self, rel: str) -> str:
        """The URL of the file at ``rel`` (a path relative to the dataset folder)."""
        return self.base + urllib.parse.quote(rel)

    def open(self, rel: str, offset: int, timeout: float):
        """(first byte's offset, iterator of the body's chunks) of the file at ``rel``, asking
        for the bytes from ``offset`` on (the server may send the whole file: offset 0).
        TransientError or PermanentError for a failed request or read."""
        headers = dict(self.headers)
        if offset:
            headers["Range"] = f"bytes={offset}-"
        request = urllib.request.Request(self.describe(rel), headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=max(timeout, 0.05))
        except urllib.error.HTTPError as exc:
            exc.close()
            if _transient_status(exc.code):
                raise TransientError(f"HTTP {exc.code} {exc.reason}") from None
            raise PermanentError(f"HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise TransientError(_why(exc)) from None
        start = offset if response.status == 206 else 0
        return start, self._chunks(response)

    @staticmethod
    def _chunks(response):
        try:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (http.client.HTTPException, OSError) as exc:
                    raise TransientError(_why(exc)) from None
                if not chunk:
                    return
                yield chunk
        finally:
            response.close()


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"socket timeout ({exc})"
    return f"{type(exc).__name__}: {exc}"
