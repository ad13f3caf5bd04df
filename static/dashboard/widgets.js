// The editor's live preview: as the look or the texts change, reload the preview frame
// with what the form holds now. Without this script the "Preview" button does the same.
(function () {
  "use strict";
  var form = document.querySelector("[data-editor]");
  var frame = document.querySelector("[data-preview]");
  if (!form || !frame) return;
  var lang = frame.getAttribute("data-preview-lang") || "en";
  var look = { theme__color: "color", theme__position: "position", theme__radius: "radius", theme__icon: "icon" };
  var texts = ["button", "title", "intro", "phone_label", "submit"];
  var params = {};
  Object.keys(look).forEach(function (name) { params[name] = look[name]; });
  texts.forEach(function (key) { params["texts__" + lang + "__" + key] = key; });
  var base = frame.getAttribute("src").split("?")[0];
  var timer = null;

  function query() {
    var found = new URLSearchParams();
    Object.keys(params).forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field && field.value) found.set(params[name], field.value);
    });
    found.set("lang", lang);
    found.set("locale", lang);
    return found.toString();
  }

  function refresh() {
    timer = null;
    var next = base + "?" + query();
    if (frame.getAttribute("src") !== next) frame.setAttribute("src", next);
  }

  form.addEventListener("input", function (event) {
    if (!event.target || !Object.prototype.hasOwnProperty.call(params, event.target.name)) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  form.addEventListener("change", function (event) {
    if (event.target && Object.prototype.hasOwnProperty.call(params, event.target.name)) refresh();
  });
  // The preview follows the fields by itself, so the no-script button is not needed.
  var button = form.querySelector("[data-preview-submit]");
  if (button) button.hidden = true;
})();
