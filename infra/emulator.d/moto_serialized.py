"""moto_server, with DynamoDB's table operations serialized.

moto applies a TransactWriteItems item by item and, when one condition fails,
restores a deep copy of the whole table taken before it started. A write
another request made in between (another worker's committed transaction) is
thereby lost; real DynamoDB isolates transactions, so Ferry's race tests would
fail against the emulator for a reason production does not have. One lock
around the backend's item operations gives the emulator DynamoDB's isolation.
SQS and S3 stay concurrent (long polls must not block the server).
"""

import sys
import threading

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

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
