"""moto_server, with DynamoDB's table operations serialized and S3 event
notifications shaped as S3 sends them.

moto applies a TransactWriteItems item by item and, when one condition fails,
restores a deep copy of the whole table taken before it started. A write
another request made in between (another worker's committed transaction) is
thereby lost; real DynamoDB isolates transactions, so Ferry's race tests would
fail against the emulator for a reason production does not have. One lock
around the backend's item operations gives the emulator DynamoDB's isolation.
SQS and S3 stay concurrent (long polls must not block the server).

moto's S3 notifications leave out fields real S3 always sends
(userIdentity, requestParameters, responseElements, the object's sequencer)
and write eventTime without a time zone; typed parsers of the real format
(aws_lambda_events' S3Event) then refuse the whole event. The records are
completed as the documented notification structure has them:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
"""

import itertools
import sys
import threading
import time
from datetime import datetime, timezone

import moto.s3.notifications as s3_notifications
from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_LOCK = threading.RLock()
_SERIALIZED = (
    "put_item", "get_item", "update_item", "delete_item", "query", "scan",
    "transact_write_items", "transact_get_items", "batch_get_item",
)


def _serialized(method):
    def locked(*args, **kwargs):
        with _LOCK:
            return method(*args, **kwargs)

    locked.__name__ = method.__name__
    locked.__doc__ = method.__doc__
    return locked


for _name in _SERIALIZED:
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))

_SEQUENCE = itertools.count(time.time_ns())
_moto_s3_event = s3_notifications._get_s3_event


def _s3_event(*args, **kwargs):
    event = _moto_s3_event(*args, **kwargs)
    for record in event.get("Records", []):
        now = datetime.now(timezone.utc)
        record["eventTime"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        record.setdefault("userIdentity", {"principalId": "AWS:EMULATOR"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault("responseElements", {"x-amz-request-id": "EMULATOR", "x-amz-id-2": "EMULATOR"})
        record["s3"]["object"].setdefault("sequencer", f"{next(_SEQUENCE):018X}")
    return event


s3_notifications._get_s3_event = _s3_event

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
