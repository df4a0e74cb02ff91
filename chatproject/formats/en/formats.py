"""One date-time format for the admin and every page: ISO-like, with the time
zone, so a moderator never has to guess which one a time is in."""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
