# "16 oct. 2025", "2 juin", "8 juil.": Django's French "M" gives "Jui" for both June and July.
SHORT_DATE_FORMAT = "j N Y"
SHORT_DATETIME_FORMAT = "j N Y H:i"
MONTH_DAY_FORMAT = "j N"
