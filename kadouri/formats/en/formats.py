# Kadouri's one way to write dates and times (Django's own English default mixes "p.m." and "Dec."):
# "Dec 6, 2026" and "Dec 6, 2026, 5:41 PM". Python code uses kadouri.display, which reads these.
DATE_FORMAT = "M j, Y"
DATETIME_FORMAT = "M j, Y, g:i A"
TIME_FORMAT = "g:i A"
SHORT_DATE_FORMAT = "M j, Y"
SHORT_DATETIME_FORMAT = "M j, Y, g:i A"
MONTH_DAY_FORMAT = "M j"
YEAR_MONTH_FORMAT = "M Y"
