// Small behaviours declared in the markup, where they used to be inline event handlers (onclick=,
// onchange=), which the Content-Security-Policy does not run:
//   <a href="#" data-history-back>        goes back one page (Oscar's "cancel" links);
//   <select data-submit-on-change>        submits its form when a choice is made (the workspace switches);
//   <button type="button" data-print>     prints the page (the packing slip).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) { return; }
    if (target.closest("[data-history-back]")) {
      event.preventDefault();
      window.history.back();
    } else if (target.closest("[data-print]")) {
      event.preventDefault();
      window.print();
    }
  });
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select instanceof HTMLSelectElement && select.hasAttribute("data-submit-on-change") && select.form) {
      select.form.submit();
    }
  });
})();
