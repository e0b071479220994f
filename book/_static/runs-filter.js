// The runs index's filter: rows whose text holds every word typed stay; a plan entry's heading stays while any
// of its rows does. `?q=cnn-` in the page's address fills the box (a chapter links to its own runs that way).
(function () {
  "use strict";
  function setUp() {
    var box = document.getElementById("randnas-run-filter");
    if (!box) { return; }
    var count = document.getElementById("randnas-run-count");
    function apply() {
      var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      document.querySelectorAll("table.randnas-runs tbody").forEach(function (body) {
        var heading = null, headingShown = false;
        Array.prototype.forEach.call(body.rows, function (row) {
          if (row.classList.contains("randnas-group")) {
            if (heading) { heading.style.display = headingShown ? "" : "none"; }
            heading = row; headingShown = false;
            return;
          }
          var text = (row.textContent + " " + heading.textContent).toLowerCase();
          var keep = words.every(function (word) { return text.indexOf(word) >= 0; });
          row.style.display = keep ? "" : "none";
          if (keep) { shown += 1; headingShown = true; }
        });
        if (heading) { heading.style.display = headingShown ? "" : "none"; }
      });
      if (words.length) {
        document.querySelectorAll("details.randnas-preset").forEach(function (d) { d.open = true; });
      }
      if (count) { count.textContent = words.length ? shown + " run(s) match" : ""; }
    }
    var asked = new URLSearchParams(window.location.search).get("q");
    if (asked) { box.value = asked; }
    box.addEventListener("input", apply);
    apply();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setUp); } else { setUp(); }
})();
