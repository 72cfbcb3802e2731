#!/usr/bin/env bash
# The SCIM benchmark of issue 5 (not a test): a tenant of 1,000,000 users, the release
# build, wrk (Debian package) over loopback.
#   GET  /Users?filter=userName eq "…"   random users, 5 s at 2/4/8/16 connections
#   POST /Users                          unique users, 5 s at 4/16 connections
#   a cursor-paged listing (count=1000) of all users, sampling the server's RSS, and single
#   pages timed: the first and the one at depth 900,000, cursor and startIndex
# Usage: crates/server/bench/run.sh [WORKDIR]   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/../../.."
work=${1:-$(mktemp -d)}
here=crates/server/bench
cargo build --release --locked -p tenantsync
bin="${CARGO_TARGET_DIR:-target}/release/tenantsync"
data="$work/data"
if [ ! -e "$data/tenantsync.db" ]; then
    python3 - "$work/users.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("userPrincipalName,displayName,givenName,surname,department,mail\n")
    for i in range(1, 1_000_001):
        f.write(f"u{i}@contoso.example,User {i},Given{i},Sur{i},Dept{i % 50},u{i}@contoso.example\n")
PY
    "$bin" --data-dir "$data" tenant create --name Contoso --domain contoso.example >/dev/null
    "$bin" --data-dir "$data" import users --tenant contoso.example "$work/users.csv"
fi
token=$("$bin" --data-dir "$data" token create --tenant contoso.example --name bench 2>/dev/null)
"$bin" --data-dir "$data" serve --listen 127.0.0.1:0 --rate-limit 0 >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
    url=$(sed -n 's|^serving SCIM 2.0 on \(http://127.0.0.1:[0-9]*\)/.*|\1|p' "$work/serve.log")
    [ -n "$url" ] && break
    sleep 0.1
done
echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for c in 2 4 8 16; do
    echo "== GET filter userName eq, $c connections"
    TOKEN=$token wrk -t2 -c$c -d5s --latency -s $here/get.lua "$url" | grep -E "Requests/sec|requests "
done
for c in 4 16; do
    echo "== POST /Users, $c connections"
    RUN="r$c$$" TOKEN=$token wrk -t2 -c$c -d5s --latency -s $here/post.lua "$url/scim/v2/contoso.example/Users" | grep -E "Requests/sec|requests "
done
echo "== paged listing of all users, cursor paging, count=1000; single pages: first vs depth 900k"
PID=$pid TOKEN=$token URL=$url python3 - <<'PY'
import json, os, statistics, time, urllib.parse, urllib.request
B = f"{os.environ['URL']}/scim/v2/contoso.example/Users"
def get(q):
    req = urllib.request.Request(f"{B}?{q}", headers={"Authorization": "Bearer " + os.environ["TOKEN"]})
    t = time.perf_counter()
    body = json.load(urllib.request.urlopen(req))
    return body, (time.perf_counter() - t) * 1000
def rss():
    for line in open(f"/proc/{os.environ['PID']}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
cursor, n, page, samples, at900 = "", 0, 0, [], None
t0 = time.time()
while True:
    body, _ = get(f"count=1000&cursor={urllib.parse.quote(cursor)}")
    n += len(body["Resources"])
    page += 1
    if page == 901:
        at900 = cursor
    if page % 100 == 0:
        samples.append(rss())
    cursor = body.get("nextCursor")
    if not cursor:
        break
dt = time.time() - t0
print(f"{n} users in {page} pages, {dt:.1f} s ({n / dt:.0f} users/s); server RSS (MiB) every 100 pages: {samples}")
med = lambda q, k=15: statistics.median(get(q)[1] for _ in range(k))
deep = urllib.parse.quote(at900)
for count in (1000, 100):
    print(f"count={count}, median ms: cursor first page {med(f'count={count}&cursor='):.1f}, cursor at 900k {med(f'count={count}&cursor={deep}'):.1f}; "
          f"startIndex=1 {med(f'count={count}&startIndex=1'):.1f}, startIndex=900001 {med(f'count={count}&startIndex=900001', 5):.1f}")
PY
