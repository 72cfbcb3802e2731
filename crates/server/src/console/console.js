// tenantsync console: the topology page's live counts. Listens to the page's server-sent
// events and writes each arrow's numbers into its row of the table, then redraws the
// drawing (at most once a second). Without this script the page shows the counts of its
// load; nothing else on the console needs a script.
(function () {
  "use strict";
  var table = document.getElementById("arrows");
  if (!table || !window.EventSource) { return; }
  var drawing = document.getElementById("drawing");
  var status = document.getElementById("live-status");
  var fields = ["synced", "escrows", "status", "lastCycle"];
  var redraw = null;
  var source = new EventSource(table.getAttribute("data-events"));
  source.addEventListener("counts", function (e) {
    var c = JSON.parse(e.data);
    fields.forEach(function (f) {
      var cell = document.getElementById("arrow-" + c.arrow + "-" + f);
      if (cell && cell.textContent !== String(c[f])) { cell.textContent = String(c[f]); }
    });
    if (status) { status.textContent = "Counts updated at " + new Date().toLocaleTimeString() + "."; }
    if (drawing && redraw === null) {
      redraw = setTimeout(function () {
        redraw = null;
        drawing.src = drawing.getAttribute("data-src") + "?at=" + Date.now();
      }, 1000);
    }
  });
})();
