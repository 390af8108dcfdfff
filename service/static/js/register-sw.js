// Progressive enhancement (ADR 0044): with a service worker the layout's files are
// kept and a page that cannot be fetched shows the offline page. Without script, or
// in a browser without service workers, every page works just the same.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!("serviceWorker" in navigator) || !script || !script.dataset.worker) {
    return;
  }
  window.addEventListener("load", function () {
    navigator.serviceWorker.register(script.dataset.worker, { scope: "/" }).catch(function () {
      // Not installable here (for example plain http on another host): nothing is lost.
    });
  });
})();
