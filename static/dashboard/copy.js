// Copy buttons: shown only when the script runs (the text stays selectable without it).
// A button names the element to copy in data-copy; its neighbour role="status" announces.
(function () {
  "use strict";
  function announce(button, text) {
    var status = button.parentNode.querySelector(".copy-status");
    if (!status) return;
    status.textContent = "";
    // A fresh text, so a second copy is announced again.
    setTimeout(function () { status.textContent = text; }, 50);
  }
  function copy(button) {
    var source = document.getElementById(button.dataset.copy);
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () { announce(button, button.dataset.copied); };
    var failed = function () {
      source.focus();
      if (source.select) source.select();
      announce(button, button.dataset.copyFailed);
    };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { copy(button); });
  });
})();
