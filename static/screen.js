// The screen page: load a fresh QR code every fresh_scan_seconds without reloading the page.
// Without JavaScript, a <noscript> meta refresh reloads the page on the same beat.
(function () {
  "use strict";
  var image = document.getElementById("screen-qr");
  if (!image) { return; }
  var base = image.getAttribute("data-src");
  var seconds = Math.max(1, parseInt(image.getAttribute("data-seconds"), 10) || 30);
  var turn = 0;
  setInterval(function () {
    turn += 1;
    // A new query string each time, so no cache hands back an old window's code.
    var next = new Image();
    next.onload = function () { image.src = next.src; };
    next.src = base + "&n=" + Date.now() + "-" + turn;
  }, seconds * 1000);
}());
