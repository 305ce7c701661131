#!/usr/bin/env python3
"""Makes the bearer token that the sample API events in events/ carry.

    python3 events/make_token.py            # print the token
    python3 events/make_token.py --update   # rewrite `authorization` in events/api-*.json, url-*.json

An HS256 JWT over {"sub":"events-user","iat":1764000000,"exp":4102444800},
signed with the secret below; tests set FERRY_JWT_SECRET to that secret.
Standard library only, and deterministic: the same claims give the same token.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
from pathlib import Path

SECRET = "ferry-sample-events-secret-0123456789abcdef"
CLAIMS = {  # exp = 2100-01-01
    "sub": "events-user", "iat": 1764000000, "exp": 4102444800, "scope": "ferry/jobs.read ferry/jobs.write",
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_token(claims: dict, secret: str) -> str:
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def update_events(token: str) -> None:
    for path in sorted(p for pattern in ("api-*.json", "url-*.json") for p in Path(__file__).resolve().parent.glob(pattern)):
        event = json.loads(path.read_text())
        if "authorization" not in event.get("headers", {}):
            continue  # e.g. api-unauthorized.json
        event["headers"]["authorization"] = f"Bearer {token}"
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n")
        print(f"updated {path.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sub", default=CLAIMS["sub"])
    parser.add_argument("--iat", type=int, default=CLAIMS["iat"])
    parser.add_argument("--exp", type=int, default=CLAIMS["exp"])
    parser.add_argument("--scope", default=CLAIMS["scope"], help="space-separated scopes")
    parser.add_argument("--secret", default=SECRET)
    parser.add_argument("--update", action="store_true", help="rewrite the events' authorization headers")
    args = parser.parse_args()
    token = make_token({"sub": args.sub, "iat": args.iat, "exp": args.exp, "scope": args.scope}, args.secret)
    if args.update:
        update_events(token)
    else:
        print(token)


if __name__ == "__main__":
    main()
