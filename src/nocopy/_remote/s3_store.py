"""Files of a dataset in an S3 bucket (or an S3-compatible store), read with boto3."""

from __future__ import annotations

import os
import threading

from .errors import PermanentError, TransientError

__all__ = ["S3Store"]

_CHUNK = 1 << 20


def _boto3():
    try:
        import boto3
        import botocore.config
        import botocore.exceptions
    except ImportError as exc:
        raise ImportError("s3:// datasets need boto3: pip install nocopy[remote] (or pip "
                          "install boto3)") from exc
    return boto3, botocore


class S3Store:
    """GETs of the objects under ``s3://bucket/prefix``. The endpoint, the credentials and the
    region come from ``storage_options`` (``endpoint_url``, ``key``, ``secret``, ``token``,
    ``region``), else from the AWS environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION or AWS_DEFAULT_REGION) and boto3's
    usual configuration files."""

    OPTIONS = ("endpoint_url", "key", "secret", "token", "region")

    def __init__(self, url: str, storage_options: dict):
        self._boto3, self._botocore = _boto3()
        rest = url[len("s3://"):]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError(f"{url!r} names no bucket (s3://bucket/prefix)")
        for name in self.OPTIONS:
            if storage_options.get(name) is not None and not isinstance(
                    storage_options[name], str):
                raise TypeError(f"storage_options[{name!r}] must be a str")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        env = os.environ
        self.endpoint_url = (storage_options.get("endpoint_url") or env.get("AWS_ENDPOINT_URL_S3")
                             or env.get("AWS_ENDPOINT_URL") or None)
        self.region = (storage_options.get("region") or env.get("AWS_REGION")
                       or env.get("AWS_DEFAULT_REGION") or None)
        self._credentials = {k: storage_options.get(o) for k, o in (
            ("aws_access_key_id", "key"), ("aws_secret_access_key", "secret"),
            ("aws_session_token", "token")) if storage_options.get(o)}
        self._s3 = None
        self._lock = threading.Lock()

    def _key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def describe(self, rel: str) -> str:
        """The s3:// URL of the object at ``rel`` (a path relative to the dataset folder)."""
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self._key(rel)}{where}"

    def client(self, timeout: float):
        """The boto3 client (made once; its own retries off: the caller retries)."""
        with self._lock:
            if self._s3 is None:
                config = self._botocore.config.Config(
                    connect_timeout=timeout, read_timeout=timeout,
                    retries={"max_attempts": 1, "mode": "standard"})
                session = self._boto3.session.Session()
                self._s3 = session.client("s3", endpoint_url=self.endpoint_url,
                                              region_name=self.region, config=config,
                                              **self._credentials)
            return self._s3

    def open(self, rel: str, offset: int, timeout: float):
        """(first byte's offset, iterator of the body's chunks) of the object at ``rel`` from
        ``offset`` on. TransientError or PermanentError for a failed request or read."""
        args = {"Bucket": self.bucket, "Key": self._key(rel)}
        if offset:
            args["Range"] = f"bytes={offset}-"
        try:
            response = self.client(timeout).get_object(**args)
        except Exception as exc:  # noqa: BLE001 - every botocore failure is sorted below
            raise self._classify(exc) from None
        start = offset if response.get("ContentRange") else 0
        return start, self._chunks(response["Body"])

    def _chunks(self, body):
        try:
            while True:
                try:
                    chunk = body.read(_CHUNK)
                except Exception as exc:  # noqa: BLE001
                    raise self._classify(exc) from None
                if not chunk:
                    return
                yield chunk
        finally:
            body.close()

    def _classify(self, exc: Exception) -> Exception:
        errors = self._botocore.exceptions
        if isinstance(exc, errors.ClientError):
            meta = exc.response.get("ResponseMetadata", {})
            status = int(meta.get("HTTPStatusCode") or 0)
            code = exc.response.get("Error", {}).get("Code", "?")
            why = f"HTTP {status} {code}"
            if status >= 500 or status in (408, 429) or code in ("SlowDown", "RequestTimeout"):
                return TransientError(why)
            return PermanentError(why)
        if isinstance(exc, (errors.NoCredentialsError, errors.PartialCredentialsError,
                            errors.ParamValidationError, errors.NoRegionError)):
            return PermanentError(f"{type(exc).__name__}: {exc}")
        return TransientError(f"{type(exc).__name__}: {exc}")
