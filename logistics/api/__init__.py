"""The logistics partners' REST API (``/api/logistics/``): their legs, accepting and rejecting them,
posting tracking events. Authenticated by a partner token; every lookup is within that partner."""
