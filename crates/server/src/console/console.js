// tenantsync console: the topology page's live counts. Listens to the page's server-sent
// events and writes each arrow's numbers (and each just-in-time link's) into its row of
// the table, then redraws the
// drawing (at most once a second). Without this script the page shows the counts of its
// load; nothing else on the console needs a script.
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
