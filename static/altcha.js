/* ALTCHA proof of work, solved here with crypto.subtle (no third party): find the number n
   with SHA-256(salt + n) == challenge, then put the signed answer in the form's "altcha"
   field. Loaded only on forms of widgets that use ALTCHA. */
(function () {
  "use strict";
  var input = document.querySelector("[data-altcha-challenge]");
  if (!input || !window.crypto || !crypto.subtle || !window.TextEncoder) return;
  var form = input.form;
  var encoder = new TextEncoder();
  var BATCH = 200;
  var solving = null;
  var submitWhenSolved = false;

  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = "";
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? "0" : "") + bytes[i].toString(16);
    return out;
  }

  function digest(salt, n) {
    return crypto.subtle.digest("SHA-256", encoder.encode(salt + n)).then(hex);
  }

  function search(c, start) {
    var tries = [];
    for (var n = start; n < start + BATCH && n <= c.maxnumber; n++) tries.push(digest(c.salt, n));
    return Promise.all(tries).then(function (hashes) {
      var found = hashes.indexOf(c.challenge);
      if (found >= 0) return start + found;
      return start + BATCH > c.maxnumber ? -1 : search(c, start + BATCH);
    });
  }

  function solve(c) {
    input.value = "";
    solving = search(c, 0).then(function (number) {
      if (number < 0) return;
      input.value = btoa(JSON.stringify({
        algorithm: c.algorithm, challenge: c.challenge, number: number,
        salt: c.salt, signature: c.signature
      }));
    }).catch(function () {}).then(function () {
      solving = null;
      if (submitWhenSolved) {
        submitWhenSolved = false;
        form.requestSubmit ? form.requestSubmit() : form.submit();
      }
    });
  }

  // Runs before the form's own handler: hold the submission until the answer is ready.
  document.addEventListener("submit", function (event) {
    if (event.target !== form || !solving) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    submitWhenSolved = true;
    var message = document.querySelector("[data-message]");
    if (message) {
      message.textContent = input.dataset.altchaWorking;
      message.hidden = false;
    }
  }, true);

  // A refused submission brings a fresh challenge (each solution works once).
  form.addEventListener("widget-server:refused", function (event) {
    var check = event.detail && event.detail.human_check;
    if (check && check.challenge) solve(check.challenge);
  });

  solve(JSON.parse(input.dataset.altchaChallenge));
})();
