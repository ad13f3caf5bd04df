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

  function show(open, offered) {
    var select = box.querySelector("select");
    var label = box.querySelector("[data-slot-label]");
    var none = box.querySelector("[data-no-slots]");
    box.hidden = open;
    if (select) {
      // A hidden select must neither be sent nor stop the form as a required field.
      select.disabled = open || !offered;
      select.hidden = !offered;
      if (label) label.hidden = !offered;
    }
    if (none) none.hidden = open || offered;
    if (submit) submit.textContent = open ? callLabel : box.dataset.bookLabel;
  }

  function render(body) {
    var select = box.querySelector("select");
    if (!body.hours) return schedule(); // no answer this time: keep what is shown
    var open = Boolean(body.hours && body.hours.open);
    if (open && !department) {
      // Open again: the visitor can simply be called now.
      box.remove();
      if (submit) submit.textContent = callLabel;
      return;
    }
    var offered = Boolean(body.slots && body.slots.length);
    show(open, offered);
    if (!open && select && offered) {
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
    // Labels in the page's language, not the browser's.
    if (document.documentElement.lang) url.searchParams.set("locale", document.documentElement.lang);
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

  var initial = box.querySelector("select");
  show(box.hidden, Boolean(initial && initial.options.length));
  if (department) department.addEventListener("change", refresh);
  schedule();
})();
