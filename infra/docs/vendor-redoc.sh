#!/usr/bin/env bash
# Vendors the API reference reader served at GET /docs: Redoc's standalone
# bundle from the npm registry, gzipped (the API sends it as is, with
# Content-Encoding: gzip), into functions/api/assets/. Run it to change the
# version; the result is committed, so builds need neither npm nor a network.
set -euo pipefail
version="${1:-3.0.1}"
root="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "redoc@$version" >/dev/null && tar xzf "redoc-$version.tgz")
# -n: no name or time in the header, so the same version gives the same bytes.
gzip -9 -n -c "$work/package/bundles/redoc.standalone.js" > "$root/functions/api/assets/redoc.standalone.js.gz"
cp "$work/package/LICENSE" "$root/functions/api/assets/REDOC-LICENSE"
echo "redoc $version" > "$root/functions/api/assets/REDOC-VERSION"
ls -l "$root/functions/api/assets/"
