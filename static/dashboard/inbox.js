// Live inbox: new callbacks and status changes appear without a reload. An enhancement
// only: without JavaScript the page works as it is, with its refresh link.
(function () {
  "use strict";
  var table = document.getElementById("inbox");
  if (!table || !window.fetch) { return; }
  var body = table.tBodies[0];
  var announcer = document.getElementById("inbox-announcer");
  var hint = document.getElementById("inbox-live-hint");
  var url = table.getAttribute("data-changes-url");
  var since = table.getAttribute("data-since");
  var firstPage = table.getAttribute("data-first-page") === "1";
  var seconds = Math.max(2, parseInt(table.getAttribute("data-poll-seconds"), 10) || 5);
  var failures = 0;
  if (hint) { hint.hidden = false; }

  function rowFrom(html) {
    var holder = document.createElement("tbody");
    holder.innerHTML = html; // rendered and escaped by the server's own template
    return holder.querySelector("tr");
  }

  function newest() {
    var first = body.querySelector("tr[data-created]");
    return first ? first.getAttribute("data-created") : "";
  }

  function apply(change) {
    var current = body.querySelector('tr[data-id="' + change.id + '"]');
    var fresh = rowFrom(change.html);
    if (!fresh) { return null; }
    if (current) {
      var moved = current.getAttribute("data-status") !== change.status;
      current.replaceWith(fresh);
      return moved ? change.announce : null;
    }
    // Only the first page shows what is newer than its top row; later pages keep still.
    if (!firstPage || change.created_at < newest()) { return null; }
    fresh.classList.add("fresh");
    body.insertBefore(fresh, body.firstChild);
    var empty = document.getElementById("inbox-empty");
    if (empty) { empty.remove(); }
    return change.announce;
  }

  function schedule() {
    // Back off while the server does not answer, up to a minute between tries.
    var delay = seconds * 1000 * Math.min(12, Math.pow(2, failures));
    window.setTimeout(poll, delay);
  }

  function poll() {
    if (document.hidden) { schedule(); return; }
    var glue = url.indexOf("?") === -1 ? "?" : "&";
    fetch(url + glue + "since=" + encodeURIComponent(since), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    }).then(function (answer) {
      failures = 0;
      since = answer.cursor;
      var said = [];
      answer.callbacks.forEach(function (change) {
        var text = apply(change);
        if (text) { said.push(text); }
      });
      if (said.length && announcer) {
        announcer.textContent = said.slice(-3).join(". ");
      }
    }).catch(function () {
      failures += 1;
    }).then(schedule);
  }

  schedule();
})();
