"""The staff benchmark: 50 logged-in users browsing orders on the production profile (`make bench-staff`)."""
