/*
 * VLM2VLA Studio - camera streams only while they can be seen.
 * Plain JavaScript, no build step; loaded once into the page (ui/layout.py HEAD).
 *
 * Camera images are <img data-stream="/stream/front.mjpg">. A browser keeps loading an <img> that is
 * hidden (a Gradio tab not shown is display:none), so a page that had visited the Teleop, Autonomous and
 * Presenter tabs held five MJPEG streams open, and the server drew and sent every camera of each at 30
 * frames a second. Here an image gets its stream while it is shown in a visible page and loses it (src
 * back to a blank picture, which ends the request) while it is hidden, scrolled away, or the browser
 * tab is in the background. The server draws a camera only while a stream of it is open.
 */
(function () {
  "use strict";
  if (window.vlmStreams) return;
  var BLANK = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==";
  var PERIOD_MS = 250;

  function shown(img) {
    if (document.visibilityState !== "visible" || img.offsetParent === null) return false;
    var r = img.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 &&
      r.top < (window.innerHeight || 0) && r.left < (window.innerWidth || 0);
  }

  function update() {
    var imgs = document.querySelectorAll("img[data-stream]");
    for (var i = 0; i < imgs.length; i++) {
      var img = imgs[i];
      var want = shown(img);
      var live = img.dataset.live === "1";
      if (want && !live) {
        img.dataset.live = "1";
        img.src = img.dataset.stream;
      } else if (!want && live) {
        img.dataset.live = "0";
        img.src = BLANK;
      }
    }
  }

  document.addEventListener("visibilitychange", update);
  window.addEventListener("scroll", update, true);
  window.addEventListener("resize", update);
  document.addEventListener("click", function () { setTimeout(update, 50); }, true); // tab switches
  setInterval(update, PERIOD_MS);
  window.vlmStreams = { update: update };
})();
