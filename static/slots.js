/* Outside business hours: the form books a slot. Label the button for booking, and keep
   the offered times fresh while the page stays open (a slot passes, the widget opens).
   With departments, the times follow the department picked: its own hours may differ. */
(function () {
  "use strict";
  var box = document.querySelector("[data-slots]");
  if (!box) return;
  var form = box.closest("form");
  var submit = form && form.querySelector("[type=submit]");
  var department = form && form.querySelector("[data-department]");
  var callLabel = submit ? submit.textContent : "";
  var timer = null;

  function show(open) {
    var select = box.querySelector("select");
    box.hidden = open;
    // A hidden select must neither be sent nor stop the form as a required field.
    if (select) select.disabled = open;
    if (submit) submit.textContent = open ? callLabel : box.dataset.bookLabel;
  }

  function render(body) {
    var select = box.querySelector("select");
    var open = Boolean(body.hours && body.hours.open);
    if (open && !department) {
      // Open again: the visitor can simply be called now.
      box.remove();
      if (submit) submit.textContent = callLabel;
      return;
    }
    show(open);
    if (!open && select && body.slots && body.slots.length) {
      var chosen = select.value;
      select.textContent = "";
      body.slots.forEach(function (slot) {
        select.add(new Option(slot.label, slot.start, false, slot.start === chosen));
      });
    }
    schedule();
  }

  function slotsUrl() {
    var url = new URL(box.dataset.slotsUrl, window.location.href);
    if (department && department.value) url.searchParams.set("department", department.value);
    return url.toString();
  }

  function refresh() {
    fetch(slotsUrl(), { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(render)
      .catch(schedule);
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 60000);
  }

  show(box.hidden);
  if (department) department.addEventListener("change", refresh);
  schedule();
})();
