/*
 * VLM2VLA Studio - the on-screen teleop pad (a 3 x 3 grid of hold-to-move buttons and a gripper toggle), for
 * touch screens and mice. ui/static/teleop.js builds it into #teleop-pad through window.vlmTeleopPad and keeps
 * the held buttons' motion; this file only draws the buttons and reports presses. Load it with teleop.js (either
 * order).
 */
(function () {
  "use strict";
  if (window.vlmTeleopPad) return;

  var PAD_LAYOUT = [
    { label: "\u27F2", title: "yaw left (Q)", axis: 5, dir: 1 },
    { label: "\u2191", title: "forward +x (W)", axis: 0, dir: 1 },
    { label: "\u27F3", title: "yaw right (E)", axis: 5, dir: -1 },
    { label: "\u2190", title: "left +y (A)", axis: 1, dir: 1 },
    { label: "grip", title: "toggle gripper (Space)", gripper: true },
    { label: "\u2192", title: "right -y (D)", axis: 1, dir: -1 },
    { label: "up", title: "up +z (R)", axis: 2, dir: 1 },
    { label: "\u2193", title: "back -x (S)", axis: 0, dir: -1 },
    { label: "down", title: "down -z (F)", axis: 2, dir: -1 },
  ];

  var CSS =
    ".vlm-pad{display:grid;grid-template-columns:repeat(3,minmax(56px,1fr));gap:8px;max-width:280px;" +
    "touch-action:none;user-select:none;-webkit-user-select:none}" +
    ".vlm-pad button{min-height:56px;font-size:20px;border-radius:10px;border:1px solid #8886;" +
    "background:#f4f4f5;color:#111;cursor:pointer;touch-action:none}" +
    ".vlm-pad button.vlm-held{background:#2563eb;color:#fff}" +
    ".vlm-pad button.vlm-grip{font-size:15px}" +
    ".vlm-pad-status{grid-column:1/4;font:12px/1.4 system-ui,sans-serif;opacity:.8;min-height:1.4em}";

  function injectCss() {
    if (document.getElementById("vlm-teleop-css")) return;
    var s = document.createElement("style");
    s.id = "vlm-teleop-css";
    s.textContent = CSS;
    (document.head || document.documentElement).appendChild(s);
  }

  /** Draw the pad into `container`; `hooks.press(pointerId, axis, dir, button)`, `hooks.release(pointerId)` and
   * `hooks.toggleGripper()` report what the user does. */
  function build(container, hooks) {
    injectCss();
    container.dataset.vlmPad = "1";
    var pad = document.createElement("div");
    pad.className = "vlm-pad";
    pad.setAttribute("role", "group");
    pad.setAttribute("aria-label", "robot teleop pad");
    PAD_LAYOUT.forEach(function (spec) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = spec.label;
      b.title = spec.title;
      b.setAttribute("aria-label", spec.title);
      if (spec.gripper) {
        b.className = "vlm-grip";
        b.dataset.gripper = "1";
        b.addEventListener("click", function (e) {
          e.preventDefault();
          hooks.toggleGripper();
        });
      } else {
        b.dataset.axis = String(spec.axis);
        b.dataset.dir = String(spec.dir);
        b.addEventListener("pointerdown", function (e) {
          e.preventDefault();
          try {
            b.setPointerCapture(e.pointerId);
          } catch (err) {
            /* synthetic events have no capturable pointer */
          }
          hooks.press(e.pointerId, spec.axis, spec.dir, b);
        });
        var release = function (e) {
          hooks.release(e.pointerId);
        };
        b.addEventListener("pointerup", release);
        b.addEventListener("pointercancel", release);
        b.addEventListener("lostpointercapture", release);
      }
      b.addEventListener("contextmenu", function (e) {
        e.preventDefault(); // long press on touch screens
      });
      pad.appendChild(b);
    });
    var status = document.createElement("div");
    status.className = "vlm-pad-status";
    status.setAttribute("aria-live", "polite");
    pad.appendChild(status);
    container.appendChild(pad);
  }

  /** Mark the buttons in `held` (a Set of button elements) as held. */
  function refresh(held) {
    document.querySelectorAll(".vlm-pad button[data-axis]").forEach(function (b) {
      b.classList.toggle("vlm-held", held.has(b));
    });
  }

  window.vlmTeleopPad = { build: build, refresh: refresh };
  if (window.vlmTeleop) window.vlmTeleop.buildPad(); // teleop.js was loaded first
})();
