"""Many viewers on loopback: does the control loop keep its rate while 20 people watch?

Starts the app (throwaway store; by default with accounts, viewers signed in as visitors), keeps the
robot moving as a signed-in operator would, then for `--seconds` runs `--viewers` viewers, each doing
what an open page on the Teleop tab does: read the MJPEG stream of every camera in `--cameras` (raw
sockets, frames counted by their multipart boundary), run the tab's Gradio timer events (status line
every 0.5 s, control panel every 1 s: queue join + the session's event stream, as the browser does) and
post the teleop heartbeat every 0.5 s; plus poll /api/status twice a second. Reads the control loop's
rate from /api/status (ticks counted over the window, and the loop's own rolling rate at every poll).

Writes bench/results/load.json with viewers, control_loop_hz, frame_fps_per_viewer (the slowest
stream of any viewer), errors and more; prints one line. Targets: loop >= 30 Hz (within 3%), every
viewer >= 5 frames/s on every stream, 0 errors.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import app_process, write_result

MARKER = b"--frame\r\n"
PASSWORDS = {"operator": "operator-password-1", "viewer": "viewer-password-1"}
HZ_TOLERANCE = 0.97  # a 30 Hz loop measured at >= 29.1 Hz counts as keeping its rate


@dataclass
class Counters:
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, text: str) -> None:
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(text)
            else:
                self.errors[-1] = f"... and more ({text})"


@contextmanager
def run_app(login: bool, hz: float, port: int | None = None, extra: tuple[str, ...] = ()):
    """The app on a free loopback port with a throwaway store (accounts created first when `login`)."""
    tmp = Path(tempfile.mkdtemp(prefix="vlm2vla-load-"))
    rec = tmp / "recordings"
    if login:
        from core.auth import users
        from core.store import StoreConfig, open_store

        store = open_store(StoreConfig(recordings_dir=rec))
        users.create_user(store, "operator", "member", PASSWORDS["operator"])
        users.create_user(store, "viewer", "visitor", PASSWORDS["viewer"])
        store.close()
    with app_process("--no-model", "--hz", str(hz), "--log-level", "WARNING", *extra, folder=tmp, port=port) as (base, proc):
        yield int(base.rsplit(":", 1)[1]), proc.pid


def login_cookie(port: int, name: str) -> str:
    body = f"username={name}&password={PASSWORDS[name]}"
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/login", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    r.read()
    if r.status != 200:
        raise RuntimeError(f"login as {name} failed: HTTP {r.status}")
    cookies = [h.split(";", 1)[0] for k, h in r.getheaders() if k.lower() == "set-cookie"]
    return "; ".join(cookies)


def request_json(conn: http.client.HTTPConnection, method: str, path: str, cookie: str,
                 payload: dict | None = None) -> tuple[int, dict]:
    headers = {"Cookie": cookie} if cookie else {}
    body = None
    if payload is not None:
        body = json.dumps(payload).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, (json.loads(data) if data else {})


def operator(port: int, cookie: str, stop: threading.Event, counters: Counters) -> None:
    """Keeps the robot moving left and right (so every frame differs), 20 events a second."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    seq, t0 = int(time.time() * 1000), time.monotonic()
    while not stop.is_set():
        seq += 1
        direction = 1.0 if int(time.monotonic() - t0) % 2 == 0 else -1.0
        try:
            code, body = request_json(conn, "POST", "/api/teleop/input", cookie,
                                      {"source": "pad", "axes": [0, direction, 0, 0, 0, 0], "gripper": None,
                                       "buttons": [], "seq": seq})
            if code != 200:
                counters.error(f"operator input: HTTP {code} {body}")
        except (OSError, http.client.HTTPException) as exc:
            counters.error(f"operator input: {exc}")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        stop.wait(0.05)


def stream_reader(port: int, camera: str, cookie: str, window: tuple[float, float], out: list[float],
                  stop: threading.Event, counters: Counters) -> None:
    """Reads /stream/<camera>.mjpg and appends the arrival time of every frame to `out`."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(f"GET /stream/{camera}.mjpg HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"{'Cookie: ' + cookie + chr(13) + chr(10) if cookie else ''}Connection: close\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed before the headers")
            head += chunk
        status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if " 200 " not in status_line + " ":
            raise ConnectionError(status_line)
        carry = head.split(b"\r\n\r\n", 1)[1]
        end = window[1]
        while not stop.is_set() and time.monotonic() < end + 0.5:
            n = carry.count(MARKER)
            now = time.monotonic()
            out.extend([now] * n)
            carry = carry[-(len(MARKER) - 1):] if n == 0 else carry[carry.rfind(MARKER) + len(MARKER):][-(len(MARKER) - 1):]
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("stream ended")
            carry += chunk
        s.close()
    except (OSError, ConnectionError) as exc:
        counters.error(f"stream {camera}: {exc}")


def page_timers(port: int, cookie: str, tab: str) -> list[tuple[int, int, float]]:
    """(fn_index, trigger_id, interval) of the timers inside the tab labelled `tab`: measured in chromium,
    only the visible tab's timers tick (on the Teleop tab: the 0.5 s status line and the 1 s control panel)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    code, config = request_json(conn, "GET", "/config", cookie)
    if code != 200:
        raise RuntimeError(f"/config: HTTP {code}")
    comps = {c["id"]: c for c in config["components"]}

    def ids_under(node: dict) -> set[int]:
        out = {node["id"]}
        for child in node.get("children", []):
            out |= ids_under(child)
        return out

    def find_tab(node: dict) -> dict | None:
        c = comps.get(node["id"], {})
        if c.get("type") in ("tabitem", "tab") and c.get("props", {}).get("label") == tab:
            return node
        for child in node.get("children", []):
            hit = find_tab(child)
            if hit is not None:
                return hit
        return None

    node = find_tab(config["layout"])
    if node is None:
        raise RuntimeError(f"no tab labelled {tab!r}")
    inside = ids_under(node)
    timers = {i: comps[i]["props"].get("value") for i in inside if comps.get(i, {}).get("type") == "timer"}
    found = [(dep["id"], target, float(timers[target])) for dep in config["dependencies"]
             for target, event in dep["targets"] if event == "tick" and target in timers]
    if not found:
        raise RuntimeError(f"no timers on the {tab!r} tab")
    return found


def page_session(port: int, cookie: str, timers: list[tuple[int, int, float]], window: tuple[float, float],
                 latencies: list[float], stop: threading.Event, counters: Counters) -> None:
    """What an open page does besides its streams: its timers' Gradio events (join the queue, read the
    result from the session's event stream) and the teleop script's heartbeat every 0.5 s."""
    import secrets

    import httpx

    session = secrets.token_hex(6)
    headers = {"Cookie": cookie} if cookie else {}
    due = {fn: time.monotonic() for fn, _, _ in timers}
    next_beat, seq = time.monotonic(), int(time.time() * 1000)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=10) as c:
        while not stop.is_set() and time.monotonic() < window[1]:
            now = time.monotonic()
            try:
                if now >= next_beat:
                    seq += 1
                    r = c.post("/api/teleop/input", json={"source": "keyboard", "axes": [0] * 6, "gripper": None,
                                                          "buttons": [], "seq": seq})
                    if r.status_code != 200:
                        counters.error(f"heartbeat: HTTP {r.status_code}")
                    next_beat = now + 0.5
                for fn, trigger, every in timers:
                    if now < due[fn]:
                        continue
                    due[fn] = now + every
                    t0 = time.monotonic()
                    r = c.post("/gradio_api/queue/join", json={"data": [], "event_data": None, "fn_index": fn,
                                                               "trigger_id": trigger, "session_hash": session})
                    if r.status_code != 200:
                        counters.error(f"queue/join: HTTP {r.status_code}")
                        continue
                    event_id = r.json()["event_id"]
                    done = False
                    with c.stream("GET", "/gradio_api/queue/data", params={"session_hash": session}) as sse:
                        for line in sse.iter_lines():
                            if not line.startswith("data:"):
                                continue
                            msg = json.loads(line[5:])
                            if msg.get("msg") == "process_completed" and msg.get("event_id") == event_id:
                                done = bool(msg.get("success"))
                                break
                    if not done:
                        counters.error(f"timer event {fn} did not complete")
                    elif t0 >= window[0]:
                        latencies.append(time.monotonic() - t0)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                counters.error(f"page session: {exc}")
            stop.wait(max(0.0, min([next_beat, *due.values()]) - time.monotonic()))


def status_poller(port: int, cookie: str, window: tuple[float, float], samples: list[dict],
                  latencies: list[float], stop: threading.Event, counters: Counters) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    while not stop.is_set() and time.monotonic() < window[1]:
        t0 = time.monotonic()
        try:
            code, body = request_json(conn, "GET", "/api/status", cookie)
            if code != 200:
                counters.error(f"status: HTTP {code}")
            elif t0 >= window[0]:
                samples.append({"t": t0, "hz": body["hz"], "ticks": body["ticks"], "missed": body["missed_ticks"],
                                "tick_ms": body.get("tick_ms")})
                latencies.append(time.monotonic() - t0)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            counters.error(f"status: {exc}")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        stop.wait(0.5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def main(argv: list[str] | None = None, write: bool = True) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--viewers", type=int, default=20)
    ap.add_argument("--cameras", default="front,wrist", help="streams each viewer reads (the Teleop tab shows both)")
    ap.add_argument("--seconds", type=float, default=20.0, help="measurement window (after a 3 s warm-up)")
    ap.add_argument("--hz", type=float, default=30.0)
    ap.add_argument("--open-lab", action="store_true", help="no accounts (no login) instead of signed-in viewers")
    ap.add_argument("--tab", default="Teleop & Record", help="the tab every viewer has open (its timers run)")
    ap.add_argument("--no-page-events", dest="page_events", action="store_false",
                    help="only streams and status polls, without the page's timer events and heartbeats")
    ap.add_argument("--port", type=int, default=None, help="the app's port (default: a free one)")
    args = ap.parse_args(argv)
    if not 1 <= args.viewers <= 100 or not 1 <= args.seconds <= 120:
        ap.error("keep it bounded: 1..100 viewers, 1..120 s")
    cameras = [c.strip() for c in args.cameras.split(",") if c.strip()]
    login = not args.open_lab
    counters = Counters()
    stop = threading.Event()
    with run_app(login, args.hz, args.port) as (port, pid):
        op_cookie = login_cookie(port, "operator") if login else ""
        view_cookie = login_cookie(port, "viewer") if login else ""
        threading.Thread(target=operator, args=(port, op_cookie, stop, counters), daemon=True).start()
        timers = page_timers(port, view_cookie, args.tab) if args.page_events else []
        event_latencies: list[float] = []
        time.sleep(1.0)
        start = time.monotonic() + 3.0
        window = (start, start + args.seconds)
        arrivals: list[list[list[float]]] = [[[] for _ in cameras] for _ in range(args.viewers)]
        samples: list[dict] = []
        latencies: list[float] = []
        threads: list[threading.Thread] = []
        for v in range(args.viewers):
            for ci, cam in enumerate(cameras):
                threads.append(threading.Thread(target=stream_reader, daemon=True, args=(
                    port, cam, view_cookie, window, arrivals[v][ci], stop, counters)))
            threads.append(threading.Thread(target=status_poller, daemon=True, args=(
                port, view_cookie, window, samples, latencies, stop, counters)))
            if timers:
                threads.append(threading.Thread(target=page_session, daemon=True, args=(
                    port, view_cookie, timers, window, event_latencies, stop, counters)))
        for th in threads:
            th.start()
        time.sleep(max(0.0, window[0] - time.monotonic()))
        cpu0 = cpu_seconds(pid)
        time.sleep(max(0.0, window[1] - time.monotonic()))
        app_cpu = (cpu_seconds(pid) - cpu0) / args.seconds
        time.sleep(0.6)
        stop.set()
        for th in threads:
            th.join(timeout=5)
        hung = sum(th.is_alive() for th in threads)
        if hung:
            counters.error(f"{hung} viewer threads did not finish")

    dur = window[1] - window[0]
    fps = [[sum(1 for t in ts if window[0] <= t < window[1]) / dur for ts in viewer] for viewer in arrivals]
    per_viewer = [min(v) for v in fps]  # a viewer is as good as its slowest stream
    samples.sort(key=lambda s: s["t"])
    if len(samples) >= 2 and samples[-1]["t"] > samples[0]["t"]:
        loop_hz = (samples[-1]["ticks"] - samples[0]["ticks"]) / (samples[-1]["t"] - samples[0]["t"])
        missed = samples[-1]["missed"] - samples[0]["missed"]
    else:
        loop_hz, missed = 0.0, -1
        counters.error("not enough status samples")
    rolling = [s["hz"] for s in samples]
    lat = sorted(latencies)
    result = {
        "viewers": args.viewers,
        "streams_per_viewer": len(cameras),
        "cameras": cameras,
        "login": login,
        "seconds": round(dur, 1),
        "control_loop_hz": round(loop_hz, 2),
        "control_loop_hz_target": args.hz,
        "control_loop_hz_min_rolling": round(min(rolling), 2) if rolling else 0.0,
        "missed_ticks": missed,
        "frame_fps_per_viewer": round(min(per_viewer), 2),
        "frame_fps_per_viewer_median": round(statistics.median(per_viewer), 2),
        "frame_fps_per_viewer_max": round(max(per_viewer), 2),
        "app_cpu_cores": round(app_cpu, 2),  # CPU time of the app process per second of the window
        "page_events": args.page_events,
        "tab": args.tab if args.page_events else None,
        "page_timers_s": sorted(t[2] for t in timers),
        "gradio_events": len(event_latencies),
        "gradio_event_ms_p95": round(1000 * sorted(event_latencies)[int(0.95 * (len(event_latencies) - 1))], 1)
        if event_latencies else None,
        "status_polls": len(samples),
        "status_latency_ms_p95": round(1000 * lat[int(0.95 * (len(lat) - 1))], 1) if lat else None,
        "tick_ms": samples[-1].get("tick_ms") if samples else None,  # the loop's phases over its last 300 ticks
        "errors": len(counters.errors),
        "error_samples": counters.errors[:10],
        "cpu_count": os.cpu_count(),
    }
    result["targets_met"] = bool(loop_hz >= HZ_TOLERANCE * args.hz and min(per_viewer) >= 5.0
                                 and not counters.errors)
    path = write_result("load", result) if write else "(not written)"
    print(f"load: {args.viewers} viewers x {len(cameras)} streams ({'signed in' if login else 'open lab'}), "
          f"{dur:.0f} s: control loop {loop_hz:.1f} Hz (rolling min {result['control_loop_hz_min_rolling']}), "
          f"slowest viewer {min(per_viewer):.1f} fps (median {statistics.median(per_viewer):.1f}), "
          f"app {app_cpu:.2f} cores, {len(counters.errors)} errors, targets {'met' if result['targets_met'] else 'NOT met'} -> {path}")
    return result


if __name__ == "__main__":
    main()
