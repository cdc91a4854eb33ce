/*
 * VLM2VLA Studio - browser teleop: keyboard, on-screen pad and a WebHID SpaceMouse. Plain JavaScript, no build
 * step; load it once into the page (Gradio `launch(head=...)`). Every input becomes an event POSTed to
 * /api/teleop/input (the event format and its rules: core/teleop/browser.py); a held input is resent every
 * `tickMs`, a release sends one all-zero event, a heartbeat goes out every `heartbeatMs`. Keys (README's
 * Keyboard section) go by physical position and are ignored while typing. Page hooks: #teleop-pad gets the
 * on-screen pad, #webhid-connect asks for a SpaceMouse (Chrome/Edge, localhost or https), #teleop-status or
 * #teleop-js-status shows a status line. Configure with window.VLM_TELEOP_CONFIG = {endpoint, tickMs, ...}
 * before this script, or data-endpoint on its tag. window.vlmTeleop exposes handleHidReport(reportId,
 * DataView) for tests and state() for debugging.
 */
(function () {
  "use strict";
  if (window.vlmTeleop) return; // loaded twice: keep the first instance

  var script = document.currentScript;
  var user = window.VLM_TELEOP_CONFIG || {};
  var CFG = {
    endpoint: "/api/teleop/input",
    tickMs: 50, // resend period while an input is held (20 Hz)
    heartbeatMs: 500, // idle heartbeat so the server sees the page alive
    requestTimeoutMs: 2000,
    hidFullScale: 350, // SpaceMouse raw counts at full deflection
    hidStaleMs: 250, // no HID report for this long -> HID axes count as zero
    gripperRepeatMs: 300, // a gripper toggle is repeated in events for this long, then null
    trustServerGripperAfterMs: 1000, // after this long without a local toggle, toggle from the server's value
    slowFactor: 0.3,
    hidGripperButton: 0, // WebHID button index that toggles the gripper (bit i of report 3)
  };
  if (script && script.dataset && script.dataset.endpoint) CFG.endpoint = script.dataset.endpoint;
  Object.keys(user).forEach(function (k) {
    if (k in CFG) CFG[k] = user[k];
  });

  var SOURCES = ["keyboard", "pad", "webhid"];
  var KEYMAP = {
    KeyW: [0, 1], ArrowUp: [0, 1],
    KeyS: [0, -1], ArrowDown: [0, -1],
    KeyA: [1, 1], ArrowLeft: [1, 1],
    KeyD: [1, -1], ArrowRight: [1, -1],
    KeyR: [2, 1], PageUp: [2, 1],
    KeyF: [2, -1], PageDown: [2, -1],
    KeyQ: [5, 1],
    KeyE: [5, -1],
  };
  var HID_VENDORS = [0x256f, 0x046d]; // 3Dconnexion, older Logitech-era 3Dconnexion
  var HID_FILTERS = HID_VENDORS.map(function (v) {
    return { vendorId: v, usagePage: 0x01, usage: 0x08 };
  });

  var st = {
    keys: new Set(),
    shift: false,
    pad: new Map(), // pointerId -> [axis, dir]
    hid: { x: 0, y: 0, z: 0, rx: 0, ry: 0, rz: 0, buttons: [], lastReport: -Infinity, devices: new Set(), name: "" },
    hidStatus: "not connected",
    gripper: null, // page's gripper target (1 open, 0 closed), null until first toggle
    gripperUntil: -Infinity,
    lastToggleAt: -Infinity,
    serverGripper: null,
    wasActive: { keyboard: false, pad: false, webhid: false },
    seq: Date.now(), // strictly increasing across page reloads too
    lastPostAt: -Infinity,
    pending: new Map(), // source -> event (coalesced)
    inflight: false,
    posted: 0,
    failures: 0,
    lastError: "",
    stopped: false,
  };

  function now() {
    return performance.now();
  }

  function clamp1(v) {
    return v < -1 ? -1 : v > 1 ? 1 : v;
  }

  function zeros() {
    return [0, 0, 0, 0, 0, 0];
  }

  function isZero(axes) {
    for (var i = 0; i < axes.length; i++) if (axes[i] !== 0) return false;
    return true;
  }

  // ---------------------------------------------------------------- per-source axes

  function keyboardAxes() {
    var a = zeros();
    st.keys.forEach(function (code) {
      var m = KEYMAP[code];
      if (m) a[m[0]] += m[1];
    });
    var f = st.shift ? CFG.slowFactor : 1;
    return a.map(function (v) {
      return clamp1(v) * f;
    });
  }

  function padAxes() {
    var a = zeros();
    st.pad.forEach(function (m) {
      a[m[0]] += m[1];
    });
    return a.map(clamp1);
  }

  function hidAxes(t) {
    var h = st.hid;
    if (t - h.lastReport > CFG.hidStaleMs) return zeros(); // device went quiet: never resend stale motion
    var s = CFG.hidFullScale;
    // raw HID: +x right, +y toward the user, +z down (rotations about those axes) -> robot frame,
    // the same mapping as pyspacemouse's "ros" convention used on the server.
    return [-h.y / s, -h.x / s, -h.z / s, -h.ry / s, -h.rx / s, -h.rz / s].map(function (v) {
      return clamp1(v) + 0; // + 0 turns -0 into 0
    });
  }

  function axesFor(source, t) {
    if (source === "keyboard") return keyboardAxes();
    if (source === "pad") return padAxes();
    return hidAxes(t);
  }

  function hidButtonsHeld() {
    return st.hid.buttons.some(function (b) {
      return b === 1;
    });
  }

  // ---------------------------------------------------------------- sending

  function makeEvent(source, axes, gripper) {
    st.seq += 1;
    return {
      source: source,
      axes: axes,
      gripper: gripper,
      buttons: source === "webhid" ? st.hid.buttons.slice(0, 32) : [],
      seq: st.seq,
    };
  }

  function enqueue(ev) {
    st.pending.set(ev.source, ev); // only the latest state per source matters
    st.lastPostAt = now();
    flush();
  }

  function flush() {
    if (st.inflight || st.pending.size === 0) return;
    var next = null;
    st.pending.forEach(function (ev) {
      if (next === null || ev.seq < next.seq) next = ev;
    });
    st.pending.delete(next.source);
    st.inflight = true;
    var ctrl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, CFG.requestTimeoutMs) : null;
    fetch(CFG.endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(next),
      credentials: "same-origin",
      cache: "no-store",
      signal: ctrl ? ctrl.signal : undefined,
    })
      .then(function (resp) {
        if (!resp.ok) {
          return resp.text().then(function (text) {
            throw new Error("HTTP " + resp.status + " " + text.slice(0, 200));
          });
        }
        return resp.json().catch(function () {
          return {};
        });
      })
      .then(function (ack) {
        st.posted += 1;
        st.lastError = "";
        if (ack && (ack.gripper === 0 || ack.gripper === 1)) st.serverGripper = ack.gripper;
      })
      .catch(function (err) {
        st.failures += 1;
        st.lastError = String((err && err.message) || err);
        if (st.failures <= 3 || st.failures % 100 === 0) console.warn("teleop: POST failed:", st.lastError);
      })
      .then(function () {
        if (timer) clearTimeout(timer);
        st.inflight = false;
        renderStatus();
        flush();
      });
  }

  function tick() {
    if (st.stopped) return;
    var t = now();
    var gripper = t < st.gripperUntil ? st.gripper : null;
    var sent = false;
    SOURCES.forEach(function (source) {
      var axes = axesFor(source, t);
      var active = !isZero(axes) || (source === "webhid" && hidButtonsHeld());
      if (active || st.wasActive[source]) {
        enqueue(makeEvent(source, axes, gripper)); // while held, and once more (zeros) on release
        sent = true;
      }
      st.wasActive[source] = active;
    });
    if (!sent && (gripper !== null || t - st.lastPostAt >= CFG.heartbeatMs)) {
      enqueue(makeEvent("keyboard", zeros(), gripper)); // heartbeat / gripper-only event
    }
  }

  function releaseAll() {
    st.keys.clear();
    st.shift = false;
    st.pad.clear();
    refreshPad();
    tick();
  }

  // ---------------------------------------------------------------- gripper

  function toggleGripper() {
    var t = now();
    var base = st.gripper;
    if (st.serverGripper !== null && t - st.lastToggleAt > CFG.trustServerGripperAfterMs) base = st.serverGripper;
    if (base === null) base = 1; // assume the gripper starts open: the first toggle closes it
    st.gripper = base >= 0.5 ? 0 : 1;
    st.lastToggleAt = t;
    st.gripperUntil = t + CFG.gripperRepeatMs;
    renderStatus();
    tick();
  }

  // ---------------------------------------------------------------- keyboard

  function eventTarget(e) {
    return (e.composedPath && e.composedPath()[0]) || e.target;
  }

  function isTyping(el) {
    if (!el || el.nodeType !== 1) el = document.activeElement;
    if (!el) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag === "INPUT") {
      var type = (el.getAttribute("type") || "text").toLowerCase();
      return ["button", "checkbox", "radio", "submit", "reset", "image"].indexOf(type) < 0;
    }
    return false;
  }

  // State-changing posts carry JSON (the server refuses form and text posts, which any site can send).
  function postJson(url, body, keepalive) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      keepalive: !!keepalive,
    }).catch(function () {});
  }

  function onKeyDown(e) {
    if (e.code === "Escape") {
      // e-stop works everywhere on the page, even while typing
      st.keys.clear();
      postJson("/api/estop", {}, true);
      return;
    }
    if (e.code === "ShiftLeft" || e.code === "ShiftRight") {
      if (!st.shift) {
        st.shift = true;
        if (st.keys.size) tick();
      }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
    if (isTyping(eventTarget(e))) return;
    var REC = {KeyN: "start", KeyY: "success", KeyU: "failure", KeyX: "discard"};
    if (REC[e.code] && !e.repeat) {
      e.preventDefault();
      postJson("/api/record/" + REC[e.code], {}, false);
      return;
    }
    if (e.code === "Space") {
      e.preventDefault();
      if (!e.repeat) toggleGripper();
      return;
    }
    if (!KEYMAP[e.code]) return;
    e.preventDefault(); // no page scrolling while driving
    if (!st.keys.has(e.code)) {
      st.keys.add(e.code);
      tick();
    }
  }

  function onKeyUp(e) {
    // always honour releases, even if focus moved into a field meanwhile
    if (e.code === "ShiftLeft" || e.code === "ShiftRight") {
      st.shift = false;
      if (st.keys.size) tick();
      return;
    }
    if (st.keys.delete(e.code)) tick();
  }

  // ---------------------------------------------------------------- on-screen pad (ui/static/teleop_pad.js)

  var padHooks = {
    press: function (pointerId, axis, dir, button) {
      st.pad.set(pointerId, [axis, dir, button]);
      refreshPad();
      tick();
    },
    release: function (pointerId) {
      if (st.pad.delete(pointerId)) {
        refreshPad();
        tick();
      }
    },
    toggleGripper: function () {
      toggleGripper();
    },
  };

  function refreshPad() {
    var held = new Set();
    st.pad.forEach(function (m) {
      held.add(m[2]);
    });
    if (window.vlmTeleopPad) window.vlmTeleopPad.refresh(held);
  }

  function ensurePad() {
    var c = document.getElementById("teleop-pad");
    if (c && !c.dataset.vlmPad && window.vlmTeleopPad) {
      window.vlmTeleopPad.build(c, padHooks);
      renderStatus();
    }
  }

  // ---------------------------------------------------------------- WebHID SpaceMouse

  function isSpaceMouse(d) {
    return (
      HID_VENDORS.indexOf(d.vendorId) >= 0 &&
      (d.collections || []).some(function (c) {
        return c.usagePage === 0x01 && c.usage === 0x08;
      })
    );
  }

  function onInputReport(e) {
    handleHidReport(e.reportId, e.data);
  }

  function openHid(d) {
    if (!isSpaceMouse(d)) return Promise.resolve();
    return (d.opened ? Promise.resolve() : d.open()).then(function () {
      if (!st.hid.devices.has(d)) {
        d.addEventListener("inputreport", onInputReport);
        st.hid.devices.add(d);
      }
      st.hid.name = d.productName || "SpaceMouse";
      st.hidStatus = "connected: " + st.hid.name;
      renderStatus();
    });
  }

  function connectHid() {
    if (!navigator.hid) {
      st.hidStatus = "WebHID not available here: use Chrome or Edge on http://localhost or https";
      renderStatus();
      return Promise.resolve();
    }
    return navigator.hid
      .requestDevice({ filters: HID_FILTERS })
      .then(function (devices) {
        if (!devices.length) {
          st.hidStatus = "no device chosen";
          renderStatus();
          return;
        }
        return Promise.all(devices.map(openHid));
      })
      .catch(function (err) {
        st.hidStatus = "WebHID error: " + ((err && err.message) || err);
        renderStatus();
      });
  }

  function resetHid(status) {
    var h = st.hid;
    h.x = h.y = h.z = h.rx = h.ry = h.rz = 0;
    h.buttons = [];
    h.lastReport = -Infinity;
    st.hidStatus = status;
    renderStatus();
    tick();
  }

  function setupHidEvents() {
    if (!navigator.hid) return;
    navigator.hid.addEventListener("disconnect", function (e) {
      if (st.hid.devices.delete(e.device)) resetHid("disconnected");
    });
    navigator.hid.addEventListener("connect", function (e) {
      openHid(e.device).catch(function () {}); // a device granted earlier was plugged back in
    });
    navigator.hid
      .getDevices()
      .then(function (devices) {
        devices.forEach(function (d) {
          openHid(d).catch(function () {});
        });
      })
      .catch(function () {});
  }

  /**
   * Feed one SpaceMouse input report. reportId 1: x, y, z as int16 little-endian (newer models add
   * rx, ry, rz at bytes 6..11); 2: rx, ry, rz; 3: button bitmask (bit i of byte i>>3 = button i).
   * `data` excludes the report id byte (as in WebHID's inputreport event).
   */
  function handleHidReport(reportId, data) {
    var h = st.hid;
    var n = data.byteLength;
    var i16 = function (off) {
      return data.getInt16(off, true);
    };
    var t = now();
    var wasActive = !isZero(hidAxes(t)) || hidButtonsHeld();
    if (reportId === 1) {
      if (n < 6) return;
      h.x = i16(0);
      h.y = i16(2);
      h.z = i16(4);
      if (n >= 12) {
        h.rx = i16(6);
        h.ry = i16(8);
        h.rz = i16(10);
      }
    } else if (reportId === 2) {
      if (n < 6) return;
      h.rx = i16(0);
      h.ry = i16(2);
      h.rz = i16(4);
    } else if (reportId === 3) {
      var buttons = [];
      for (var i = 0; i < Math.min(n * 8, 32); i++) buttons.push((data.getUint8(i >> 3) >> (i & 7)) & 1);
      while (buttons.length > 2 && buttons[buttons.length - 1] === 0) buttons.pop();
      var g = CFG.hidGripperButton;
      var gripperBefore = h.buttons[g] === 1;
      h.buttons = buttons;
      if (buttons[g] === 1 && !gripperBefore) toggleGripper(); // left button by default
    } else {
      return;
    }
    h.lastReport = t;
    if (reportId === 3 || !wasActive) tick(); // react at once; held motion is resent by the timer
  }

  // ---------------------------------------------------------------- status

  function renderStatus() {
    var g = st.gripper === null ? "\u2014" : st.gripper ? "open" : "closed";
    var server = st.lastError ? "server: " + st.lastError : st.posted ? "server: ok" : "server: waiting";
    var text = "gripper target: " + g + " \u00b7 SpaceMouse (browser): " + st.hidStatus + " \u00b7 " + server;
    ["teleop-status", "teleop-js-status"].forEach(function (id) {
      var line = document.getElementById(id);
      if (line) line.textContent = text;
    });
    document.querySelectorAll(".vlm-pad-status").forEach(function (el) {
      el.textContent = text;
    });
    document.querySelectorAll(".vlm-pad button[data-gripper]").forEach(function (b) {
      b.textContent = st.gripper === 0 ? "open" : st.gripper === 1 ? "close" : "grip";
    });
  }

  // ---------------------------------------------------------------- wiring

  function onClick(e) {
    var path = e.composedPath ? e.composedPath() : [e.target];
    for (var i = 0; i < path.length; i++) {
      if (path[i] && path[i].id === "webhid-connect") {
        connectHid();
        return;
      }
    }
  }

  function onHide() {
    // tab hidden or page leaving: drop every held input; beacon the zeros in case no fetch completes
    var held = SOURCES.filter(function (s) {
      return st.wasActive[s];
    });
    releaseAll();
    if (document.visibilityState === "hidden") {
      held.forEach(function (s) {
        var ev = makeEvent(s, zeros(), null);
        ev.buttons = [];
        postJson(CFG.endpoint, ev, true); // keepalive: outlives the page, unlike an ordinary fetch
      });
    }
  }

  window.addEventListener("keydown", onKeyDown, true);
  window.addEventListener("keyup", onKeyUp, true);
  window.addEventListener("blur", releaseAll);
  window.addEventListener("pagehide", onHide);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") onHide();
  });
  document.addEventListener("click", onClick, true);
  var timer = setInterval(tick, CFG.tickMs);
  var observer = new MutationObserver(ensurePad);
  observer.observe(document.documentElement, { childList: true, subtree: true });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ensurePad);
  else ensurePad();
  setupHidEvents();

  window.vlmTeleop = {
    config: CFG,
    keymap: KEYMAP,
    handleHidReport: handleHidReport,
    toggleGripper: toggleGripper,
    connectHid: connectHid,
    releaseAll: releaseAll,
    buildPad: ensurePad,
    state: function () {
      var t = now();
      return {
        keys: Array.from(st.keys),
        shift: st.shift,
        axes: { keyboard: keyboardAxes(), pad: padAxes(), webhid: hidAxes(t) },
        hidButtons: st.hid.buttons.slice(),
        hidStatus: st.hidStatus,
        gripper: st.gripper,
        serverGripper: st.serverGripper,
        seq: st.seq,
        posted: st.posted,
        failures: st.failures,
        lastError: st.lastError,
      };
    },
    stop: function () {
      st.stopped = true;
      clearInterval(timer);
      observer.disconnect();
    },
  };
})();
