/* widget-server loader: one floating button in a closed Shadow DOM root; the form lives
   in an iframe served by the widget server and is only loaded when the visitor asks.
   The server decides the look (its stylesheet carries the theme, with a text colour
   chosen for contrast), the side, the texts in the visitor's language, the icons and the
   display rules; this file only applies them, so it stays tiny. */
(function (w, d) {
  var s = d.currentScript, q = w.WidgetServer, NS = "widget-server";
  if (!s || !s.dataset.widget || (q && q.v)) return; // a second script tag mounts nothing
  var a = s.dataset, api = new URL(s.src).origin, on = {}, cmds = q && q.length ? q : [];
  // Language: the tag's data-locale, then the host page's <html lang>, then the browser.
  var lang = a.locale || d.documentElement.lang || navigator.language || "";
  var btn, panel, frame, ready, isOpen = false, mode = "", cfg, label, opened;
  function load() {
    if (frame) return;
    frame = d.createElement("iframe");
    frame.title = label;
    frame.src = api + "/w/" + encodeURIComponent(a.widget) + "?host=" +
      encodeURIComponent(location.origin) + "&page=" +
      encodeURIComponent(location.href.split("#")[0]) + "&locale=" + encodeURIComponent(lang) +
      mode + ("preview" in a ? "&preview=1" : "");
    frame.onload = function () { ready = 1; focusForm(); };
    panel.appendChild(frame);
  }

  function focusForm() { // a cross-origin frame may not autofocus: ask the form to do it
    // Only once it has loaded: before that its window still has another origin.
    isOpen && ready && frame.contentWindow.postMessage({ ns: NS, type: "focus" }, api);
  }

  function icon(path) { // the server's path data, drawn inline: no request, no glyph in names
    var g = d.createElementNS("http://www.w3.org/2000/svg", "svg"), p;
    g.setAttribute("viewBox", "0 0 24 24"); g.setAttribute("aria-hidden", "true");
    p = d.createElementNS(g.namespaceURI, "path"); p.setAttribute("d", path);
    g.appendChild(p); return g;
  }

  function face(open) { // while open the button says what it does now: close
    btn.textContent = "";
    var path = open ? cfg.close_icon : cfg.icon;
    path && btn.appendChild(icon(path));
    btn.append(open ? cfg.close_label : label);
    btn.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function beacon(e) { // the funnel's first steps: no cookie, nothing about the visitor
    "preview" in a || fetch(api + "/v1/widgets/" + encodeURIComponent(a.widget) + "/beacon", {
      method: "POST", body: new URLSearchParams({ event: e, page_url: location.href.split("#")[0] }),
      mode: "no-cors", credentials: "omit", keepalive: true }).catch(function () {});
  }

  function open() {
    if (!btn) return cmds.push(["open"]);
    opened || beacon("opened"); opened = 1; load(); panel.hidden = false; isOpen = true;
    face(1); frame.focus(); focusForm();
  }

  function close() {
    if (!btn || !isOpen) return;
    panel.hidden = true; isOpen = false;
    face(0); btn.focus();
  }

  function el(tag, cls, text) {
    var e = d.createElement(tag); e.className = cls; e.textContent = text || ""; return e;
  }

  function mount(c, shut) {
    var host = d.createElement("div"), st = host.style, root, sheet, left = (a.position ||
      c.side) === "left", wrap = el("div", left ? "l" : "");
    cfg = c; label = a.label || (mode ? c.schedule_label : c.label);
    host.setAttribute("data-widget-server", "");
    // Inline !important beats any host-page rule on the host element itself.
    st.setProperty("position", "fixed", "important");
    st.setProperty("bottom", "20px", "important");
    st.setProperty(left ? "left" : "right", "20px", "important");
    st.setProperty("z-index", "2147483000", "important");
    root = host.attachShadow({ mode: "closed" });
    sheet = new CSSStyleSheet(); sheet.replaceSync(c.css); // no <style>: passes strict CSPs
    root.adoptedStyleSheets = [sheet];
    wrap.lang = c.lang; wrap.dir = c.dir;
    btn = el("button", "b"); btn.type = "button"; face(0);
    btn.onclick = function () { isOpen ? close() : open(); };
    btn.onmouseenter = btn.onfocus = function () { panel && load(); };
    panel = el("div", "p"); panel.hidden = true;
    panel.setAttribute("role", "dialog"); panel.setAttribute("aria-label", label);
    if (c.call_now && !shut) { // "call us now": only while open, on a phone-sized screen (CSS)
      shut = el("a", "n", c.call_now.label); shut.href = c.call_now.href; panel.append(shut);
    }
    wrap.append(panel, btn); root.appendChild(wrap); d.body.appendChild(host);
    host.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
    beacon("shown"); cmds.forEach(run);
  }

  function start() {
    fetch(api + "/v1/widgets/" + encodeURIComponent(a.widget) + "/config?locale=" +
      encodeURIComponent(lang) + (a.color ? "&color=" + encodeURIComponent(a.color) : ""),
      { credentials: "omit" })
      .then(function (r) { return r.json(); })
      .then(function (j) {
        // Not allowed on this origin: one line for the site owner, nothing for visitors.
        if (j.allowed === false) return console.warn(j.owner_hint);
        var c = j.widget.embed, h = j.widget.hours || j.hours || {}, p = location.pathname,
          shut = h.open === false || h.closed === true, any = function (list) {
            return list.some(function (r) { return new RegExp(r).test(p); });
          };
        if (!("preview" in a)) { // the preview always shows the button, at once
          if ((c.show_on.length && !any(c.show_on)) || any(c.hide_on)) return;
          if (shut && c.outside_hours === "hide") return;
        }
        if (shut && c.outside_hours === "schedule") mode = "&schedule=1";
        setTimeout(mount, "preview" in a ? 0 : c.delay_seconds * 1e3, c, shut);
      })
      .catch(function () {}); // offline: the page stays as it was
  }

  function run(cmd) {
    if (cmd[0] === "open") open(); else if (cmd[0] === "close") close();
    else if (cmd[0] === "on") (on[cmd[1]] = on[cmd[1]] || []).push(cmd[2]);
  }

  w.addEventListener("message", function (e) {
    var m = e.data;
    // Only our own iframe, from the widget server's origin, speaking our namespace.
    if (e.origin !== api || !frame || e.source !== frame.contentWindow || !m || m.ns !== NS) return;
    if (m.type === "height" && m.value > 0) frame.style.height = Math.min(m.value, 640) + "px";
    else if (m.type === "close") close();
    else if (m.type === "status") (on.status || []).forEach(function (f) { f(m.status); });
  });

  w.WidgetServer = {
    v: 1,
    open: open,
    close: close,
    on: function (name, fn) { run(["on", name, fn]); },
    push: run
  };
  cmds = cmds.filter(function (cmd) { return cmd[0] === "on" ? (run(cmd), 0) : 1; });
  if (d.readyState === "complete") start(); else w.addEventListener("load", start);
})(window, document);
