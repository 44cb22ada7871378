"""How Kadouri adapts to the company it is connected to (its profile, `connection/profile.py`): sales tax,
currency, numbering, closing date, classes and shared names — one module each, used by the payloads in
`mapping.py` and by the checks made before anything is sent."""

RULES_PLACE = "Settings → QuickBooks → Company rules"  # where an admin chooses them (forms.CompanyRulesForm)
