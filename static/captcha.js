/* Turnstile and hCaptcha tokens work once: after a refused submission, ask the captcha for
   a new one. Loaded only on forms of widgets that use one of them. */
(function () {
  "use strict";
  var form = document.querySelector("[data-callback-form]");
  if (!form) return;
  form.addEventListener("widget-server:refused", function () {
    if (window.turnstile) window.turnstile.reset();
    if (window.hcaptcha) window.hcaptcha.reset();
  });
})();
