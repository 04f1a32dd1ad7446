"""The time zone of a place, the one table of it in the product.

A shipment names its origin and destination as people write them, ending in the ISO 3166
country code, with the state or province before it where a country spans several time
zones: "Suzhou Industrial Park, CN", "Chicago, IL, US", "Hamburg, DE". ``time_zone_of``
reads that ending and answers the IANA zone of the place (``zoneinfo``, so daylight saving
time follows the zone's rules), or None when the table does not know it.

Countries in ``COUNTRY_ZONES`` keep one civil time; the United States, Canada and
Australia are looked up by state or province in ``REGION_ZONES``. Add a row here when we
serve a new country or state; nothing else in the product names a time zone of a place.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: Countries with one civil time, by ISO 3166-1 alpha-2 code.
COUNTRY_ZONES: dict[str, str] = {
    "AE": "Asia/Dubai",
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "CN": "Asia/Shanghai",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "HK": "Asia/Hong_Kong",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IN": "Asia/Kolkata",
    "IT": "Europe/Rome",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "MY": "Asia/Kuala_Lumpur",
    "NL": "Europe/Amsterdam",
    "NO": "Europe/Oslo",
    "PH": "Asia/Manila",
    "PL": "Europe/Warsaw",
    "SE": "Europe/Stockholm",
    "SG": "Asia/Singapore",
    "TH": "Asia/Bangkok",
    "TW": "Asia/Taipei",
    "VN": "Asia/Ho_Chi_Minh",
}

#: Countries spanning several time zones, by country and state or province code.
REGION_ZONES: dict[tuple[str, str], str] = {
    **{
        ("US", state): "America/New_York"
        for state in [
            "CT",
            "DC",
            "DE",
            "GA",
            "MA",
            "MD",
            "ME",
            "NC",
            "NH",
            "NJ",
            "NY",
            "OH",
            "PA",
            "RI",
            "SC",
            "VA",
            "VT",
            "WV",
        ]
    },
    ("US", "FL"): "America/New_York",
    ("US", "MI"): "America/Detroit",
    ("US", "IN"): "America/Indiana/Indianapolis",
    ("US", "KY"): "America/New_York",
    **{
        ("US", state): "America/Chicago"
        for state in [
            "AL",
            "AR",
            "IA",
            "IL",
            "KS",
            "LA",
            "MN",
            "MO",
            "MS",
            "NE",
            "OK",
            "TN",
            "TX",
            "WI",
        ]
    },
    **{("US", state): "America/Denver" for state in ["CO", "MT", "NM", "UT", "WY"]},
    ("US", "AZ"): "America/Phoenix",
    **{("US", state): "America/Los_Angeles" for state in ["CA", "NV", "OR", "WA"]},
    ("US", "AK"): "America/Anchorage",
    ("US", "HI"): "Pacific/Honolulu",
    ("CA", "BC"): "America/Vancouver",
    ("CA", "AB"): "America/Edmonton",
    ("CA", "MB"): "America/Winnipeg",
    ("CA", "ON"): "America/Toronto",
    ("CA", "QC"): "America/Toronto",
    ("CA", "NS"): "America/Halifax",
    ("AU", "NSW"): "Australia/Sydney",
    ("AU", "VIC"): "Australia/Melbourne",
    ("AU", "QLD"): "Australia/Brisbane",
    ("AU", "WA"): "Australia/Perth",
    ("AU", "SA"): "Australia/Adelaide",
}


def zone_name_of(place: str) -> str | None:
    """The IANA zone name of ``place`` ("…, CN", "…, IL, US"), None if the table has none."""
    parts = [part.strip().upper() for part in place.split(",")]
    if len(parts) < 2:
        return None
    country = parts[-1]
    if country in COUNTRY_ZONES:
        return COUNTRY_ZONES[country]
    return REGION_ZONES.get((country, parts[-2])) if len(parts) >= 3 else None


def time_zone_of(place: str) -> ZoneInfo | None:
    """The time zone of ``place``; None if the table does not know the place, or no
    time-zone database (the machine's, else the ``tzdata`` package) has its zone."""
    name = zone_name_of(place)
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return None
