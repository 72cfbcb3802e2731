// tenantsync console's only script, two small enhancements; every page works without it.
// 1. The topology page's live counts: listens to the page's server-sent events and writes
//    each arrow's numbers (and each just-in-time link's) into its row of the table, then
//    redraws the drawing (at most once a second). Without it the page shows the counts of
//    its load.
// 2. The scoping filter's and a mapping's check as the admin types: the form is posted with
//    do=check 400 ms after the last keystroke and the result section of the answer (the
//    page the Check button would show) put in place. Without it the Check button does it.
(function () {
  "use strict";
  var status = document.getElementById("live-status");
  if (!status || !window.EventSource) { return; }
  var drawing = document.getElementById("drawing");
  var fields = ["synced", "escrows", "status", "lastCycle"];
  var redraw = null;
  var source = new EventSource(status.getAttribute("data-events"));
  function set(id, value) {
    var cell = document.getElementById(id);
    if (cell && cell.textContent !== String(value)) { cell.textContent = String(value); }
  }
  function updated() {
    status.textContent = "Counts updated at " + new Date().toLocaleTimeString() + ".";
    if (drawing && redraw === null) {
      redraw = setTimeout(function () {
        redraw = null;
        drawing.src = drawing.getAttribute("data-src") + "?at=" + Date.now();
      }, 1000);
    }
  }
  source.addEventListener("counts", function (e) {
    var c = JSON.parse(e.data);
    fields.forEach(function (f) { set("arrow-" + c.arrow + "-" + f, c[f]); });
    updated();
  });
  // The just-in-time links whose assignments or waiting requests changed.
  source.addEventListener("links", function (e) {
    JSON.parse(e.data).forEach(function (l) {
      set("link-" + l.link + "-assigned", l.assigned);
      set("link-" + l.link + "-pending", l.pending);
    });
    updated();
  });
})();

(function () {
  "use strict";
  var form = document.getElementById("mapping-form") || document.getElementById("scoping-form");
  var live = document.getElementById("check-live");
  if (!form || !live || !window.fetch || !window.DOMParser || !window.URLSearchParams) { return; }
  var timer = null;
  var asked = 0;
  function check() {
    var data = new FormData(form);
    data.set("do", "check");
    var mine = ++asked;
    fetch(form.getAttribute("action"), { method: "POST", body: new URLSearchParams(data), credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        if (mine !== asked) { return; }
        var found = new DOMParser().parseFromString(html, "text/html").getElementById("check-live");
        if (found) { live.innerHTML = found.innerHTML; }
      })
      .catch(function () { /* the Check button still works */ });
  }
  form.addEventListener("input", function (e) {
    var t = e.target;
    if (t.tagName !== "TEXTAREA" && t.type !== "text") { return; }
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
})();
