// The phone simulator, enhanced: send without reloading and pick up later texts by polling.
// Without JavaScript the forms post and redirect, and a link refreshes the thread.
(function () {
  "use strict";
  var thread = document.getElementById("thread");
  if (!thread) { return; }
  var threadUrl = thread.getAttribute("data-thread-url");
  var POLL_MS = 3000;

  // The thread is a column-reverse box: its end (the newest text) is where scrolling starts.
  function scrollToEnd() { thread.scrollTop = thread.scrollHeight; }

  function show(html) {
    if (thread.innerHTML.trim() === html.trim()) { return; }
    thread.innerHTML = html;
    scrollToEnd();
  }

  function send(form, data) {
    var body = data.get("body");
    if (!body || !String(body).trim()) { return Promise.resolve(); }
    return fetch(form.action, {
      method: "POST",
      body: data,
      headers: { "X-Requested-With": "selfserve-phone" },
      credentials: "same-origin"
    }).then(function (response) {
      return response.text().then(function (text) {
        if (!response.ok) { throw new Error(text || ("HTTP " + response.status)); }
        show(text);
      });
    });
  }

  function enhance(form) {
    if (!form) { return; }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = form.querySelector("input[name=body]");
      var buttons = form.querySelectorAll("button");
      // Read the form before disabling its buttons: a disabled submitter sends no value.
      var data = new FormData(form, event.submitter);
      buttons.forEach(function (button) { button.disabled = true; });
      send(form, data).then(function () {
        if (input) { input.value = ""; input.focus(); }
      }).catch(function (error) {
        window.alert(error.message);
      }).finally(function () {
        buttons.forEach(function (button) { button.disabled = false; });
      });
    });
  }

  function poll() {
    if (document.visibilityState === "visible") {
      fetch(threadUrl, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null) { show(html); } })
        .catch(function () { /* the server restarted; try again next time */ });
    }
    window.setTimeout(poll, POLL_MS);
  }

  enhance(document.getElementById("composer"));
  enhance(document.getElementById("quick"));
  scrollToEnd();
  window.setTimeout(poll, POLL_MS);
}());
