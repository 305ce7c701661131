"""Ferry's local AWS emulator (run it through infra/emulator).

Starts moto's server mode on a free 127.0.0.1 port and creates in it the SQS
queues, DynamoDB tables and S3 buckets that template.yaml declares, translating
their CloudFormation properties into the matching API calls. The template is
the only description of those resources: a property this script cannot apply
is an error, not something silently skipped, so the emulator cannot drift from
the template unnoticed.

stdout carries only `export` lines (for eval); everything else goes to stderr.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
VENV_BIN = ROOT / ".venv" / "bin"

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
STACK_NAME = "ferry"

# There is no stack, so resources get fixed local names, by logical id.
LOCAL_NAMES = {
    "JobsQueue": "ferry-jobs",
    "InteractiveQueue": "ferry-interactive",
    "WebhooksQueue": "ferry-webhooks",
    "DeadLetterQueue": "ferry-jobs-dlq",
    "Table": "ferry-table",
    "Bucket": "ferry-bucket",
    "JwtSigningSecret": "ferry/jwt-signing",
    "WebhookSigningSecret": "ferry/webhook-signing",
}
EMULATED_TYPES = ("AWS::SQS::Queue", "AWS::DynamoDB::Table", "AWS::S3::Bucket", "AWS::SecretsManager::Secret")

START_TIMEOUT = 30.0


def log(msg: str) -> None:
    try:
        print(f"infra/emulator: {msg}", file=sys.stderr, flush=True)
    except OSError:
        pass  # a closed stderr must not stop the emulator half-way


class EmulatorError(Exception):
    pass


# --------------------------------------------------------------------------- state


def state_dir() -> Path:
    if os.environ.get("FERRY_EMULATOR_STATE_DIR"):
        return Path(os.environ["FERRY_EMULATOR_STATE_DIR"])
    try:
        user = os.environ.get("USER") or getpass.getuser()
    except Exception:  # no passwd entry
        user = str(os.getuid())
    # One emulator per user and per checkout: two clones do not share state.
    tag = hashlib.sha256(str(ROOT).encode()).hexdigest()[:8]
    tmp = os.environ.get("TMPDIR") or "/tmp"
    return Path(tmp) / f"ferry-emulator-{user}-{tag}"


def read_state() -> dict | None:
    path = state_dir() / "state.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return not Path("/proc/self").exists()  # gone, unless there is no /proc at all
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def pid_is_moto(pid: int) -> bool:
    """The process runs, and is a moto server (not some process that reused the pid)."""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid
    return b"moto" in cmdline


def running_state() -> dict | None:
    state = read_state()
    if state and pid_is_moto(int(state["pid"])):
        return state
    return None


def print_exports(env: dict[str, str]) -> None:
    for key, value in env.items():
        print(f"export {key}={shlex.quote(str(value))}")
    sys.stdout.flush()


# --------------------------------------------------------------------------- template


def load_template() -> dict:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def multi(tag: str, node: yaml.Node, loader: yaml.SafeLoader):
        name = "Ref" if tag == "Ref" else ("Condition" if tag == "Condition" else f"Fn::{tag}")
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    for tag in (
        "Ref", "Condition", "GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals",
        "Not", "And", "Or", "FindInMap", "GetAZs", "ImportValue", "Base64", "Cidr",
        "Length", "ToJsonString",
    ):
        Loader.add_constructor(f"!{tag}", lambda loader, node, t=tag: multi(t, node, loader))

    try:
        with open(TEMPLATE) as f:
            return yaml.load(f, Loader=Loader)
    except OSError as e:
        raise EmulatorError(f"cannot read {TEMPLATE}: {e}") from e
    except yaml.YAMLError as e:
        raise EmulatorError(f"cannot parse {TEMPLATE}: {e}") from e


NO_VALUE = object()


class Resolver:
    """Evaluates CloudFormation intrinsics against the local resources."""

    def __init__(self, template: dict):
        self.t = template
        self.resources: dict = template.get("Resources", {})
        self.params: dict = template.get("Parameters", {})
        self.physical: dict[str, dict[str, str]] = {}  # logical id -> {"Ref":…, "Arn":…}
        self.touched: set[str] = set()  # parameters and resources a resolve() used

    # A parameter's value: its default, overridable by FERRY_EMULATOR_PARAM_<Name>.
    def param(self, name: str):
        spec = self.params[name]
        value = os.environ.get(f"FERRY_EMULATOR_PARAM_{name}", spec.get("Default"))
        if value is None:
            return None
        if spec.get("Type") == "CommaDelimitedList":
            return [v.strip() for v in str(value).split(",")]
        return str(value)

    def ref(self, name: str):
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": STACK_NAME,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK_NAME}/local",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        self.touched.add(name)
        if name in self.params:
            value = self.param(name)
            if value is None:
                raise EmulatorError(f"parameter {name} has no default (set FERRY_EMULATOR_PARAM_{name})")
            return value
        return self.attr(name, "Ref")

    def attr(self, logical: str, attribute: str):
        self.touched.add(logical)
        if logical not in self.physical:
            raise EmulatorError(f"{logical}.{attribute} is needed before {logical} exists here")
        try:
            return self.physical[logical][attribute]
        except KeyError:
            raise EmulatorError(f"the emulator does not provide {logical}.{attribute}") from None

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.t.get("Conditions", {})[name]))

    def sub(self, text: str, variables: dict) -> str:
        def repl(m: re.Match) -> str:
            inner = m.group(1)
            if inner.startswith("!"):
                return "${" + inner[1:] + "}"
            if inner in variables:
                return str(self.resolve(variables[inner]))
            if "." in inner and inner.split(".", 1)[0] in self.resources:
                logical, attribute = inner.split(".", 1)
                return str(self.attr(logical, attribute))
            value = self.ref(inner)
            return ",".join(value) if isinstance(value, list) else str(value)

        return re.sub(r"\$\{([^}]+)\}", repl, text)

    def resolve(self, node):
        if isinstance(node, list):
            out = [self.resolve(v) for v in node]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Condition":
                return self.condition(arg)
            if key.startswith("Fn::"):
                return self.function(key[4:], arg)
        out = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def function(self, fn: str, arg):
        if fn == "GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return self.attr(logical, attribute)
        if fn == "Sub":
            if isinstance(arg, list):
                return self.sub(arg[0], arg[1])
            return self.sub(arg, {})
        if fn == "Join":
            sep, items = arg
            return str(sep).join(str(v) for v in self.resolve(items))
        if fn == "Split":
            sep, text = arg
            return str(self.resolve(text)).split(sep)
        if fn == "Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if fn == "If":
            name, yes, no = arg
            return self.resolve(yes if self.condition(name) else no)
        if fn == "Equals":
            a, b = (self.resolve(v) for v in arg)
            return str(a) == str(b)
        if fn == "Not":
            return not self.resolve(arg[0])
        if fn == "And":
            return all(self.resolve(v) for v in arg)
        if fn == "Or":
            return any(self.resolve(v) for v in arg)
        if fn == "FindInMap":
            m, k1, k2 = (self.resolve(v) for v in arg)
            return self.t["Mappings"][m][k1][k2]
        if fn == "ToJsonString":
            return json.dumps(self.resolve(arg), separators=(",", ":"))
        raise EmulatorError(f"Fn::{fn} is not supported by the emulator")

    def resource_enabled(self, logical: str) -> bool:
        cond = self.resources[logical].get("Condition")
        return True if cond is None else self.condition(cond)


# --------------------------------------------------------------------------- CFN -> API


def take(props: dict, kind: str, logical: str, handled: dict) -> None:
    """Calls handled[property](value) for every property; unknown ones are errors."""
    unknown = sorted(set(props) - set(handled))
    if unknown:
        raise EmulatorError(
            f"{logical} ({kind}): the emulator cannot apply {', '.join(unknown)}; "
            f"teach infra/emulator.d/emulator.py how to"
        )
    for key, fn in handled.items():
        if key in props and fn is not None:
            fn(props[key])


def create_secret(r: Resolver, clients, logical: str, raw: dict) -> None:
    """A Secrets Manager secret, its value generated as GenerateSecretString
    says (length and character classes); an existing one keeps its value."""
    import secrets
    import string

    props = r.resolve(raw)
    name = LOCAL_NAMES.get(logical) or f"ferry/{logical.lower()}"
    kwargs: dict = {"Name": name}
    generated: dict = {}

    def generate(spec: dict) -> None:
        take(spec, "GenerateSecretString", logical, {
            "PasswordLength": None, "ExcludePunctuation": None, "ExcludeCharacters": None,
            "IncludeSpace": None, "RequireEachIncludedType": None,
        })
        alphabet = string.ascii_letters + string.digits
        if not spec.get("ExcludePunctuation"):
            alphabet += string.punctuation
        alphabet = "".join(c for c in alphabet if c not in spec.get("ExcludeCharacters", ""))
        length = int(spec.get("PasswordLength", 32))
        generated["SecretString"] = "".join(secrets.choice(alphabet) for _ in range(length))

    take(props, "AWS::SecretsManager::Secret", logical, {
        "Name": None,  # local name instead
        "Description": lambda v: kwargs.__setitem__("Description", v),
        "GenerateSecretString": generate,
        "SecretString": lambda v: generated.__setitem__("SecretString", v),
        "Tags": lambda v: kwargs.__setitem__("Tags", v),
    })
    sm = clients("secretsmanager")
    try:
        arn = sm.create_secret(**kwargs, **generated)["ARN"]
    except sm.exceptions.ResourceExistsException:
        arn = sm.describe_secret(SecretId=name)["ARN"]
    r.physical[logical] = {"Ref": arn, "Id": arn}
    log(f"secret {name}: {arn}")


def sqs_bool(v) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def create_queue(r: Resolver, clients, logical: str, raw: dict) -> None:
    props = r.resolve(raw)
    name = LOCAL_NAMES.get(logical) or f"ferry-{logical.lower()}"
    attributes: dict[str, str] = {}
    tags: dict[str, str] = {}

    def attr(key):
        return lambda v: attributes.__setitem__(key, sqs_bool(v))

    def redrive(key):
        def apply(v):
            if isinstance(v, str):
                v = json.loads(v)
            if "maxReceiveCount" in v:
                v = dict(v, maxReceiveCount=int(v["maxReceiveCount"]))
            attributes[key] = json.dumps(v)

        return apply

    def fifo(v):
        attributes["FifoQueue"] = sqs_bool(v)

    take(props, "AWS::SQS::Queue", logical, {
        "QueueName": None,  # local name instead
        "DelaySeconds": attr("DelaySeconds"),
        "MaximumMessageSize": attr("MaximumMessageSize"),
        "MessageRetentionPeriod": attr("MessageRetentionPeriod"),
        "ReceiveMessageWaitTimeSeconds": attr("ReceiveMessageWaitTimeSeconds"),
        "VisibilityTimeout": attr("VisibilityTimeout"),
        "KmsMasterKeyId": attr("KmsMasterKeyId"),
        "KmsDataKeyReusePeriodSeconds": attr("KmsDataKeyReusePeriodSeconds"),
        "SqsManagedSseEnabled": attr("SqsManagedSseEnabled"),
        "FifoQueue": fifo,
        "ContentBasedDeduplication": attr("ContentBasedDeduplication"),
        "DeduplicationScope": attr("DeduplicationScope"),
        "FifoThroughputLimit": attr("FifoThroughputLimit"),
        "RedrivePolicy": redrive("RedrivePolicy"),
        "RedriveAllowPolicy": redrive("RedriveAllowPolicy"),
        "Tags": lambda v: tags.update({t["Key"]: t["Value"] for t in v}),
    })
    if attributes.get("FifoQueue") == "true" and not name.endswith(".fifo"):
        name += ".fifo"
    sqs = clients("sqs")
    kwargs = {"QueueName": name, "Attributes": attributes}
    if tags:
        kwargs["tags"] = tags
    try:
        url = sqs.create_queue(**kwargs)["QueueUrl"]
    except sqs.exceptions.QueueNameExists:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    r.physical[logical] = {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}
    log(f"queue {name}: {url}")


def create_table(r: Resolver, clients, logical: str, raw: dict) -> None:
    props = r.resolve(raw)
    name = LOCAL_NAMES.get(logical) or f"ferry-{logical.lower()}"
    create: dict = {"TableName": name}
    after = []  # calls that need the table to exist

    def same(key):
        return lambda v: create.__setitem__(key, v)

    def gsis(v):
        create["GlobalSecondaryIndexes"] = [
            {k: x for k, x in gsi.items() if k != "ContributorInsightsSpecification"} for gsi in v
        ]

    def sse(v):
        spec = {"Enabled": bool(v.get("SSEEnabled", False))}
        if "SSEType" in v:
            spec["SSEType"] = v["SSEType"]
        if "KMSMasterKeyId" in v:
            spec["KMSMasterKeyId"] = v["KMSMasterKeyId"]
        create["SSESpecification"] = spec

    def stream(v):
        create["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": v["StreamViewType"]}

    def ttl(v):
        spec = {"AttributeName": v["AttributeName"], "Enabled": bool(v.get("Enabled", False))}
        if spec["Enabled"]:
            after.append(("TTL on " + spec["AttributeName"],
                          lambda ddb: ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=spec)))

    def pitr(v):
        spec = {"PointInTimeRecoveryEnabled": bool(v.get("PointInTimeRecoveryEnabled", False))}
        if spec["PointInTimeRecoveryEnabled"]:
            after.append(("point-in-time recovery", lambda ddb: ddb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification=spec)))

    take(props, "AWS::DynamoDB::Table", logical, {
        "TableName": None,  # local name instead
        "AttributeDefinitions": same("AttributeDefinitions"),
        "KeySchema": same("KeySchema"),
        "BillingMode": same("BillingMode"),
        "ProvisionedThroughput": same("ProvisionedThroughput"),
        "GlobalSecondaryIndexes": gsis,
        "LocalSecondaryIndexes": same("LocalSecondaryIndexes"),
        "SSESpecification": sse,
        "StreamSpecification": stream,
        "TableClass": same("TableClass"),
        "DeletionProtectionEnabled": same("DeletionProtectionEnabled"),
        "Tags": same("Tags"),
        "TimeToLiveSpecification": ttl,
        "PointInTimeRecoverySpecification": pitr,
        "ContributorInsightsSpecification": None,  # CloudWatch only
    })
    ddb = clients("dynamodb")
    try:
        desc = ddb.create_table(**create)["TableDescription"]
    except ddb.exceptions.ResourceInUseException:
        desc = ddb.describe_table(TableName=name)["Table"]
        log(f"table {name} exists already: kept as it is")
        after = []
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    for what, call in after:
        call(ddb)
        log(f"table {name}: {what} enabled")
    r.physical[logical] = {"Ref": name, "Arn": desc["TableArn"], "StreamArn": desc.get("LatestStreamArn", "")}
    log(f"table {name}: keys {[k['AttributeName'] for k in create['KeySchema']]}, "
        f"indexes {[g['IndexName'] for g in create.get('GlobalSecondaryIndexes', [])]}")


def lifecycle_rule(rule: dict) -> dict:
    out: dict = {"Status": rule["Status"]}
    known = {"Id", "Status", "Prefix", "ExpirationInDays", "ExpirationDate",
             "AbortIncompleteMultipartUpload", "NoncurrentVersionExpirationInDays",
             "NoncurrentVersionExpiration"}
    unknown = set(rule) - known
    if unknown:
        raise EmulatorError(f"lifecycle rule {rule.get('Id')}: cannot apply {', '.join(sorted(unknown))}")
    if "Id" in rule:
        out["ID"] = rule["Id"]
    out["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        out["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if "ExpirationDate" in rule:
        out["Expiration"] = {"Date": rule["ExpirationDate"]}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    if "NoncurrentVersionExpirationInDays" in rule:
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
    if "NoncurrentVersionExpiration" in rule:
        out["NoncurrentVersionExpiration"] = {
            "NoncurrentDays": int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])}
    return out


def encryption_rule(rule: dict) -> dict:
    out = {k: v for k, v in rule.items() if k != "ServerSideEncryptionByDefault"}
    if "ServerSideEncryptionByDefault" in rule:
        out["ApplyServerSideEncryptionByDefault"] = rule["ServerSideEncryptionByDefault"]
    return out


def create_bucket(r: Resolver, clients, logical: str, raw: dict) -> None:
    props = r.resolve(raw)
    name = LOCAL_NAMES.get(logical) or f"ferry-{logical.lower()}"
    s3 = clients("s3")
    try:
        s3.create_bucket(Bucket=name)  # us-east-1: no LocationConstraint
    except (s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
        pass
    r.physical[logical] = {"Ref": name, "Arn": f"arn:aws:s3:::{name}",
                           "DomainName": f"{name}.s3.amazonaws.com"}
    steps = []

    def later(what, call):
        return lambda v: steps.append((what, lambda: call(v)))

    def notifications(v):
        conf: dict = {}
        for q in v.get("QueueConfigurations", []):
            item = {"QueueArn": q["Queue"], "Events": [q["Event"]]}
            rules = q.get("Filter", {}).get("S3Key", {}).get("Rules")
            if rules:
                item["Filter"] = {"Key": {"FilterRules": [{"Name": x["Name"], "Value": x["Value"]} for x in rules]}}
            conf.setdefault("QueueConfigurations", []).append(item)
        for other in set(v) - {"QueueConfigurations"}:
            log(f"bucket {name}: {other} not emulated (only queue notifications are)")
        try:
            s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=conf)
        except Exception as e:  # moto without notification support: the rest still works
            log(f"bucket {name}: notifications not applied ({e}); continuing without them")
            return
        drain_test_events(clients("sqs"), r, conf)

    def cors(v):
        rules = []
        for rule in v["CorsRules"]:
            out = {"AllowedMethods": rule["AllowedMethods"], "AllowedOrigins": rule["AllowedOrigins"]}
            for src, dst in (("AllowedHeaders", "AllowedHeaders"), ("ExposedHeaders", "ExposeHeaders"),
                             ("Id", "ID"), ("MaxAge", "MaxAgeSeconds")):
                if src in rule:
                    out[dst] = int(rule[src]) if dst == "MaxAgeSeconds" else rule[src]
            rules.append(out)
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})

    take(props, "AWS::S3::Bucket", logical, {
        "BucketName": None,  # local name instead
        "BucketEncryption": later("encryption", lambda v: s3.put_bucket_encryption(
            Bucket=name, ServerSideEncryptionConfiguration={"Rules": [encryption_rule(x) for x in v[
                "ServerSideEncryptionConfiguration"]]})),
        "PublicAccessBlockConfiguration": later("public access block", lambda v: s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=v)),
        "OwnershipControls": later("ownership controls", lambda v: s3.put_bucket_ownership_controls(
            Bucket=name, OwnershipControls=v)),
        "LifecycleConfiguration": later("lifecycle", lambda v: s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": [lifecycle_rule(x) for x in v["Rules"]]})),
        "VersioningConfiguration": later("versioning", lambda v: s3.put_bucket_versioning(
            Bucket=name, VersioningConfiguration={"Status": v["Status"]})),
        "CorsConfiguration": later("CORS", cors),
        "Tags": later("tags", lambda v: s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": v})),
        "NotificationConfiguration": later("notifications", notifications),
    })
    for what, call in steps:
        call()
        log(f"bucket {name}: {what} applied")


def drain_test_events(sqs, r: Resolver, conf: dict) -> None:
    """S3 sends an s3:TestEvent when notifications are configured (AWS does too);
    take it off the queues so that tests start from empty queues."""
    by_arn = {v["Arn"]: v["Ref"] for v in r.physical.values() if "QueueUrl" in v}
    for q in conf.get("QueueConfigurations", []):
        url = by_arn.get(q["QueueArn"])
        if not url:
            continue
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=0).get("Messages", [])
            tests = [m for m in msgs if '"s3:TestEvent"' in m.get("Body", "")]
            for m in tests:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            if not tests:
                break
            log(f"removed {len(tests)} s3:TestEvent message(s) from {url}")


CREATORS = {
    "AWS::SQS::Queue": create_queue,
    "AWS::SecretsManager::Secret": create_secret,
    "AWS::DynamoDB::Table": create_table,
    "AWS::S3::Bucket": create_bucket,
}


def dependencies(node) -> set[str]:
    """Logical ids a property tree refers to (Ref, GetAtt, ${X} in Sub)."""
    found: set[str] = set()
    if isinstance(node, list):
        for v in node:
            found |= dependencies(v)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == "Ref" and isinstance(v, str):
                found.add(v)
            elif k == "Fn::GetAtt":
                found.add(v[0] if isinstance(v, list) else v.split(".", 1)[0])
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                found |= {m.split(".", 1)[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                if isinstance(v, list):
                    found |= dependencies(v[1])
            else:
                found |= dependencies(v)
    return found


def create_resources(r: Resolver, clients) -> list[str]:
    todo = [lid for lid, res in r.resources.items()
            if res.get("Type") in EMULATED_TYPES and r.resource_enabled(lid)]
    if not todo:
        raise EmulatorError(f"{TEMPLATE} declares no queue, table or bucket")
    order: list[str] = []
    pending = list(todo)
    while pending:  # dependency order among the emulated resources
        ready = [lid for lid in pending
                 if not (dependencies(r.resources[lid].get("Properties", {})) & set(pending)) - {lid}]
        if not ready:
            raise EmulatorError(f"circular references among {pending}")
        for lid in ready:
            pending.remove(lid)
            order.append(lid)
    for lid in order:
        res = r.resources[lid]
        CREATORS[res["Type"]](r, clients, lid, res.get("Properties", {}))
    return order


def function_environment(r: Resolver, emulated: list[str]) -> dict[str, str]:
    """The variables template.yaml gives the functions that describe the emulated
    resources: those whose value refers to one of them, or to a parameter that
    one of them uses (FERRY_MAX_ATTEMPTS = the queue's maxReceiveCount), and the
    secrets' ARNs (their values stay in the emulator's Secrets Manager). Plain
    NoEcho parameters and logging settings are left to the caller."""
    used_params: set[str] = set()
    for lid in emulated:
        used_params |= dependencies(r.resources[lid].get("Properties", {})) & set(r.params)
    sources = [r.t.get("Globals", {}).get("Function", {})]
    sources += [res.get("Properties", {}) for res in r.resources.values()
                if res.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")]
    env: dict[str, str] = {}
    for src in sources:
        for key, value in src.get("Environment", {}).get("Variables", {}).items():
            refs = dependencies(value)
            if refs & set(emulated) or refs & used_params:
                if any(r.params.get(p, {}).get("NoEcho") for p in refs):
                    continue
                resolved = r.resolve(value)
                if key in env and env[key] != str(resolved):
                    raise EmulatorError(f"functions disagree on {key}: {env[key]} vs {resolved}")
                env[key] = str(resolved)
    return env


# --------------------------------------------------------------------------- commands


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(proc: subprocess.Popen, port: int, logfile: Path) -> None:
    import urllib.request

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = logfile.read_text(errors="replace")[-2000:] if logfile.exists() else ""
            raise EmulatorError(f"moto_server exited with status {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1) as resp:
                if resp.status < 500:
                    return
        except Exception:
            time.sleep(0.1)
    raise EmulatorError(f"moto_server did not answer on port {port} within {START_TIMEOUT:.0f} s (log: {logfile})")


def launch() -> tuple[subprocess.Popen, int, Path]:
    moto = VENV_BIN / "moto_server"
    if not moto.exists():
        raise EmulatorError(f"{moto} is missing: run infra/emulator start (it installs it)")
    sdir = state_dir()
    sdir.mkdir(parents=True, exist_ok=True)
    logfile = sdir / "moto.log"
    last: Exception | None = None
    for _ in range(3):  # the free port may be taken before moto binds it
        port = free_port()
        with open(logfile, "ab") as out:
            # moto_server itself, with DynamoDB isolation (see moto_serialized.py).
            proc = subprocess.Popen(
                [str(VENV_BIN / "python"), str(Path(__file__).with_name("moto_serialized.py")),
                 "-H", "127.0.0.1", "-p", str(port)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True,  # outlives this script and the shell's Ctrl-C
                cwd=str(sdir),
            )
        try:
            wait_until_up(proc, port, logfile)
            return proc, port, logfile
        except EmulatorError as e:
            last = e
            terminate(proc.pid)
    raise EmulatorError(str(last))


def terminate(pid: int, timeout: float = 5.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it
            if done:
                return
        except ChildProcessError:
            pass  # not our child
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _ in range(100):
        if not pid_alive(pid):
            return
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)


def base_env(port: int) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }


def cmd_start() -> int:
    import boto3
    from botocore.config import Config

    template = load_template()  # fail before starting anything if it is broken
    state = running_state()
    if state:
        port, pid, proc = int(state["port"]), int(state["pid"]), None
        log(f"moto_server already runs (pid {pid}, port {port}): reusing it")
    else:
        proc, port = None, 0
        proc, port, logfile = launch()
        pid = proc.pid
        log(f"moto_server started (pid {pid}, port {port}, log {logfile})")
    try:
        env = base_env(port)
        config = Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30)

        def clients(service):
            return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=REGION,
                                aws_access_key_id="test", aws_secret_access_key="test", config=config)

        r = Resolver(template)
        emulated = create_resources(r, clients)
        env.update(function_environment(r, emulated))
        for key in ("FERRY_TABLE", "FERRY_QUEUE_URL", "FERRY_BUCKET"):
            if key not in env:
                raise EmulatorError(f"template.yaml gives the functions no {key}")
        # The dead-letter queue of the queue the functions use, for tests and tooling.
        queue_lid = next(lid for lid in emulated if r.physical[lid].get("Ref") == env["FERRY_QUEUE_URL"])
        redrive = r.resolve(r.resources[queue_lid]["Properties"].get("RedrivePolicy", {}))
        if redrive:
            dlq_arn = redrive["deadLetterTargetArn"]
            env["FERRY_DLQ_URL"] = next(v["Ref"] for v in r.physical.values() if v.get("Arn") == dlq_arn)
            max_receive = str(int(redrive["maxReceiveCount"]))
            if env.setdefault("FERRY_MAX_ATTEMPTS", max_receive) != max_receive:
                raise EmulatorError(f"FERRY_MAX_ATTEMPTS ({env['FERRY_MAX_ATTEMPTS']}) is not the "
                                    f"queue's maxReceiveCount ({max_receive}) in template.yaml")
        env["FERRY_EMULATOR_PID"] = str(pid)
    except Exception:
        if proc is not None:
            terminate(proc.pid)
        raise
    sdir = state_dir()
    sdir.mkdir(parents=True, exist_ok=True)
    tmp = sdir / "state.json.tmp"
    tmp.write_text(json.dumps({"pid": pid, "port": port, "root": str(ROOT), "env": env}, indent=1))
    tmp.replace(sdir / "state.json")
    print_exports(env)
    log(f"ready on {env['AWS_ENDPOINT_URL']}; stop it with infra/emulator stop")
    return 0


def cmd_env() -> int:
    state = running_state()
    if not state:
        log("not running (start it with: eval \"$(infra/emulator start)\")")
        return 3
    print_exports(state["env"])
    return 0


def cmd_status() -> int:
    state = running_state()
    if not state:
        print("ferry emulator: not running")
        return 3
    print(f"ferry emulator: running, pid {state['pid']}, {state['env']['AWS_ENDPOINT_URL']} "
          f"(state {state_dir()})")
    return 0


def cmd_stop() -> int:
    state = read_state()
    if state is None:
        log("not running")
        return 0
    pid = int(state["pid"])
    if pid_is_moto(pid):
        terminate(pid)
        if pid_alive(pid):
            raise EmulatorError(f"could not stop moto_server (pid {pid})")
        log(f"stopped moto_server (pid {pid})")
    else:
        log(f"moto_server (pid {pid}) had already exited")
    (state_dir() / "state.json").unlink(missing_ok=True)
    return 0


def main(argv: list[str]) -> int:
    commands = {"start": cmd_start, "env": cmd_env, "status": cmd_status, "stop": cmd_stop}
    if len(argv) != 1 or argv[0] not in commands:
        print("usage: infra/emulator start|env|status|stop", file=sys.stderr)
        return 2
    try:
        return commands[argv[0]]()
    except EmulatorError as e:
        log(f"error: {e}")
        return 1
    except Exception as e:  # botocore errors and the like: one clear line, not a trace
        log(f"error: {type(e).__name__}: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
