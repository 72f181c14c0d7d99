"""Development and test tools, run as separate processes; never imported by the product's code."""
