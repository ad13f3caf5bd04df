/* Progressive enhancement for the form page: submit without reload, follow the status,
   and talk to the host page (height, status, close) with an exact target origin. */
(function () {
  "use strict";
  var NS = "widget-server";
  var host = document.body.dataset.host;
  var TERMINAL = ["completed", "failed", "no_answer", "busy", "canceled", "rejected", "handed_off"];

  function tell(message) {
    if (host && window.parent !== window) {
      message.ns = NS;
      window.parent.postMessage(message, host);
    }
  }

  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      tell({ type: "height", value: Math.ceil(document.body.getBoundingClientRect().height) });
    }).observe(document.body);
  }
  // The loader asks for focus when the panel opens (a cross-origin frame may not autofocus).
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (host && event.origin === host && data && data.ns === NS && data.type === "focus") {
      var phone = document.querySelector("input[type=tel]");  // what the visitor came to type
      if (phone) phone.focus();
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") tell({ type: "close" });
  });
  var closeButton = document.querySelector("[data-close]");
  if (closeButton) closeButton.addEventListener("click", function () { tell({ type: "close" }); });

  var statusEl = document.querySelector("[data-status]");
  var lastStatus = null;

  function showStatus(body) {
    if (body.status === lastStatus) return; // screen readers announce changes only
    lastStatus = body.status;
    statusEl.hidden = false;
    statusEl.textContent = body.text || body.status;
    tell({ type: "status", status: body.status });
  }

  function follow(url) {
    // static/live.js follows the callback live (events, reasons, cancel) when it is on the page.
    if (window.widgetServerLive && window.widgetServerLive(url, showStatus)) return;
    var terminal = false;
    function poll() {
      fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (body) {
            showStatus(body);
            terminal = body.terminal || TERMINAL.indexOf(body.status) >= 0;
          }
        })
        .catch(function () {})
        .then(function () { if (!terminal) setTimeout(poll, 1000); });
    }
    poll();
  }

  if (statusEl && statusEl.dataset.statusUrl && statusEl.dataset.terminal !== "true") {
    follow(statusEl.dataset.statusUrl);
  }

  var form = document.querySelector("[data-callback-form]");
  if (!form) return;
  var message = document.querySelector("[data-message]");
  var submit = form.querySelector("[type=submit]");

  function clearErrors() {
    message.hidden = true;
    form.querySelectorAll("[data-error-for]").forEach(function (el) { el.hidden = true; });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.setAttribute("aria-invalid", "false");
    });
  }

  function showErrors(body) {
    var fields = body.fields || {}, shown = false;
    Object.keys(fields).forEach(function (name) {
      var el = form.querySelector('[data-error-for="' + name + '"]');
      var input = form.elements[name];
      if (el) {
        el.textContent = fields[name];
        el.hidden = false;
        shown = true;
      }
      if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    });
    if (!shown) {
      message.textContent = body.message || document.body.dataset.msgError;
      message.hidden = false;
    }
    if (body.token) form.elements.token.value = body.token;
    var firstInvalid = form.querySelector('[aria-invalid="true"]');
    if (firstInvalid) firstInvalid.focus();
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    submit.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "omit"
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (result.ok) {
          form.hidden = true;
          showStatus(result.body);
          statusEl.focus && statusEl.focus();
          follow(result.body.status_url);
        } else {
          submit.disabled = false;
          showErrors(result.body);
          // Lets add-ons such as the ALTCHA solver react (a fresh challenge after a refusal).
          form.dispatchEvent(new CustomEvent("widget-server:refused", { detail: result.body }));
        }
      })
      .catch(function () {
        submit.disabled = false;
        showErrors({ message: document.body.dataset.msgOffline });
      });
  });
})();
