"""Checks a running emulator against what template.yaml promises.

    eval "$(infra/emulator start)" && .venv/bin/python infra/emulator.d/check.py

Prints one line per check and exits non-zero if any fails. Besides the emulated
resources, it checks the queue message schema (schemas/queue-message.schema.json)
against the sample events, and the template's opt-in upstream producers.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import unquote_plus

import boto3
from jsonschema import Draft202012Validator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emulator import ROOT, Resolver, load_template  # noqa: E402  (the template as the emulator reads it)

SCHEMA = ROOT / "schemas" / "queue-message.schema.json"

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
    if env.get("FERRY_INTERACTIVE_QUEUE_URL"):
        i = sqs.get_queue_attributes(QueueUrl=env["FERRY_INTERACTIVE_QUEUE_URL"], AttributeNames=["All"])["Attributes"]
        same = ("RedrivePolicy", "VisibilityTimeout", "MessageRetentionPeriod")
        check("interactive queue: the jobs queue's redrive, visibility and retention",
              all(i.get(k) == q.get(k) for k in same), {k: i.get(k) for k in same})
    else:
        check("interactive queue: FERRY_INTERACTIVE_QUEUE_URL is set", False)
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
    by_recovery = gsi.get("by-recovery", {})
    check("table: GSI by-recovery on recover_pk/recover_at (N), KEYS_ONLY",
          {k["AttributeName"]: k["KeyType"] for k in by_recovery.get("KeySchema", [])}
          == {"recover_pk": "HASH", "recover_at": "RANGE"}
          and {a["AttributeName"]: a["AttributeType"] for a in t["AttributeDefinitions"]}.get("recover_at") == "N"
          and by_recovery.get("Projection", {}).get("ProjectionType") == "KEYS_ONLY", by_recovery)
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
    retention = env.get("FERRY_RETENTION_DAYS", "")
    check("functions: FERRY_RETENTION_DAYS is a number of days", retention.isdigit() and int(retention) >= 1,
          retention)
    for rule_id, prefix in (("ExpireUploads", "uploads/"), ("ExpireDocuments", "documents/")):
        rule = rules.get(rule_id, {})
        check(f"bucket: {prefix} expire after FERRY_RETENTION_DAYS ({retention}) days",
              str(rule.get("Expiration", {}).get("Days")) == retention
              and rule.get("Filter", {}).get("Prefix") == prefix, rule)
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

    check_schema()
    check_upstream_template()
    check_secrets()

    print(f"{passed} passed, {failures} failed")
    return 1 if failures else 0


def message(**changes) -> dict:
    """A valid queue message, with some fields replaced (None removes one)."""
    m = {"v": 1, "job_id": "0192f0c4-0000-7000-8000-0000000000f1", "owner": "check", "task": "sentiment",
         "chunk": 0, "items": [{"i": 0, "text": "fine"}]}
    m.update(changes)
    return {k: v for k, v in m.items() if v is not None}


def check_schema() -> None:
    """schemas/queue-message.schema.json: a valid draft 2020-12 schema that accepts
    every Ferry message of the sample events and refuses malformed ones."""
    schema = json.loads(SCHEMA.read_text())
    try:
        Draft202012Validator.check_schema(schema)
        meta_errors = ""
    except Exception as e:  # jsonschema.SchemaError
        meta_errors = str(e).splitlines()[0]
    check("schema: valid JSON Schema draft 2020-12",
          schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema" and not meta_errors,
          meta_errors or schema.get("$schema"))
    if meta_errors:
        return
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def errors(instance) -> list[str]:
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"[:160]
                for e in validator.iter_errors(instance)]

    bad = [errs for ex in schema.get("examples", []) for errs in [errors(ex)] if errs]
    check(f"schema: its {len(schema.get('examples', []))} examples validate",
          len(schema.get("examples", [])) >= 2 and not bad, bad)

    # The sample SQS batch: every body that is a Ferry task message validates
    # (the poison record, not JSON, is not one).
    batch = json.loads((ROOT / "events" / "sqs-batch.json").read_text())
    messages = []
    for record in batch["Records"]:
        try:
            body = json.loads(record["body"])
        except ValueError:
            continue
        if isinstance(body, dict) and "job_id" in body:
            messages.append(body)
    bad = [(m.get("job_id"), errs) for m in messages for errs in [errors(m)] if errs]
    check(f"schema: the {len(messages)} Ferry messages in events/sqs-batch.json validate",
          len(messages) >= 1 and not bad, bad or "no Ferry message found")

    # The sample EventBridge event: its detail is what the rule puts on the queue.
    event = json.loads((ROOT / "events" / "eventbridge-upstream.json").read_text())
    check("schema: the detail of events/eventbridge-upstream.json validates",
          not errors(event.get("detail")), errors(event.get("detail")))
    rule = next((res for res in load_template()["Resources"].values()
                 if res.get("Type") == "AWS::Events::Rule"), {})
    pattern = rule.get("Properties", {}).get("EventPattern", {})
    check("events/eventbridge-upstream.json matches the template's rule (source, detail-type)",
          event.get("source") in pattern.get("source", []) and event.get("detail-type") in pattern.get(
              "detail-type", []), (event.get("source"), event.get("detail-type"), pattern))

    item = {"i": 0, "text": "fine"}
    invalid = {
        "neither items nor document": message(items=None),
        "both items and document": message(document={"key": "uploads/check/a.jsonl"}),
        "65 items": message(items=[dict(item, i=n) for n in range(65)], total=65),
        "an extra top-level field": message(priority="high"),
        "an extra field in an item": message(items=[dict(item, lang="en")]),
        "an extra field in document": message(items=None, document={"key": "uploads/check/a.jsonl",
                                                                    "bucket": "elsewhere"}),
        "v = 2": message(v=2),
        "an empty text": message(items=[dict(item, text="")]),
        "a job_id that is not a UUID": message(job_id="job-1"),
        "a document outside uploads/<owner>/": message(items=None, document={"key": "results/check/a.jsonl"}),
        "an unknown task": message(task="summarise"),
        "a resume-match without a job description": message(task="resume-match", items=None,
                                                            document={"key": "uploads/check/cv.pdf"}),
        "a resume-match with items": message(task="resume-match", job_description={"text": "Rust"}),
        "a sentiment message with a job description": message(job_description={"text": "Rust"}),
        "a job description with both text and key": message(
            task="resume-match", items=None, document={"key": "uploads/check/cv.pdf"},
            job_description={"text": "Rust", "key": "uploads/check/jd.txt"}),
    }
    for what, instance in invalid.items():
        check(f"schema: refuses a message with {what}", bool(errors(instance)), "accepted")
    check("schema: accepts a document message", not errors(message(items=None, document={
        "key": "uploads/check/reviews.jsonl"})), errors(message(items=None, document={
            "key": "uploads/check/reviews.jsonl"})))


def check_upstream_template() -> None:
    """The opt-in upstream examples of template.yaml: present, behind
    EnableUpstreamExamples (default off), and allowed to send to the jobs queue."""
    template = load_template()
    res = template["Resources"]
    param = template["Parameters"].get("EnableUpstreamExamples", {})
    check("template: EnableUpstreamExamples defaults to \"false\"", param.get("Default") == "false", param)

    def rendered(enable: str) -> Resolver:
        r = Resolver(copy.deepcopy(template))
        param_of = r.param
        r.param = lambda name: enable if name == "EnableUpstreamExamples" else param_of(name)
        # Stand-ins for what CloudFormation would create: enough to resolve the policy.
        r.physical = {"JobsQueue": {"Ref": "jobs-url", "Arn": "jobs-arn"},
                      "UpstreamEventsRule": {"Ref": "rule-name", "Arn": "rule-arn"},
                      "UpstreamTopic": {"Ref": "topic-arn"}}
        return r

    kinds = {"AWS::Events::Rule", "AWS::SNS::Topic", "AWS::SNS::Subscription"}
    off, on = rendered("false"), rendered("true")
    declared = {lid: r["Type"] for lid, r in res.items() if r.get("Type") in kinds}
    check("template: an EventBridge rule, an SNS topic and a subscription, each with a Condition",
          set(declared.values()) == kinds and all(res[lid].get("Condition") for lid in declared), declared)
    check("template: none of them exists by default, all with EnableUpstreamExamples=true",
          not any(off.resource_enabled(lid) for lid in declared)
          and all(on.resource_enabled(lid) for lid in declared),
          {lid: (off.resource_enabled(lid), on.resource_enabled(lid)) for lid in declared})

    rule = next((on.resolve(res[lid]["Properties"]) for lid, t in declared.items() if t == "AWS::Events::Rule"), {})
    targets = rule.get("Targets", [])
    check("template: the rule matches com.example.reviews / Ferry Job on the default bus",
          rule.get("EventPattern") == {"source": ["com.example.reviews"], "detail-type": ["Ferry Job"]}
          and rule.get("EventBusName", "default") == "default", rule.get("EventPattern"))
    check("template: the rule's one target is the jobs queue, with InputPath $.detail",
          [(t.get("Arn"), t.get("InputPath")) for t in targets] == [("jobs-arn", "$.detail")], targets)

    sub = next((on.resolve(res[lid]["Properties"]) for lid, t in declared.items()
                if t == "AWS::SNS::Subscription"), {})
    check("template: the topic subscribes the jobs queue with raw message delivery",
          sub.get("Protocol") == "sqs" and sub.get("Endpoint") == "jobs-arn"
          and str(sub.get("RawMessageDelivery")).lower() == "true" and sub.get("TopicArn") == "topic-arn", sub)

    policies = [lid for lid, r in res.items() if r.get("Type") == "AWS::SQS::QueuePolicy"
                and {"Ref": "JobsQueue"} in r.get("Properties", {}).get("Queues", [])]
    check("template: one queue policy for the jobs queue", len(policies) == 1, policies)
    if len(policies) != 1:
        return

    def statements(r: Resolver) -> dict:
        doc = r.resolve(res[policies[0]]["Properties"]["PolicyDocument"])
        return {(s.get("Principal", {}).get("Service"), s.get("Action")): s for s in doc["Statement"]}

    base, full = statements(off), statements(on)
    send = "sqs:SendMessage"
    check("template: by default the queue policy admits S3 notifications only",
          list(base) == [("s3.amazonaws.com", send)], list(base))
    events = full.get(("events.amazonaws.com", send), {})
    sns = full.get(("sns.amazonaws.com", send), {})
    check("template: with the examples, EventBridge may send, from the rule only (aws:SourceArn)",
          events.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn") == "rule-arn"
          and events.get("Resource") == "jobs-arn", events)
    check("template: with the examples, SNS may send, from the topic only (aws:SourceArn)",
          sns.get("Condition", {}).get("ArnEquals", {}).get("aws:SourceArn") == "topic-arn"
          and sns.get("Resource") == "jobs-arn", sns)

    variables = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    expected = {"FERRY_DLQ_URL": {"Ref": "DeadLetterQueue"}, "FERRY_RETENTION_DAYS": {"Ref": "RetentionDays"},
                "FERRY_WEBHOOK_SECRET_ARN": {"Ref": "WebhookSigningSecret"},
                "FERRY_WEBHOOK_MAX_ATTEMPTS": {"Ref": "WebhookMaxAttempts"}}
    check("template: both functions get FERRY_DLQ_URL, FERRY_RETENTION_DAYS and the webhook settings",
          all(variables.get(k) == v for k, v in expected.items()),
          {k: variables.get(k) for k in expected})


def check_secrets() -> None:
    """No secret is a parameter or a plaintext environment value: the functions
    get Secrets Manager ARNs, may read only their own secrets, and the
    emulator's secrets (made from the template) hold generated values."""
    template = load_template()
    res = template["Resources"]
    functions = [r.get("Properties", {}) for r in res.values() if r.get("Type") == "AWS::Serverless::Function"]
    functions.append(template.get("Globals", {}).get("Function", {}))
    names = {k for f in functions for k in f.get("Environment", {}).get("Variables", {})}
    check("secrets: no function gets FERRY_JWT_SECRET or FERRY_WEBHOOK_SECRET as a value",
          not names & {"FERRY_JWT_SECRET", "FERRY_WEBHOOK_SECRET"}, sorted(names))
    no_echo = [p for p, v in template.get("Parameters", {}).items() if v.get("NoEcho")]
    check("secrets: no NoEcho parameter (no secret passes through the template)", not no_echo, no_echo)

    def granted(statements) -> set[str]:
        found = set()
        for st in statements:
            if "secretsmanager:GetSecretValue" in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"]):
                found |= {ref for ref in json.dumps(st["Resource"]).split('"') if ref.endswith("SigningSecret")}
        return found

    api = res["ApiFunction"]["Properties"]["Policies"][0]["Statement"]
    inference = res["InferenceRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    check("secrets: the API may read the JWT and webhook secrets, no other",
          granted(api) == {"JwtSigningSecret", "WebhookSigningSecret"}, granted(api))
    check("secrets: the inference function may read the webhook secret only",
          granted(inference) == {"WebhookSigningSecret"}, granted(inference))

    sm = boto3.client("secretsmanager")
    for name in ("FERRY_JWT_SECRET_ARN", "FERRY_WEBHOOK_SECRET_ARN"):
        arn = os.environ.get(name, "")
        value = sm.get_secret_value(SecretId=arn)["SecretString"] if arn else ""
        check(f"secrets: {name} names a generated 64-character secret", len(value) == 64 and value.isalnum(),
              f"{arn!r}: {len(value)} characters")


if __name__ == "__main__":
    sys.exit(main())
