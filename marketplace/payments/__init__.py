"""Stripe payments: PaymentIntents per order, the signed webhook, refunds per shop order."""
