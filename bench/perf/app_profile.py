"""Where the running app's CPU time goes while an autonomous command runs, with a page open.

Starts `python app.py` (default model, shipped adapters, default precision), opens a headless chromium page on
the Autonomous tab (both camera streams and the Gradio timers live), sends a command with "Do it", and samples
the app's process with py-spy for `--seconds` while the command runs. Every sample of a busy thread is put
in one bucket by what its stack is doing (rules below, first match wins); idle threads are not sampled, and
samples whose leaf is a wait are set apart. Only Python threads are seen: the renderer's own (llvmpipe) threads
and OpenVINO's are native, so rendering shows as the Python call that waits for it.
Writes bench/results/app_profile.json (shares per bucket, the top leaf functions, the command's outcome and
the machine load) and prints one line.

    python bench/perf/app_profile.py                      # 60 s of a pick command
    python bench/perf/app_profile.py --seconds 90 --command "put the red block in the bowl"

py-spy must be on PATH (requirements-dev.txt) and allowed to read the process (root, or ptrace permitted).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.common import app_process, write_result

# (bucket, substrings of the stack: any one matches). Order matters: the first rule that matches wins, so the
# model thread's locator is told apart from its language model, and JPEG encoding from the rest of a stream.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("recording: video encode", ("core/recording/encoder.py",)),
    ("streams: JPEG encode", ("imencode",)),
    ("model: object locator", ("core/policy/locator.py",)),
    ("model: language model (prefill, decode, grammar)", ("core/model/", "core/policy/", "openvino", "torch/")),
    ("control loop: render", ("renderer.py", "_render", "render (core/robot")),
    ("control loop: physics, safety, listeners", ("core/control/loop.py",)),
    ("web: Gradio handlers and timers", ("ui/", "gradio/")),
    ("web: server (uvicorn, starlette, asyncio)", ("uvicorn/", "starlette/", "anyio/", "asyncio/", "h11/")),
)


# leaf frames that wait (py-spy's idle detection misses some waits in --nonblocking mode): their own bucket
WAITING = ("Selector.select", "Condition.wait", "Condition.notify", "Event.wait", "sleep (", "Lock.acquire")


def bucket(stack: str) -> str:
    if any(w in stack.rsplit(";", 1)[-1] for w in WAITING):
        return "waiting (not CPU work)"
    for name, needles in RULES:
        if any(n in stack for n in needles):
            return name
    return "other"


def read_collapsed(path: Path) -> tuple[Counter[str], Counter[str]]:
    """py-spy's collapsed stacks -> (samples per bucket, samples per leaf function)."""
    buckets: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        buckets[bucket(stack)] += n
        leaves[stack.split(";")[-1].strip()] += n
    return buckets, leaves


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="how long to sample once the command is sent")
    ap.add_argument("--command", default="pick up the red block")
    ap.add_argument("--rate", type=int, default=50, help="py-spy samples per second")
    ap.add_argument("--out", type=Path, default=None, help="result JSON (default bench/results/app_profile.json)")
    args = ap.parse_args()
    spy = shutil.which("py-spy")
    if spy is None:
        print("app_profile: py-spy is not installed (pip install py-spy)")
        return 2
    from bench.appbench.page import AutonomousPage, chromium

    folder = Path(tempfile.mkdtemp(prefix="vlm2vla-profile-"))
    raw = folder / "stacks.txt"
    with app_process(folder=folder, start_timeout=900) as (base, proc), chromium() as browser:
        page = AutonomousPage(browser, base)
        page.open()
        time.sleep(5.0)  # the streams and timers settle
        load0 = os.getloadavg()[0]
        page.send(args.command)
        subprocess.run([spy, "record", "--pid", str(proc.pid), "--duration", str(int(args.seconds)),
                        "--rate", str(args.rate), "--format", "raw", "--output", str(raw), "--threads",
                        "--nonblocking"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        state = page.read()
        load1 = os.getloadavg()[0]
        page.close()
    buckets, leaves = read_collapsed(raw)
    total = sum(buckets.values()) or 1
    work = sum(v for k, v in buckets.items() if not k.startswith("waiting")) or 1
    shares = {k: round(v / work, 3) for k, v in buckets.most_common() if not k.startswith("waiting")}
    result = {
        "command": args.command, "seconds": args.seconds, "rate_hz": args.rate, "samples": total,
        "shares": shares, "waiting_share_of_samples": round(buckets["waiting (not CPU work)"] / total, 3),
        "top_leaf_functions": [{"function": f, "share": round(n / total, 3)} for f, n in leaves.most_common(15)],
        "command_status_at_end": state.get("command"), "load_avg_1min": [round(load0, 2), round(load1, 2)],
        "cpu_count": os.cpu_count(),
    }
    out = write_result(args.out.stem if args.out else "app_profile", result)
    top = ", ".join(f"{k} {v:.0%}" for k, v in list(shares.items())[:4])
    print(f"app_profile: {total} busy samples over {args.seconds:.0f} s: {top} (load {load0:.1f}) -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
