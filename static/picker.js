/* The country picker, searchable. The native <select> stays the form's field, and is what a
   page without JavaScript shows; this draws an ARIA 1.2 combobox in its place: a text input
   that narrows a listbox of the same countries as the visitor types (name or dial code, in
   the page's language), with arrows, Enter and Escape. Loaded only when there is a choice. */
(function () {
  "use strict";
  var select = document.querySelector("select[data-picker]");
  if (!select) return;
  var box = select.parentNode, ds = box.dataset;
  var input = document.createElement("input"), list = document.createElement("ul");
  var none = document.createElement("p"), items = [], shown = [], at = -1;

  function fold(text) { // case, accents, vowel marks and bidi isolates do not count
    return text.normalize("NFD").replace(/[\p{M}\u2066-\u2069]/gu, "").toLowerCase().trim();
  }
  function chosen() { return select.options[select.selectedIndex]; }

  input.id = select.id + "-search";
  list.id = select.id + "-list";
  input.type = "text";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.value = chosen().text;
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", ds.listLabel);
  list.className = "picker-list";
  list.hidden = true;
  none.className = "picker-none";
  none.setAttribute("role", "status");
  Array.prototype.forEach.call(select.options, function (option) {
    var li = document.createElement("li");
    li.id = list.id + "-" + option.value;
    li.setAttribute("role", "option");
    li.textContent = option.text;
    li.dataset.value = option.value;
    li.dataset.key = fold(option.text);
    items.push(li);
    list.appendChild(li);
  });
  document.querySelector('label[for="' + select.id + '"]').htmlFor = input.id;
  select.hidden = true; // still sent with the form: it holds the value
  select.before(input);
  box.append(list, none); // over the fields below: opening it moves nothing
  box.dataset.ready = "";

  function move(i) {
    at = i;
    items.forEach(function (li) { li.classList.remove("active"); });
    if (i < 0) return input.removeAttribute("aria-activedescendant");
    shown[i].classList.add("active");
    input.setAttribute("aria-activedescendant", shown[i].id);
    shown[i].scrollIntoView({ block: "nearest" });
  }
  function filter(query) {
    var key = fold(query), room;
    shown = items.filter(function (li) {
      li.hidden = key !== "" && li.dataset.key.indexOf(key) < 0;
      li.setAttribute("aria-selected", String(li.dataset.value === select.value));
      return !li.hidden;
    });
    none.textContent = shown.length ? "" : ds.none;
    // No taller than the frame has room for below the field: the frame never scrolls.
    room = innerHeight - input.getBoundingClientRect().bottom - 14;
    list.style.maxHeight = Math.min(184, Math.max(96, room)) + "px";
    list.hidden = !shown.length;
    input.setAttribute("aria-expanded", String(!list.hidden));
    move(shown.length ? Math.max(0, key ? 0 : shown.indexOf(items[select.selectedIndex])) : -1);
  }
  function close(restore) {
    list.hidden = true;
    none.textContent = "";
    input.setAttribute("aria-expanded", "false");
    move(-1);
    if (restore) input.value = chosen().text;
  }
  function pick(li) {
    select.value = li.dataset.value;
    select.dispatchEvent(new Event("change", { bubbles: true }));
    close(true);
  }

  input.addEventListener("input", function () { filter(input.value); });
  function selectAll() { // typing replaces the choice; the name's start stays in view
    input.setSelectionRange(0, input.value.length, "backward");
    input.scrollLeft = 0;
  }
  input.addEventListener("focus", function () {
    selectAll();
    // Again after the browser's own focus handling, which scrolls to the caret's end.
    setTimeout(function () { if (input.value === chosen().text) selectAll(); });
  });
  input.addEventListener("click", function () { if (list.hidden) filter(""); });
  input.addEventListener("blur", function () { close(true); });
  input.addEventListener("keydown", function (event) {
    var open = !list.hidden, key = event.key;
    if (key === "ArrowDown" || key === "ArrowUp") {
      event.preventDefault();
      if (!open) return filter("");
      move((at + (key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length);
    } else if (key === "Enter" && (open || none.textContent)) {
      event.preventDefault(); // picks a country; it does not send the form
      if (at >= 0) pick(shown[at]);
    } else if (key === "Escape" && (open || input.value !== chosen().text)) {
      event.stopPropagation(); // closes the list, not the whole panel
      close(true);
      selectAll();
    }
  });
  list.addEventListener("mousedown", function (event) { event.preventDefault(); });
  list.addEventListener("click", function (event) {
    var li = event.target.closest("[role=option]");
    if (li) pick(li);
  });
})();
