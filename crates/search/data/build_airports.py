#!/usr/bin/env python3
"""Build airports.csv (the search service's airport seed data) from the
`airportsdata` package on PyPI (MIT).

Usage:
    pip download --no-deps airportsdata==20260905 -d /tmp/ad
    python3 build_airports.py /tmp/ad [OUTPUT]

The first argument can be the downloaded wheel (.whl), a folder that holds
that wheel (as made by `pip download -d`), or a folder that holds
airports.csv and iata_macs.csv (an unpacked or installed `airportsdata`
package). OUTPUT defaults to airports.csv beside this script.

Which airports are kept: every airport of the source that has a 3-letter
IATA code, a non-empty city and a time zone that Python's zoneinfo knows.
Source rows that fail the rule are skipped and counted by reason on stderr:
an empty IATA code, a code that is not 3 uppercase letters, a code already
taken by an earlier row (the first row keeps it), an empty city, an unknown
time zone. Every code in REQUIRED (the busiest airports, plus a few more of
regional importance) must be kept: if one is not, the script exits with
status 1. The airports of each country's capital are listed in CAPITALS;
codes listed there that are not kept are reported on stderr.

Columns: iata,name,city,country,lat,lon,tz,metro,capital
  - name, country (ISO 3166-1 alpha-2), lat, lon and tz come unchanged from
    the source airports.csv.
  - city: the source city, except for the airports in CITY_OVERRIDES.
  - metro: the IATA metropolitan area (city) code from the source
    iata_macs.csv, or empty when the airport is not in that file.
  - capital: 1 for the airports that CAPITALS lists, empty otherwise.
Rows are sorted by IATA code. Standard library only.
"""
import csv
import glob
import io
import os
import re
import sys
import zipfile

# The world's busiest airports, plus some of regional importance. All of
# these must be in the output.
REQUIRED = """
ATL DXB DFW LHR HND DEN IST LAX ORD DEL CDG JFK CAN AMS FRA PEK PVG SIN ICN BKK
MAD CLT LAS MCO MIA SFO SEA PHX EWR IAH BOS MSP DTW PHL LGA FLL BWI SLC SAN IAD
DCA MDW TPA PDX HNL BCN FCO MUC LGW MAN DUB ZRH VIE CPH OSL ARN HEL BRU LIS ATH
PRG WAW BUD SVO DME LED DOH AUH JED RUH CAI JNB CPT NBO ADD LOS CMN BOM BLR MAA
HYD CCU KUL CGK MNL HKG TPE NRT KIX SYD MEL BNE PER AKL YYZ YVR YUL MEX CUN GRU
GIG EZE SCL BOG LIM PTY SZX CTU KMG XIY CKG HGH SHA TLV AMM BAH KWI MCT ISB KHI
LHE DAC CMB KTM SGN HAN DPS ORY STN LTN EDI GVA NCE MXP LIN VCE NAP OTP SOF BEG
ZAG KBP TBS EVN GYD ALA TAS ACC DKR ABJ DAR EBB KGL LAD HRE LUN MRU SEZ RAK TUN
ALG
""".split()

# Capitals of the sovereign states, plus Taiwan and Kosovo. Each maps
# ISO country code -> (capital, airports serving it). Each airport must be in
# the source with that country code. Where the capital has no airport, the
# list gives the airport that serves it or the seat of government (for
# example Cotonou for Porto-Novo, Larnaca for Nicosia, Paro for Thimphu).
# Secondary airports are listed only where they carry significant scheduled
# traffic. Left out: closed airports (Tripoli TIP, Kyiv Zhuliany IEV) and
# minor fields (Nairobi Wilson, Windhoek Eros, Subang, Bromma, Modlin,
# Reykjavik domestic). Countries whose capital has no airport of its own and
# that are served from a neighbour's airport (Andorra, Liechtenstein, Monaco,
# San Marino, Vatican City) have no entry.
CAPITALS = {
    # Africa
    "DZ": ("Algiers", ["ALG"]), "AO": ("Luanda", ["LAD", "NBJ"]),
    "BJ": ("Porto-Novo", ["COO"]), "BW": ("Gaborone", ["GBE"]),
    "BF": ("Ouagadougou", ["OUA"]), "BI": ("Gitega", ["BJM"]),
    "CV": ("Praia", ["RAI"]), "CM": ("Yaounde", ["NSI"]),
    "CF": ("Bangui", ["BGF"]), "TD": ("N'Djamena", ["NDJ"]),
    "KM": ("Moroni", ["HAH"]), "CD": ("Kinshasa", ["FIH"]),
    "CG": ("Brazzaville", ["BZV"]), "CI": ("Yamoussoukro", ["ABJ"]),
    "DJ": ("Djibouti", ["JIB"]), "EG": ("Cairo", ["CAI"]),
    "GQ": ("Malabo", ["SSG"]), "ER": ("Asmara", ["ASM"]),
    "SZ": ("Mbabane", ["SHO"]), "ET": ("Addis Ababa", ["ADD"]),
    "GA": ("Libreville", ["LBV"]), "GM": ("Banjul", ["BJL"]),
    "GH": ("Accra", ["ACC"]), "GN": ("Conakry", ["CKY"]),
    "GW": ("Bissau", ["OXB"]), "KE": ("Nairobi", ["NBO"]),
    "LS": ("Maseru", ["MSU"]), "LR": ("Monrovia", ["ROB"]),
    "LY": ("Tripoli", ["MJI"]), "MG": ("Antananarivo", ["TNR"]),
    "MW": ("Lilongwe", ["LLW"]), "ML": ("Bamako", ["BKO"]),
    "MR": ("Nouakchott", ["NKC"]), "MU": ("Port Louis", ["MRU"]),
    "MA": ("Rabat", ["RBA"]), "MZ": ("Maputo", ["MPM"]),
    "NA": ("Windhoek", ["WDH"]), "NE": ("Niamey", ["NIM"]),
    "NG": ("Abuja", ["ABV"]), "RW": ("Kigali", ["KGL"]),
    "ST": ("Sao Tome", ["TMS"]), "SN": ("Dakar", ["DSS", "DKR"]),
    "SC": ("Victoria", ["SEZ"]), "SL": ("Freetown", ["FNA"]),
    "SO": ("Mogadishu", ["MGQ"]), "ZA": ("Pretoria", ["JNB"]),
    "SS": ("Juba", ["JUB"]), "SD": ("Khartoum", ["KRT"]),
    "TZ": ("Dodoma", ["DOD"]), "TG": ("Lome", ["LFW"]),
    "TN": ("Tunis", ["TUN"]), "UG": ("Kampala", ["EBB"]),
    "ZM": ("Lusaka", ["LUN"]), "ZW": ("Harare", ["HRE"]),
    # Americas
    "AG": ("St. John's", ["ANU"]), "AR": ("Buenos Aires", ["EZE", "AEP"]),
    "BS": ("Nassau", ["NAS"]), "BB": ("Bridgetown", ["BGI"]),
    "BZ": ("Belmopan", ["BZE"]), "BO": ("La Paz", ["LPB"]),
    "BR": ("Brasilia", ["BSB"]), "CA": ("Ottawa", ["YOW"]),
    "CL": ("Santiago", ["SCL"]), "CO": ("Bogota", ["BOG"]),
    "CR": ("San Jose", ["SJO"]), "CU": ("Havana", ["HAV"]),
    "DM": ("Roseau", ["DOM"]), "DO": ("Santo Domingo", ["SDQ"]),
    "EC": ("Quito", ["UIO"]), "SV": ("San Salvador", ["SAL"]),
    "GD": ("St. George's", ["GND"]), "GT": ("Guatemala City", ["GUA"]),
    "GY": ("Georgetown", ["GEO"]), "HT": ("Port-au-Prince", ["PAP"]),
    "HN": ("Tegucigalpa", ["TGU"]), "JM": ("Kingston", ["KIN"]),
    "MX": ("Mexico City", ["MEX", "NLU"]), "NI": ("Managua", ["MGA"]),
    "PA": ("Panama City", ["PTY"]), "PY": ("Asuncion", ["ASU"]),
    "PE": ("Lima", ["LIM"]), "KN": ("Basseterre", ["SKB"]),
    "LC": ("Castries", ["SLU"]), "VC": ("Kingstown", ["SVD"]),
    "SR": ("Paramaribo", ["PBM"]), "TT": ("Port of Spain", ["POS"]),
    "US": ("Washington", ["IAD", "DCA"]), "UY": ("Montevideo", ["MVD"]),
    "VE": ("Caracas", ["CCS"]),
    # Asia
    "AF": ("Kabul", ["KBL"]), "AM": ("Yerevan", ["EVN"]),
    "AZ": ("Baku", ["GYD"]), "BH": ("Manama", ["BAH"]),
    "BD": ("Dhaka", ["DAC"]), "BT": ("Thimphu", ["PBH"]),
    "BN": ("Bandar Seri Begawan", ["BWN"]),
    # Phnom Penh's old airport (PNH) closed in 2025 and is not in the
    # source. Techo International (KTI) replaced it.
    "KH": ("Phnom Penh", ["KTI"]),
    "CN": ("Beijing", ["PEK", "PKX"]), "CY": ("Nicosia", ["LCA"]),
    "GE": ("Tbilisi", ["TBS"]), "IN": ("New Delhi", ["DEL"]),
    "ID": ("Jakarta", ["CGK", "HLP"]), "IR": ("Tehran", ["IKA", "THR"]),
    "IQ": ("Baghdad", ["BGW"]), "IL": ("Jerusalem", ["TLV"]),
    "JP": ("Tokyo", ["HND", "NRT"]), "JO": ("Amman", ["AMM"]),
    "KZ": ("Astana", ["NQZ"]), "KW": ("Kuwait City", ["KWI"]),
    # Bishkek Manas is FRU. The source gives Manas (UCFM) the code "BSZ",
    # so FRU is reported missing and Bishkek has no row.
    "KG": ("Bishkek", ["FRU"]),
    "LA": ("Vientiane", ["VTE"]), "LB": ("Beirut", ["BEY"]),
    "MY": ("Kuala Lumpur", ["KUL"]), "MV": ("Male", ["MLE"]),
    "MN": ("Ulaanbaatar", ["UBN"]), "MM": ("Naypyidaw", ["NYT"]),
    "NP": ("Kathmandu", ["KTM"]), "KP": ("Pyongyang", ["FNJ"]),
    "OM": ("Muscat", ["MCT"]), "PK": ("Islamabad", ["ISB"]),
    "PH": ("Manila", ["MNL"]), "QA": ("Doha", ["DOH"]),
    "SA": ("Riyadh", ["RUH"]), "SG": ("Singapore", ["SIN"]),
    "KR": ("Seoul", ["ICN", "GMP"]), "LK": ("Colombo", ["CMB"]),
    "SY": ("Damascus", ["DAM"]), "TW": ("Taipei", ["TPE", "TSA"]),
    "TJ": ("Dushanbe", ["DYU"]), "TH": ("Bangkok", ["BKK", "DMK"]),
    "TL": ("Dili", ["DIL"]), "TR": ("Ankara", ["ESB"]),
    "TM": ("Ashgabat", ["ASB"]), "AE": ("Abu Dhabi", ["AUH"]),
    "UZ": ("Tashkent", ["TAS"]), "VN": ("Hanoi", ["HAN"]),
    "YE": ("Sanaa", ["SAH"]),
    # Europe
    "AL": ("Tirana", ["TIA"]), "AT": ("Vienna", ["VIE"]),
    "BY": ("Minsk", ["MSQ"]), "BE": ("Brussels", ["BRU", "CRL"]),
    "BA": ("Sarajevo", ["SJJ"]), "BG": ("Sofia", ["SOF"]),
    "HR": ("Zagreb", ["ZAG"]), "CZ": ("Prague", ["PRG"]),
    "DK": ("Copenhagen", ["CPH"]), "EE": ("Tallinn", ["TLL"]),
    "FI": ("Helsinki", ["HEL"]), "FR": ("Paris", ["CDG", "ORY"]),
    "DE": ("Berlin", ["BER"]), "GR": ("Athens", ["ATH"]),
    "HU": ("Budapest", ["BUD"]), "IS": ("Reykjavik", ["KEF"]),
    "IE": ("Dublin", ["DUB"]), "IT": ("Rome", ["FCO", "CIA"]),
    "XK": ("Pristina", ["PRN"]), "LV": ("Riga", ["RIX"]),
    "LT": ("Vilnius", ["VNO"]), "LU": ("Luxembourg", ["LUX"]),
    "MT": ("Valletta", ["MLA"]), "MD": ("Chisinau", ["RMO"]),
    "ME": ("Podgorica", ["TGD"]), "NL": ("Amsterdam", ["AMS"]),
    "MK": ("Skopje", ["SKP"]), "NO": ("Oslo", ["OSL"]),
    "PL": ("Warsaw", ["WAW"]), "PT": ("Lisbon", ["LIS"]),
    "RO": ("Bucharest", ["OTP"]), "RU": ("Moscow", ["SVO", "DME", "VKO"]),
    "RS": ("Belgrade", ["BEG"]), "SK": ("Bratislava", ["BTS"]),
    "SI": ("Ljubljana", ["LJU"]), "ES": ("Madrid", ["MAD"]),
    "SE": ("Stockholm", ["ARN"]), "CH": ("Bern", ["BRN"]),
    "UA": ("Kyiv", ["KBP"]),
    "GB": ("London", ["LHR", "LGW", "STN", "LTN", "LCY"]),
    # Oceania
    "AU": ("Canberra", ["CBR"]), "FJ": ("Suva", ["SUV"]),
    "KI": ("Tarawa", ["TRW"]), "MH": ("Majuro", ["MAJ"]),
    "FM": ("Palikir", ["PNI"]), "NR": ("Yaren", ["INU"]),
    "NZ": ("Wellington", ["WLG"]), "PW": ("Ngerulmud", ["ROR"]),
    "PG": ("Port Moresby", ["POM"]), "WS": ("Apia", ["APW"]),
    "SB": ("Honiara", ["HIR"]), "TO": ("Nuku'alofa", ["TBU"]),
    "TV": ("Funafuti", ["FUN"]), "VU": ("Port Vila", ["VLI"]),
}

# City names, so that a search by city finds every airport of that city.
# The first group covers the metro members, whose source city is already this
# name in airportsdata 20260905. They are listed so that a later data version
# cannot change them. The second group replaces a suburb, a municipality or a
# local-language name in the source with the city that travellers search for.
# Newark (EWR) keeps its source city.
CITY_OVERRIDES = {
    "JFK": "New York", "LGA": "New York",
    "LHR": "London", "LGW": "London", "STN": "London", "LTN": "London",
    "LCY": "London",
    "CDG": "Paris", "ORY": "Paris",
    "HND": "Tokyo", "NRT": "Tokyo",
    "MXP": "Milan", "LIN": "Milan",
    "SVO": "Moscow", "DME": "Moscow", "VKO": "Moscow",
    "PVG": "Shanghai", "SHA": "Shanghai",
    "PEK": "Beijing", "PKX": "Beijing",
    "IAD": "Washington", "DCA": "Washington",
    "ORD": "Chicago", "MDW": "Chicago",
    # The source city is a suburb, a municipality or a local-language name.
    "IST": "Istanbul",          # "Arnavutköy, Istanbul"
    "YYZ": "Toronto",           # "Mississauga"
    "YVR": "Vancouver",         # "Richmond"
    "YUL": "Montreal",          # "Dorval"
    "EZE": "Buenos Aires",      # "Ezeiza"
    "PTY": "Panama City",       # "Tocumen"
    "GIG": "Rio de Janeiro",    # "Rio De Janeiro"
    "XIY": "Xi'an",             # "Xianyang"
    "DPS": "Denpasar",          # "Denpasar-Bali Island"
    "VCE": "Venice",            # "Venezia"
    "NAP": "Naples",            # "Napoli"
    "CIA": "Rome",              # "Roma"
    "BEG": "Belgrade",          # "Belgrad"
    "TSA": "Taipei",            # "Taipei City"
    "DSS": "Dakar",             # "Diass"
    "NLU": "Mexico City",       # "Reyes Acozac"
    "BKO": "Bamako",            # "Senou"
    "SAL": "San Salvador",      # "Santa Clara"
    "PBM": "Paramaribo",        # "Zandery"
    "LPB": "La Paz",            # "La Paz / El Alto"
    "PRN": "Pristina",          # "Lipjan"
    "KTI": "Phnom Penh",        # "Krong Ta Khmau"
}

HEADER = ["iata", "name", "city", "country", "lat", "lon", "tz", "metro", "capital"]
IATA_RE = re.compile(r"^[A-Z]{3}$")

# Why a source row is skipped, in the order the checks run.
SKIP_REASONS = [
    ("no_iata", "empty IATA code"),
    ("bad_iata", "IATA code not 3 uppercase letters"),
    ("duplicate", "IATA code already taken by an earlier row"),
    ("no_city", "empty city"),
    ("unknown_tz", "time zone unknown to zoneinfo"),
]


def open_source(path):
    """Return (airports.csv text, iata_macs.csv text or None, version)."""
    if os.path.isdir(path):
        for base in (path, os.path.join(path, "airportsdata")):
            if os.path.isfile(os.path.join(base, "airports.csv")):
                with open(os.path.join(base, "airports.csv"), encoding="utf-8") as f:
                    airports = f.read()
                macs = None
                macs_path = os.path.join(base, "iata_macs.csv")
                if os.path.isfile(macs_path):
                    with open(macs_path, encoding="utf-8") as f:
                        macs = f.read()
                return airports, macs, "unknown (unpacked folder)"
        wheels = sorted(glob.glob(os.path.join(path, "airportsdata-*.whl")))
        if not wheels:
            sys.exit(f"no airportsdata wheel or airports.csv in {path}")
        path = wheels[-1]
    with zipfile.ZipFile(path) as whl:
        names = whl.namelist()
        airports = whl.read("airportsdata/airports.csv").decode("utf-8")
        macs = None
        if "airportsdata/iata_macs.csv" in names:
            macs = whl.read("airportsdata/iata_macs.csv").decode("utf-8")
    m = re.match(r"airportsdata-([^-]+)-", os.path.basename(path))
    return airports, macs, m.group(1) if m else "unknown"


def known_timezones():
    """The IANA zones Python's zoneinfo knows. The rule needs them: without a
    time zone database the script stops rather than skip every airport."""
    try:
        import zoneinfo
        zones = zoneinfo.available_timezones()
    except ImportError:  # Python < 3.9
        zones = set()
    if not zones:
        sys.exit("no time zone database: zoneinfo (Python 3.9+) and the system "
                 "tz database or the tzdata package are needed")
    return zones


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    out_path = argv[2] if len(argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "airports.csv")
    airports_text, macs_text, version = open_source(argv[1])
    tzs = known_timezones()

    # The rule: a 3-letter IATA code (the first row with a code keeps it), a
    # non-empty city and a known time zone.
    skipped = {reason: [] for reason, _ in SKIP_REASONS}
    taken = set()
    by_iata = {}
    source_rows = 0
    for row in csv.DictReader(io.StringIO(airports_text)):
        source_rows += 1
        code = row["iata"].strip()
        if not code:
            skipped["no_iata"].append(code)
            continue
        if not IATA_RE.match(code):
            skipped["bad_iata"].append(code)
            continue
        if code in taken:
            skipped["duplicate"].append(code)
            continue
        taken.add(code)
        if not CITY_OVERRIDES.get(code, row["city"].strip()):
            skipped["no_city"].append(code)
            continue
        if row["tz"].strip() not in tzs:
            skipped["unknown_tz"].append(f"{code} ({row['tz'].strip()!r})")
            continue
        by_iata[code] = row

    metro = {}
    if macs_text is not None:
        for row in csv.DictReader(io.StringIO(macs_text)):
            metro[row["Airport Code"].strip()] = row["City Code"].strip()
    else:
        print("note: iata_macs.csv not in package; metro column left empty", file=sys.stderr)

    capital_codes = {code for _, codes in CAPITALS.values() for code in codes}

    missing = []
    problems = []
    for cc, (capital, codes) in CAPITALS.items():
        for code in codes:
            row = by_iata.get(code)
            if row is None:
                missing.append(f"{code} (capital {capital} ({cc}))")
            elif row["country"] != cc:
                problems.append(f"{code}: source country {row['country']}, expected {cc}")
    for code in REQUIRED:
        if code not in by_iata:
            missing.append(f"{code} (busiest)")

    out_rows = []
    for code in sorted(by_iata):
        row = by_iata[code]
        out_rows.append([
            code,
            row["name"].strip(),
            CITY_OVERRIDES.get(code, row["city"].strip()),
            row["country"].strip(),
            row["lat"].strip(),
            row["lon"].strip(),
            row["tz"].strip(),
            metro.get(code, ""),
            "1" if code in capital_codes else "",
        ])

    with open(out_path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(out_rows)

    countries = len({r[3] for r in out_rows})
    capitals = sum(1 for r in out_rows if r[8])
    print(f"airportsdata {version}: read {source_rows} rows, wrote {len(out_rows)} rows "
          f"({countries} countries, {capitals} capital airports) to {out_path}",
          file=sys.stderr)
    print(f"skipped {sum(len(v) for v in skipped.values())} rows:", file=sys.stderr)
    for reason, text in SKIP_REASONS:
        codes = skipped[reason]
        line = f"  {len(codes):6d} {text}"
        if codes and reason != "no_iata":
            shown = " ".join(codes[:20]) + (" ..." if len(codes) > 20 else "")
            line += f": {shown}"
        print(line, file=sys.stderr)
    for m in missing:
        print(f"missing from output: {m}", file=sys.stderr)
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    required_missing = [c for c in REQUIRED if c not in by_iata]
    if required_missing:
        print("REQUIRED codes missing: " + " ".join(required_missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
