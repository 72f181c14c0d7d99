"""Oscar's checkout, forked: one page that takes a Chinese delivery address and a card (through
Stripe.js), places one order split into shop orders, allocates stock race-safely and pays."""
