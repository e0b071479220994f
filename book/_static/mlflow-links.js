// The book's run links open the MLflow UI chosen when the book is read, not when it was built:
//   1. ?mlflow=http://127.0.0.1:5001 on any page (remembered in this browser's localStorage),
//   2. the UI this page is served by (`randnas ui` serves the book under /book/),
//   3. the address remembered from an earlier ?mlflow=,
//   4. otherwise the built link ($RANDNAS_MLFLOW_UI or _config.yml's randnas.mlflow_ui, port 5000 by default).
(function () {
  "use strict";
  var KEY = "randnas.mlflow_ui";
  var RUN_LINK = /^https?:\/\/[^\/]+(?=\/#\/experiments\/)/;

  function chosenBase() {
    var asked = new URLSearchParams(window.location.search).get("mlflow");
    if (asked && /^https?:\/\/[^\/\s]+\/?$/.test(asked)) {
      asked = asked.replace(/\/$/, "");
      try { window.localStorage.setItem(KEY, asked); } catch (e) { /* storage off: this page only */ }
      return asked;
    }
    if (window.location.protocol.indexOf("http") === 0 && window.location.pathname.indexOf("/book/") === 0) {
      return window.location.origin;
    }
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }

  function follow() {
    var base = chosenBase();
    if (!base) { return; }
    var links = document.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i++) {
      var href = links[i].getAttribute("href");
      if (RUN_LINK.test(href)) { links[i].setAttribute("href", href.replace(RUN_LINK, base)); }
    }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", follow); } else { follow(); }
})();
