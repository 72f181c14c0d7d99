// Small behaviours declared in the markup, where they used to be inline event handlers (onclick=,
// onchange=), which the Content-Security-Policy does not run:
//   <a href="#" data-history-back>        goes back one page (Oscar's "cancel" links);
//   <select data-submit-on-change>        submits its form when a choice is made (the workspace switches);
//   <button type="button" data-print>     prints the page (the packing slip).
// And the header's basket badge follows the basket page when Oscar's script redraws its content after a
// quantity change (the redrawn part carries the count in data-basket-items; none: the basket is empty).
(function () {
  "use strict";
  var content = document.getElementById("content_inner");
  var basketLink = document.querySelector("[data-testid=header-basket]");
  var basketPage = content && content.querySelector("[data-basket-items]");
  if (basketPage && basketLink && window.MutationObserver) {
    new MutationObserver(function () {
      var counted = content.querySelector("[data-basket-items]");
      var items = counted ? parseInt(counted.getAttribute("data-basket-items"), 10) || 0 : 0;
      var badge = basketLink.querySelector(".basket-count");
      if (items && !badge) {
        badge = document.createElement("span");
        badge.className = "basket-count";
        badge.setAttribute("data-testid", "basket-count");
        basketLink.appendChild(badge);
      }
      if (badge) {
        if (items) { badge.textContent = String(items); } else { badge.remove(); }
      }
      var label = basketLink.getAttribute("aria-label");
      if (label) { basketLink.setAttribute("aria-label", label.replace(/\d+/, String(items))); }
    }).observe(content, { childList: true });
  }
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
