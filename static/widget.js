/* widget-server loader: one floating button in a closed Shadow DOM root; the form lives
   in an iframe served by the widget server and is only loaded when the visitor asks. */
(function (w, d) {
  var s = d.currentScript, q = w.WidgetServer, NS = "widget-server";
  if (!s || !s.dataset.widget || (q && q.v)) return; // a second script tag mounts nothing
  var cfg = s.dataset, api = new URL(s.src).origin, on = {}, cmds = q && q.length ? q : [];
  var btn, panel, frame, isOpen = false;
  var CSS = ":host{all:initial}" +
    ".b{all:initial;box-sizing:border-box;cursor:pointer;display:flex;align-items:center;" +
    "height:52px;padding:0 20px;border-radius:26px;background:var(--c);color:var(--t);" +
    "font:600 15px/1 system-ui,sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.3)}" +
    ".b:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}" +
    ".p{position:absolute;bottom:64px;right:0;width:360px;max-width:calc(100vw - 24px);" +
    "height:480px;max-height:calc(100vh - 96px);background:#fff;border-radius:12px;" +
    "overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.3)}.l .p{right:auto;left:0}" +
    ".p[hidden]{display:none}iframe{border:0;width:100%;height:100%;display:block}" +
    "@media (prefers-reduced-motion:no-preference){.b{transition:transform .15s}" +
    ".b:hover{transform:scale(1.04)}}";

  function colors(hex) { // a valid #rgb/#rrggbb colour, and readable text on it
    if (!/^#([0-9a-f]{3}){1,2}$/i.test(hex || "")) hex = "#0b5cad";
    var n = hex.length < 5 ? hex.replace(/\w/g, "$&$&") : hex, l = [1, 3, 5].map(function (i) {
      var c = parseInt(n.substr(i, 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return [hex, 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2] > 0.179 ? "#000" : "#fff"];
  }

  function load() {
    if (frame) return;
    frame = d.createElement("iframe");
    frame.title = btn.textContent;
    frame.src = api + "/w/" + encodeURIComponent(cfg.widget) + "?host=" +
      encodeURIComponent(location.origin) + "&page=" +
      encodeURIComponent(location.href.split("#")[0]) +
      (cfg.locale ? "&locale=" + encodeURIComponent(cfg.locale) : "");
    panel.appendChild(frame);
  }

  function open() {
    if (!btn) return cmds.push(["open"]);
    load(); panel.hidden = false; isOpen = true;
    btn.setAttribute("aria-expanded", "true"); frame.focus();
  }

  function close() {
    if (!btn || !isOpen) return;
    panel.hidden = true; isOpen = false;
    btn.setAttribute("aria-expanded", "false"); btn.focus();
  }

  function mount() {
    var host = d.createElement("div"), st = host.style, root, sheet, c = colors(cfg.color);
    host.setAttribute("data-widget-server", "");
    // Inline !important beats any host-page rule on the host element itself.
    st.setProperty("position", "fixed", "important");
    st.setProperty("bottom", "20px", "important");
    st.setProperty(cfg.position === "left" ? "left" : "right", "20px", "important");
    st.setProperty("z-index", "2147483000", "important");
    st.setProperty("--c", c[0]); st.setProperty("--t", c[1]);
    root = host.attachShadow({ mode: "closed" });
    sheet = new CSSStyleSheet(); sheet.replaceSync(CSS); // no <style>: passes strict CSPs
    root.adoptedStyleSheets = [sheet];
    var wrap = d.createElement("div");
    if (cfg.position === "left") wrap.className = "l";
    btn = d.createElement("button"); btn.type = "button"; btn.className = "b";
    btn.textContent = cfg.label || "Call me back";
    btn.setAttribute("aria-expanded", "false");
    btn.onclick = function () { isOpen ? close() : open(); };
    btn.onmouseenter = btn.onfocus = function () { panel && load(); };
    panel = d.createElement("div"); panel.className = "p"; panel.hidden = true;
    wrap.append(panel, btn); root.appendChild(wrap); d.body.appendChild(host);
    host.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
    cmds.forEach(run);
  }

  function run(cmd) {
    if (cmd[0] === "open") open(); else if (cmd[0] === "close") close();
    else if (cmd[0] === "on") (on[cmd[1]] = on[cmd[1]] || []).push(cmd[2]);
  }

  w.addEventListener("message", function (e) {
    var m = e.data;
    // Only our own iframe, from the widget server's origin, speaking our namespace.
    if (e.origin !== api || !frame || e.source !== frame.contentWindow || !m || m.ns !== NS) return;
    if (m.type === "height" && m.value > 0) panel.style.height = Math.min(m.value, 640) + "px";
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
  if (d.readyState === "complete") mount(); else w.addEventListener("load", mount);
})(window, document);
