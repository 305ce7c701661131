"""Checks a running emulator against what template.yaml promises.

    eval "$(infra/emulator start)" && .venv/bin/python infra/emulator.d/check.py

Prints one line per check and exits non-zero if any fails.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from urllib.parse import unquote_plus

import boto3

failures = 0
passed = 0


def check(what: str, ok: bool, detail: object = "") -> None:
    global failures, passed
    if ok:
        passed += 1
    else:
        failures += 1
    print(f"{'ok  ' if ok else 'FAIL'} {what}" + (f"  ({detail})" if not ok and detail != "" else ""))


def main() -> int:
    env = os.environ
    for key in ("AWS_ENDPOINT_URL", "FERRY_TABLE", "FERRY_QUEUE_URL", "FERRY_DLQ_URL", "FERRY_BUCKET",
                "FERRY_MAX_ATTEMPTS"):
        if not env.get(key):
            print(f"{key} is not set: run eval \"$(infra/emulator start)\" first", file=sys.stderr)
            return 2
    sqs, ddb, s3 = (boto3.client(s) for s in ("sqs", "dynamodb", "s3"))

    # ------------------------------------------------------------------ queues
    q = sqs.get_queue_attributes(QueueUrl=env["FERRY_QUEUE_URL"], AttributeNames=["All"])["Attributes"]
    d = sqs.get_queue_attributes(QueueUrl=env["FERRY_DLQ_URL"], AttributeNames=["All"])["Attributes"]
    redrive = json.loads(q.get("RedrivePolicy", "{}"))
    check("queue: redrive to the DLQ", redrive.get("deadLetterTargetArn") == d["QueueArn"], redrive)
    check("queue: maxReceiveCount = FERRY_MAX_ATTEMPTS",
          str(redrive.get("maxReceiveCount")) == env["FERRY_MAX_ATTEMPTS"], redrive)
    check("queue: visibility timeout 720", q.get("VisibilityTimeout") == "720", q.get("VisibilityTimeout"))
    check("queue: retention 4 days", q.get("MessageRetentionPeriod") == "345600", q.get("MessageRetentionPeriod"))
    check("dlq: retention 14 days", d.get("MessageRetentionPeriod") == "1209600", d.get("MessageRetentionPeriod"))
    check("queue + dlq: SQS-managed SSE",
          q.get("SqsManagedSseEnabled") == "true" and d.get("SqsManagedSseEnabled") == "true",
          (q.get("SqsManagedSseEnabled"), d.get("SqsManagedSseEnabled")))

    # ------------------------------------------------------------------ table
    t = ddb.describe_table(TableName=env["FERRY_TABLE"])["Table"]
    keys = {k["AttributeName"]: k["KeyType"] for k in t["KeySchema"]}
    check("table: pk HASH + sk RANGE", keys == {"pk": "HASH", "sk": "RANGE"}, keys)
    check("table: on-demand", t.get("BillingModeSummary", {}).get("BillingMode") == "PAY_PER_REQUEST",
          t.get("BillingModeSummary"))
    gsi = {g["IndexName"]: g for g in t.get("GlobalSecondaryIndexes", [])}
    by_owner = gsi.get("by-owner", {})
    check("table: GSI by-owner on gsi1pk/gsi1sk, ALL",
          {k["AttributeName"]: k["KeyType"] for k in by_owner.get("KeySchema", [])}
          == {"gsi1pk": "HASH", "gsi1sk": "RANGE"}
          and by_owner.get("Projection", {}).get("ProjectionType") == "ALL", by_owner)
    ttl = ddb.describe_time_to_live(TableName=env["FERRY_TABLE"])["TimeToLiveDescription"]
    check("table: TTL on expires_at",
          ttl.get("TimeToLiveStatus") == "ENABLED" and ttl.get("AttributeName") == "expires_at", ttl)
    pitr = ddb.describe_continuous_backups(TableName=env["FERRY_TABLE"])["ContinuousBackupsDescription"]
    check("table: point-in-time recovery",
          pitr.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED", pitr)
    check("table: SSE", t.get("SSEDescription", {}).get("Status") == "ENABLED", t.get("SSEDescription"))
    owner = f"check-{uuid.uuid4()}"
    ddb.put_item(TableName=env["FERRY_TABLE"], Item={
        "pk": {"S": "JOB#x"}, "sk": {"S": "META"}, "gsi1pk": {"S": owner}, "gsi1sk": {"S": "1"},
        "expires_at": {"N": str(int(time.time()) + 3600)}})
    items = ddb.query(TableName=env["FERRY_TABLE"], IndexName="by-owner",
                      KeyConditionExpression="gsi1pk = :o", ExpressionAttributeValues={":o": {"S": owner}})
    check("table: query through by-owner", items["Count"] == 1, items["Count"])
    ddb.delete_item(TableName=env["FERRY_TABLE"], Key={"pk": {"S": "JOB#x"}, "sk": {"S": "META"}})

    # ------------------------------------------------------------------ bucket
    b = env["FERRY_BUCKET"]
    enc = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0]
    check("bucket: SSE-S3", enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256", enc)
    pab = s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
    check("bucket: public access blocked", all(pab.values()) and len(pab) == 4, pab)
    own = s3.get_bucket_ownership_controls(Bucket=b)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
    check("bucket: BucketOwnerEnforced", own == "BucketOwnerEnforced", own)
    rules = {r.get("ID"): r for r in s3.get_bucket_lifecycle_configuration(Bucket=b)["Rules"]}
    up = rules.get("ExpireUploads", {})
    check("bucket: uploads/ expire after 7 days",
          up.get("Expiration", {}).get("Days") == 7 and up.get("Filter", {}).get("Prefix") == "uploads/", up)
    ab = rules.get("AbortIncompleteUploads", {})
    check("bucket: incomplete multipart uploads aborted after 1 day",
          ab.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1, ab)
    notif = s3.get_bucket_notification_configuration(Bucket=b).get("QueueConfigurations", [])
    check("bucket: notification to the jobs queue", len(notif) == 1, notif)

    # An object under uploads/ reaches the queue; one elsewhere does not.
    key = f"uploads/check/{uuid.uuid4()}.txt"
    s3.put_object(Bucket=b, Key=key, Body=b"hello")
    s3.put_object(Bucket=b, Key=f"results/check/{uuid.uuid4()}.json", Body=b"{}")
    keys = []
    for _ in range(5):  # bounded: tests may have left a few notifications first
        msgs = sqs.receive_message(QueueUrl=env["FERRY_QUEUE_URL"], MaxNumberOfMessages=10,
                                   WaitTimeSeconds=2).get("Messages", [])
        bodies = [json.loads(m["Body"]) for m in msgs]
        # Keys in S3 notifications are URL-encoded (AWS: spaces as '+', '/' kept;
        # moto also encodes '/' as %2F): consumers must decode them with unquote_plus.
        keys += [unquote_plus(r["s3"]["object"]["key"]) for body in bodies for r in body.get("Records", [])]
        if key in keys:
            break
    # Tests may have left notifications of their own uploads on the queue.
    check("bucket: ObjectCreated on uploads/ (only) notifies the queue",
          key in keys and all(k.startswith("uploads/") for k in keys), keys)
    if bodies and bodies[0].get("Records"):
        rec = bodies[0]["Records"][0]
        check("notification: eventSource aws:s3, eventName ObjectCreated:Put",
              rec.get("eventSource") == "aws:s3" and rec.get("eventName") == "ObjectCreated:Put",
              (rec.get("eventSource"), rec.get("eventName")))
    for m in msgs:
        sqs.delete_message(QueueUrl=env["FERRY_QUEUE_URL"], ReceiptHandle=m["ReceiptHandle"])

    # ------------------------------------------------------------------ redrive end to end
    sqs.send_message(QueueUrl=env["FERRY_QUEUE_URL"], MessageBody="poison")
    for _ in range(int(env["FERRY_MAX_ATTEMPTS"]) + 1):
        sqs.receive_message(QueueUrl=env["FERRY_QUEUE_URL"], VisibilityTimeout=0, WaitTimeSeconds=0)
    dead = sqs.receive_message(QueueUrl=env["FERRY_DLQ_URL"], WaitTimeSeconds=1).get("Messages", [])
    check(f"redrive: a message received {env['FERRY_MAX_ATTEMPTS']} times moves to the DLQ",
          [m["Body"] for m in dead] == ["poison"], [m["Body"] for m in dead])
    for m in dead:
        sqs.delete_message(QueueUrl=env["FERRY_DLQ_URL"], ReceiptHandle=m["ReceiptHandle"])

    print(f"{passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
