"""``BlobStore`` over the S3 protocol (AWS, MinIO, Ceph RGW) for scale-out deployments.

The client is passed in, built once by the application's bootstrap: this module never reads
credentials or settings. Objects larger than one part go up as a multipart upload, which S3
makes visible only on completion, so ``put`` keeps the store's all-or-nothing contract; a
failed upload is aborted so no orphaned parts are billed or left holding ciphertext.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from evidence.content.blobs import BLOB_ID_PATTERN, check_blob_id, check_range
from evidence.content.errors import BlobExistsError, BlobNotFoundError, RangeError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

MIN_PART_SIZE: Final = 5 << 20
DEFAULT_PART_SIZE: Final = 8 << 20
_NOT_FOUND: Final = frozenset({"404", "NoSuchKey", "NotFound"})
_EXISTS: Final = frozenset({"412", "PreconditionFailed"})


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3BlobStore:
    """Blobs as objects ``<prefix><blob_id>`` in one bucket.

    Write-once is enforced twice: a ``HEAD`` before uploading fails fast (and covers servers
    that ignore conditional writes), and ``If-None-Match: *`` on the final request closes the
    race between two writers on servers that honour it.
    """

    def __init__(
        self,
        bucket: str,
        client: S3Client,
        *,
        prefix: str = "",
        part_size: int = DEFAULT_PART_SIZE,
        list_page_size: int = 1000,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError("S3 parts other than the last must be at least 5 MiB")
        self.bucket = bucket
        self.prefix = prefix
        self.part_size = part_size
        self.list_page_size = list_page_size
        self._client = client

    def __repr__(self) -> str:
        return f"S3BlobStore({self.bucket!r}, prefix={self.prefix!r})"

    def key(self, blob_id: str) -> str:
        """The object key holding ``blob_id``."""
        return self.prefix + check_blob_id(blob_id)

    def put(self, blob_id: str, chunks: Iterable[bytes | memoryview]) -> int:
        """One PUT up to ``part_size`` bytes, multipart beyond; see ``BlobStore.put``."""
        key = self.key(blob_id)
        if self.exists(blob_id):
            raise BlobExistsError(blob_id)
        buffer, size, upload_id = bytearray(), 0, ""
        parts: list[CompletedPartTypeDef] = []
        try:
            for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) > self.part_size:  # so the last part is never empty
                    if not upload_id:
                        upload = self._client.create_multipart_upload(Bucket=self.bucket, Key=key)
                        upload_id = upload["UploadId"]
                    parts.append(self._upload_part(key, upload_id, len(parts) + 1, buffer))
                    del buffer[: self.part_size]
            if not upload_id:
                self._client.put_object(
                    Bucket=self.bucket, Key=key, Body=bytes(buffer), IfNoneMatch="*"
                )
                return size
            parts.append(self._upload_part(key, upload_id, len(parts) + 1, buffer))
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException as error:
            if upload_id:
                self._abort(key, upload_id)
            if isinstance(error, ClientError) and _code(error) in _EXISTS:
                raise BlobExistsError(blob_id) from None
            raise
        return size

    def _abort(self, key: str, upload_id: str) -> None:
        """Abort a failed upload; if even that fails, the original error is the one raised.

        Parts an abort could not remove are unreadable ciphertext without a key; a bucket
        lifecycle rule (AbortIncompleteMultipartUpload) is the operator's backstop.
        """
        with contextlib.suppress(ClientError, BotoCoreError):
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def _upload_part(
        self, key: str, upload_id: str, number: int, buffer: bytearray
    ) -> CompletedPartTypeDef:
        body = bytes(memoryview(buffer)[: self.part_size])
        response = self._client.upload_part(
            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def get_range(self, blob_id: str, start: int, end: int) -> bytes:
        """One ranged GET; see ``BlobStore.get_range``."""
        key = self.key(blob_id)
        if start == end:  # S3 has no empty range; still report a missing object or bad start
            check_range(start, end, self.size(blob_id))
            return b""
        if not 0 <= start < end:
            raise RangeError(f"range [{start}, {end}) is not a byte range")
        try:
            response = self._client.get_object(
                Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end - 1}"
            )
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise BlobNotFoundError(blob_id) from None
            if _code(error) in {"416", "InvalidRange"}:
                raise RangeError(f"range [{start}, {end}) beyond the end of {blob_id}") from None
            raise
        with response["Body"] as body:
            data = body.read()
        if len(data) != end - start:
            raise RangeError(f"range [{start}, {end}) beyond the end of {blob_id}")
        return data

    def size(self, blob_id: str) -> int:
        """``ContentLength`` from a HEAD; see ``BlobStore.size``."""
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self.key(blob_id))
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise BlobNotFoundError(blob_id) from None
            raise
        return head["ContentLength"]

    def exists(self, blob_id: str) -> bool:
        """See ``BlobStore.exists``."""
        try:
            self.size(blob_id)
        except BlobNotFoundError:
            return False
        return True

    def delete(self, blob_id: str) -> bool:
        """HEAD then DELETE (S3's DELETE does not say whether anything was there)."""
        if not self.exists(blob_id):
            return False
        self._client.delete_object(Bucket=self.bucket, Key=self.key(blob_id))
        return True

    def iter_ids(self) -> Iterator[str]:
        """List the prefix with the ``ListObjectsV2`` paginator; foreign keys are skipped."""
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(
            Bucket=self.bucket,
            Prefix=self.prefix,
            PaginationConfig={"PageSize": self.list_page_size},
        ):
            for item in page.get("Contents", []):
                name = item.get("Key", "")[len(self.prefix) :]
                if BLOB_ID_PATTERN.fullmatch(name):
                    yield name
