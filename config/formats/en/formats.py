# Short dates as families read them: "16 Oct 2025" (not Django's "10/16/2025").
SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i"
MONTH_DAY_FORMAT = "j M"
