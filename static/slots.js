/* Outside business hours: the form books a slot. Label the button for booking, and keep
   the offered times fresh while the page stays open (a slot passes, the widget opens). */
(function () {
  "use strict";
  var box = document.querySelector("[data-slots]");
  if (!box) return;
  var form = box.closest("form");
  var submit = form && form.querySelector("[type=submit]");
  var callLabel = submit ? submit.textContent : "";
  if (submit) submit.textContent = box.dataset.bookLabel;

  function render(body) {
    var select = box.querySelector("select");
    if (body.hours && body.hours.open) {
      // Open again: the visitor can simply be called now.
      box.remove();
      if (submit) submit.textContent = callLabel;
      return;
    }
    if (select && body.slots && body.slots.length) {
      var chosen = select.value;
      select.textContent = "";
      body.slots.forEach(function (slot) {
        select.add(new Option(slot.label, slot.start, false, slot.start === chosen));
      });
    }
    setTimeout(refresh, 60000);
  }

  function refresh() {
    fetch(box.dataset.slotsUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(render)
      .catch(function () { setTimeout(refresh, 60000); });
  }

  setTimeout(refresh, 60000);
})();
