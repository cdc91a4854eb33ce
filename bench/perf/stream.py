"""Frames per second that headless chromium actually receives and shows from the MJPEG camera route.

Starts the app, keeps the robot moving (so every frame differs), opens the page and, for 10 s, counts
(a) multipart frames arriving over a fetch of the stream and (b) changes of the displayed <img>,
sampled on every animation frame through a canvas. Writes bench/results/stream.json.
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time

from bench.common import app_server, post_json, write_result

COUNT_JS = """async (seconds) => {
  const img = document.querySelector('#cam-front');
  const c = document.createElement('canvas'); c.width = 32; c.height = 32;
  const ctx = c.getContext('2d', {willReadFrequently: true});
  let shown = 0, last = null;
  const t0 = performance.now();
  await new Promise(done => {
    const tick = () => {
      ctx.drawImage(img, 0, 0, 32, 32);
      const px = ctx.getImageData(0, 0, 32, 32).data;
      let h = 0; for (let i = 0; i < px.length; i += 7) h = (h * 31 + px[i]) | 0;
      if (h !== last) { shown++; last = h; }
      if (performance.now() - t0 < seconds * 1000) requestAnimationFrame(tick); else done();
    };
    requestAnimationFrame(tick);
  });
  // frames arriving on a second connection, parsed from the multipart stream
  const ctrl = new AbortController();
  const resp = await fetch('/stream/front.mjpg', {signal: ctrl.signal});
  const reader = resp.body.getReader();
  let received = 0; const t1 = performance.now();
  const dec = new TextDecoder();
  while (performance.now() - t1 < seconds * 1000) {
    const {value, done} = await reader.read();
    if (done) break;
    const s = dec.decode(value, {stream: true});
    received += (s.match(/--frame/g) || []).length;
  }
  ctrl.abort();
  return {shown_fps: shown / seconds, received_fps: received / seconds};
}"""


def keep_moving(base: str, stop: threading.Event) -> None:
    # event numbers continue past the page's own (it counts from the wall clock in ms)
    seq, t0 = int(time.time() * 1000) + 10_000_000, time.monotonic()
    while not stop.is_set():
        seq += 1
        direction = 1.0 if int(time.monotonic() - t0) % 2 == 0 else -1.0
        post_json(base + "/api/teleop/input", {"source": "pad", "axes": [0, direction, 0, 0, 0, 0],
                                               "gripper": None, "buttons": [], "seq": seq})
        time.sleep(0.05)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with app_server() as base, sync_playwright() as p:
        stop = threading.Event()
        mover = threading.Thread(target=keep_moving, args=(base, stop), daemon=True)
        mover.start()
        browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.goto(base + "/")
        page.wait_for_selector("#cam-front", timeout=60_000)
        time.sleep(2)
        res = page.evaluate(COUNT_JS, args.seconds)
        stop.set()
        browser.close()
    result = {"browser_fps": round(res["shown_fps"], 1), "received_fps": round(res["received_fps"], 1),
              "seconds": args.seconds, "control_hz": 30}
    write_result("stream", result)
    print(f"stream: {result['browser_fps']} frames/s shown in headless chromium, {result['received_fps']} received (target >= 25)")


if __name__ == "__main__":
    main()
