/* Live status for the form and status pages: Server-Sent Events, with polling as the
   fallback, a plain reason after an unhappy end, and the cancel button sent as JSON. */
(function () {
  "use strict";
  var cancelForm = document.querySelector("[data-cancel]");
  var cancelMessage = document.querySelector("[data-cancel-message]");
  var statusUrl = null, show = null, source = null, ended = false;

  // The status URL may carry a query (the visitor's locale): sub-paths go before it.
  function below(url, path) {
    var at = url.indexOf("?");
    return at < 0 ? url + path : url.slice(0, at) + path + url.slice(at);
  }

  function render(body) {
    var shown = body;
    if (body.reason) {
      shown = {};
      Object.keys(body).forEach(function (key) { shown[key] = body[key]; });
      shown.text = body.text + " " + body.reason;
    }
    show(shown);
    if (cancelForm) cancelForm.hidden = !body.cancelable;
  }

  function poll(url) {
    var terminal = false;
    function next() {
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) { if (body && !ended) { render(body); terminal = body.terminal; } })
        .catch(function () {})
        .then(function () { if (!terminal && !ended) setTimeout(next, 1000); });
    }
    next();
  }

  // form.js calls this to follow a callback: events when the browser has them, else polling.
  window.widgetServerLive = function (url, showStatus) {
    statusUrl = url;
    show = showStatus;
    if (!window.EventSource) {
      poll(url);
      return true;
    }
    source = new EventSource(below(url, "/events"));
    var failures = 0;
    source.onopen = function () { failures = 0; };
    source.addEventListener("status", function (event) {
      var body;
      try { body = JSON.parse(event.data); } catch (e) { return; }
      render(body);
      if (body.terminal) source.close();
    });
    source.onerror = function () {
      // Each stream ends after a while and the browser reconnects by itself; only errors
      // with no connection in between mean events cannot get through (a proxy, say). A
      // stream refused (429 or 503: too many open) closes the source at once: poll then.
      failures += 1;
      if (source.readyState === EventSource.CLOSED || failures >= 3) {
        source.close();
        poll(url);
      }
    };
    return true;
  };

  if (!cancelForm) return;
  cancelForm.addEventListener("submit", function (event) {
    if (!statusUrl) return; // not followed live: the form posts as it is
    event.preventDefault();
    var button = cancelForm.querySelector("button");
    button.disabled = true;
    fetch(below(statusUrl, "/cancel"), {
      method: "POST",
      body: "{}",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "omit"
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        button.disabled = false;
        if (result.ok) {
          cancelMessage.hidden = true;
          render(result.body);
          // Canceled: this answer is the last word, stop following.
          ended = result.body.terminal;
          if (source && ended) source.close();
          cancelForm.dispatchEvent(new CustomEvent("widget-server:canceled"));
        } else {
          cancelForm.hidden = true;
          cancelMessage.textContent = result.body.message;
          cancelMessage.hidden = false;
        }
      })
      .catch(function () {
        button.disabled = false;
        cancelMessage.textContent = cancelForm.dataset.offline;
        cancelMessage.hidden = false;
      });
  });
})();
