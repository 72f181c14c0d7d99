"""The logistics partners' web portal (``/logistics/``): phone-first pages for the people of a partner to
accept or reject the legs booked on it and to report where each parcel is."""
