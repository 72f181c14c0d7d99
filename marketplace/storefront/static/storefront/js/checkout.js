// The checkout's payment part: Stripe.js (or localstripe's stand-in in development) turns the card into a
// token in the browser; only the token's card id is posted to our server. When WeChat Pay is chosen
// (offered only when it is switched on) the card field is hidden and the form is posted without a card:
// the server answers with the order's pay page and its QR code.
(function () {
  "use strict";
  var script = document.currentScript;
  var form = document.getElementById("checkout-form");
  if (!form) { return; }
  var cardBox = form.querySelector(".checkout-card");
  var wechatNote = document.getElementById("wechat-pay-note");
  var hidden = form.querySelector("input[name=payment_method]");

  function payWith() {
    var checked = form.querySelector("input[name=pay_with]:checked");
    return checked ? checked.value : "card";
  }
  function showChoice() {
    var wechat = payWith() === "wechat_pay";
    if (cardBox) { cardBox.hidden = wechat; }
    if (wechatNote) { wechatNote.hidden = !wechat; }
  }
  form.addEventListener("change", function (event) {
    if (event.target.name === "pay_with") { showChoice(); }
  });
  showChoice();

  var submitting = false;
  var stripe = null;
  var card = null;
  if (typeof Stripe !== "undefined") {
    // Stripe.js's own messages (a card number it cannot read, a declined card) in the page's language.
    var lang = (document.documentElement.lang || "zh").toLowerCase();
    stripe = Stripe(script.getAttribute("data-stripe-key"), { locale: lang.indexOf("zh") === 0 ? "zh" : "en" });
    card = stripe.elements().create("card");
    card.mount("#card-element");
  }
  var errors = document.getElementById("card-errors");
  form.addEventListener("submit", function (event) {
    if (submitting) { event.preventDefault(); return; }  // a second click sends nothing twice
    if (payWith() === "wechat_pay") {
      hidden.value = "";
      submitting = true;
      return;  // no card to tokenize: the form goes as it is
    }
    if (!stripe) { return; }  // no Stripe.js: the server says the card is missing
    event.preventDefault();
    submitting = true;
    errors.textContent = "";
    // Stripe.js answers an unreadable card with an error; a failure of its own (a network error, a
    // stand-in that throws) must not leave the button dead: the buyer is told and can press again.
    function failed(message) {
      errors.textContent = message || script.getAttribute("data-card-failed");
      submitting = false;
    }
    var pending;
    try {
      pending = stripe.createToken(card);
    } catch (error) {
      failed("");
      return;
    }
    pending.then(function (result) {
      if (result.error) {
        failed(result.error.message || String(result.error));
        return;
      }
      if (!result.token || !result.token.card) {
        failed("");
        return;
      }
      hidden.value = result.token.card.id;
      form.submit();
    }).catch(function () { failed(""); });
  });
})();
