// The pay page while its WeChat Pay QR code waits: ask the server every few seconds (it reads the payment
// back from Stripe) and move on to the thank-you page once paid, or reload when the code is gone
// (expired or cancelled), so the page shows what can be done next.
(function () {
  "use strict";
  var box = document.querySelector("[data-wechat-pay-status]");
  if (!box || !window.fetch) { return; }
  var statusUrl = box.getAttribute("data-wechat-pay-status");
  function check() {
    fetch(statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state && state.paid) { window.location.assign(state.next); return; }
        if (state && !state.waiting) { window.location.reload(); return; }
        window.setTimeout(check, 3000);
      })
      .catch(function () { window.setTimeout(check, 6000); });
  }
  window.setTimeout(check, 3000);
})();
