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
  // Only the host page can close the panel, and only with JavaScript: shown from here.
  var closeButton = document.querySelector("[data-close]");
  if (closeButton && host && window.parent !== window) {
    closeButton.hidden = false;
    closeButton.addEventListener("click", function () { tell({ type: "close" }); });
  }

  var statusEl = document.querySelector("[data-status]");
  var progress = document.querySelector("[data-progress]");
  var lastStatus = null;
  // Where each status is on the way to a connected call (the step bar's filled steps).
  var STEP = { queued: 1, scheduled: 1, retry_wait: 1, dialing: 2, agent_ringing: 2,
    agent_answered: 3, visitor_ringing: 3, connected: 4, completed: 5 };

  function showProgress(body) {
    if (!progress) return;
    var step = STEP[body.status], confirm = progress.querySelector("[data-confirm]");
    progress.hidden = false;
    if (body.number && confirm) {
      progress.querySelector("[data-number]").textContent = body.number;
      // "We will call this number" says what is about to happen: not once the call ended.
      confirm.hidden = !!body.terminal;
    }
    // "Change number" cancels this request: only while it is not being dialled yet.
    progress.querySelector("[data-change]").hidden = !body.cancelable;
    var steps = progress.querySelector("[data-steps]");
    steps.hidden = !step;
    steps.querySelectorAll("li").forEach(function (li, i) {
      li.className = i + 1 < step || step === 5 ? "done" : i + 1 === step ? "current" : "";
    });
    var wait = progress.querySelector("[data-wait]");
    if (wait) wait.hidden = !step || step > 2;
  }

  function showStatus(body) {
    showProgress(body);
    if (body.status === lastStatus) return; // screen readers announce changes only
    lastStatus = body.status;
    statusEl.hidden = false;
    statusEl.textContent = body.text || body.status;
    tell({ type: "status", status: body.status });
  }

  var change = document.querySelector("[data-change]");
  if (change) {
    change.addEventListener("click", function () {
      var cancel = document.querySelector("[data-cancel]");
      // Cancel this request (static/live.js), then start again with a fresh form.
      if (cancel && !cancel.hidden) {
        cancel.addEventListener("widget-server:canceled", function () { location.reload(); });
        cancel.requestSubmit();
      } else {
        location.reload();
      }
    });
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
    // Focus stays in the form: on the field to fix, else on the button to send again.
    var firstInvalid = form.querySelector('[aria-invalid="true"]:not([type=hidden])');
    (firstInvalid || submit).focus();
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
          // The status takes the introduction's place.
          document.querySelectorAll(".intro").forEach(function (el) { el.hidden = true; });
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
