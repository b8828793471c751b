"""Parses a calendar file back with the `icalendar` library.

stdin: the .ics text. stdout: {"events": [{"uid", "summary", "status", "start", "end",
"start_tzid", "end_tzid"}], "timezones": [TZID, ...]}, start and end as local ISO
times. Fails (non-zero exit) on a TZID with no VTIMEZONE.
"""
import json
import sys

from icalendar import Calendar

cal = Calendar.from_ical(sys.stdin.read())
zones = [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")]
events = []
for ev in cal.walk("VEVENT"):
    start, end = ev["DTSTART"], ev["DTEND"]
    start_tzid = start.params.get("TZID")
    end_tzid = end.params.get("TZID")
    for tzid in (start_tzid, end_tzid):
        if tzid is not None and tzid not in zones:
            raise SystemExit(f"TZID {tzid} has no VTIMEZONE")
    events.append({
        "uid": str(ev["UID"]),
        "summary": str(ev["SUMMARY"]),
        "status": str(ev.get("STATUS", "")),
        "sequence": int(ev.get("SEQUENCE", 0)),
        "start": start.dt.replace(tzinfo=None).isoformat(),
        "end": end.dt.replace(tzinfo=None).isoformat(),
        "utc_start": start.dt.astimezone(__import__("datetime").timezone.utc).isoformat(),
        "start_tzid": start_tzid,
        "end_tzid": end_tzid,
    })
json.dump({"events": events, "timezones": zones, "prodid": str(cal["PRODID"])}, sys.stdout)
