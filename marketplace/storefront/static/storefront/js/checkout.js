// The checkout's card field: Stripe.js (or localstripe's stand-in in development) turns the card into a
// token in the browser; only the token's card id is posted to our server.
(function () {
  "use strict";
  var script = document.currentScript;
  var form = document.getElementById("checkout-form");
  if (!form || typeof Stripe === "undefined") { return; }
  var stripe = Stripe(script.getAttribute("data-stripe-key"));
  var card = stripe.elements().create("card");
  card.mount("#card-element");
  var errors = document.getElementById("card-errors");
  var hidden = form.querySelector("input[name=payment_method]");
  var submitting = false;
  form.addEventListener("submit", function (event) {
    if (submitting) { event.preventDefault(); return; }  // a second click sends nothing twice
    event.preventDefault();
    submitting = true;
    stripe.createToken(card).then(function (result) {
      if (result.error) {
        errors.textContent = (result.error && result.error.message) || String(result.error);
        submitting = false;
        return;
      }
      hidden.value = result.token.card.id;
      form.submit();
    });
  });
})();
