#!/usr/bin/env python3
"""One instance against two, on the delivery yardstick.

The yardstick (`../shared/bench/delivery_bench.py`) runs one `serve`
process. This runs its burst with INSTANCES (1 or 2) `serve` processes of the
same release build on one fresh database, behind nothing: the load is split
evenly between them, as a load balancer would, by one generator per instance
(32 clients in all, as the yardstick). Everything else is the yardstick's
own: its harness, load generator, receiver and analysis. One JSON line per
phase, in the yardstick's shape, plus `instances` and each instance's share
of the server CPU.

Run from the project root, with nothing else running:

    cargo build --release -p hub-chantier
    INSTANCES=1 python3 tests/load/instances_bench.py
    INSTANCES=2 python3 tests/load/instances_bench.py

HUB_BENCH_DIR points at the yardstick (default `../shared/bench`);
HUB_BENCH_N (10000) and HUB_BENCH_WEBHOOKS (1) as for the yardstick.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

BENCH_DIR = os.path.realpath(os.environ.get("HUB_BENCH_DIR", os.path.join("..", "shared", "bench")))
if not os.path.exists(os.path.join(BENCH_DIR, "delivery_bench.py")):
    sys.exit(f"no delivery yardstick at {BENCH_DIR}: set HUB_BENCH_DIR")
sys.path.insert(0, BENCH_DIR)
os.environ.setdefault("HUBCHECK_NO_BUILD", "1")

import delivery_bench as yardstick  # noqa: E402
from harness import BIN, TMP, Server, build, fail, free_port, http  # noqa: E402

INSTANCES = int(os.environ.get("INSTANCES", "2"))
CLIENTS = 32


def start_instance(first):
    """Another `serve` process on the first one's database and secrets."""
    port = free_port()
    # Its own ports: HTTP, and metrics (the first instance holds the default).
    env = dict(first.env, HTTP_ADDR=f"127.0.0.1:{port}", METRICS_ADDR=f"127.0.0.1:{free_port()}")
    log = open(os.path.join(TMP, f"hubcheck-instance-{port}.log"), "w")
    proc = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            fail(f"second instance exited at start; log {log.name}")
        try:
            if http("GET", base + "/health/ready")[0] == 200:
                return proc, base
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    fail("second instance never became ready")


def burst(name, bases, pids, tok, n, expect):
    """The yardstick's burst, its creations split over `bases`."""
    tag = name[0].upper() + str(int(time.time()) % 100000)
    recv_out = os.path.join(TMP, f"hubinst-{tag}.recv")
    urllib.request.urlopen(f"http://{yardstick.RECV}/dump?path={os.path.join(TMP, 'hubbench-discard')}").read()
    c0 = [yardstick.cpu_ticks([p]) for p in pids]
    p0 = yardstick.cpu_ticks(yardstick.pg_pids())
    gens, outs = [], []
    for index, base in enumerate(bases):
        out = os.path.join(TMP, f"hubinst-{tag}-{index}.gen")
        outs.append(out)
        share = n // len(bases) + (1 if index < n % len(bases) else 0)
        gens.append(subprocess.Popen(
            [yardstick.LG_BIN, "load", "--url", base + "/api/v1/chantiers", "--token", tok,
             "--hub", f"{tag}{index}", "--n", str(share), "--c", str(CLIENTS // len(bases)),
             "--out", out, "--threads", "1"],
            stdout=subprocess.PIPE, text=True))
    results = [json.loads(g.communicate()[0].strip().splitlines()[-1]) for g in gens]
    deadline = time.time() + 120
    while time.time() < deadline and yardstick.recv_count() < expect:
        time.sleep(0.2)
    time.sleep(0.5)
    c1 = [yardstick.cpu_ticks([p]) for p in pids]
    p1 = yardstick.cpu_ticks(yardstick.pg_pids())
    urllib.request.urlopen(f"http://{yardstick.RECV}/dump?path={recv_out}").read()
    gen_out = os.path.join(TMP, f"hubinst-{tag}.gen")
    with open(gen_out, "w") as joined:
        for out in outs:
            joined.write(open(out).read())
    a = json.loads(subprocess.run(
        [sys.executable, os.path.join(yardstick.LG, "analyze.py"), gen_out, recv_out],
        capture_output=True, text=True).stdout)
    a.pop("recv_per_second_buckets", None)
    hz = os.sysconf("SC_CLK_TCK")
    got = max(a.get("received_unique", 0), 1)
    server = [(c1[i] - c0[i]) / hz * 1000 for i in range(len(pids))]
    out = {"phase": name, "instances": len(bases), "webhooks": yardstick.W,
           "api_ok": sum(r["ok"] for r in results),
           "api_req_per_s": round(sum(r["req_per_s"] for r in results), 1), **a,
           "server_cpu_ms_per_delivery": round(sum(server) / got, 3),
           "server_cpu_share": [round(s / max(sum(server), 1), 2) for s in server],
           "pg_cpu_ms_per_delivery": round((p1 - p0) / hz * 1000 / got, 3)}
    print(json.dumps(out), flush=True)
    return out


def main():
    if INSTANCES not in (1, 2):
        sys.exit("INSTANCES is 1 or 2")
    if not os.path.exists(yardstick.LG_BIN):
        subprocess.run(["cargo", "build", "--release", "--locked", "--manifest-path",
                        os.path.join(yardstick.LG, "Cargo.toml"), "--target-dir", yardstick.LG_TARGET],
                       check=True)
    build()
    recv = subprocess.Popen([yardstick.LG_BIN, "recv", "--addr", yardstick.RECV, "--threads", "1"],
                            stderr=subprocess.DEVNULL)
    first = Server("instances", {"RATE_LIMITS": "off", "RUST_LOG": "warn"})
    others = []
    try:
        tok = first.admin_token()
        bases, pids = [first.base], [first.proc.pid]
        for _ in range(INSTANCES - 1):
            proc, base = start_instance(first)
            others.append(proc)
            bases.append(base)
            pids.append(proc.pid)
        for i in range(yardstick.W):
            st, body, _ = http("POST", first.base + "/api/v1/webhooks",
                               {"url": f"http://{yardstick.RECV}/hook{i}", "events": ["chantier.created"]},
                               token=tok)
            assert st == 201, (st, body)
        burst("warmup", bases, pids, tok, 300, 300 * yardstick.W)
        burst("burst", bases, pids, tok, yardstick.N, yardstick.N * yardstick.W)
        rss = []
        for pid in pids:
            with open(f"/proc/{pid}/status") as status:
                rss.append(int([l for l in status if l.startswith("VmHWM")][0].split()[1]) // 1024)
        print(json.dumps({"server_peak_rss_mb": rss}))
    finally:
        for proc in others:
            proc.terminate()
            proc.wait(15)
        first.stop()
        recv.terminate()


if __name__ == "__main__":
    main()
