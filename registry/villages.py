"""The village (หมู่บ้าน) registry: every village code with its name and centre point.

DOPA publishes no open village list with coordinates, so by default the registry
is **synthetic**: generated under the real tambon codes from ``geothai``, with
realistic counts per tambon (3-25, 75,086 in total as in DOPA's TST-era count),
Thai names built the way real ones are, and centre points scattered around an
approximate province centre (``data/province_centres.csv``). It is a pure
function of the codes: every number comes from a 64-bit hash of a code (no
random generator), and points use only IEEE-exact arithmetic (+ - * / sqrt; the
cosine is a Taylor series), so it is identical on every machine and in every run.

A real registry replaces it without code changes: pass a CSV path, or set
``TAMBON_VILLAGE_REGISTRY``. The CSV (UTF-8) needs at least ``village_code,
village_name, latitude, longitude``; everything else is derived from the code.
"""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from registry.geography import _tambons

ENV_VAR = "TAMBON_VILLAGE_REGISTRY"
DATA_DIR = Path(__file__).with_name("data")

#: Thailand's bounding box (WGS 84); every registry point lies inside it.
LAT_MIN, LAT_MAX = 5.6, 20.5
LON_MIN, LON_MAX = 97.3, 105.7

#: DOPA's count of villages in the TST era (Aug 2564): the synthetic total.
TARGET_VILLAGES = 75_086
MIN_PER_TAMBON, MAX_PER_TAMBON = 3, 25

COLUMNS = [
    "village_code",
    "village_no",
    "village_name",
    "tambon_code",
    "amphoe_code",
    "province_code",
    "latitude",
    "longitude",
]

KM_PER_DEG_LAT = 111.32


class RegistryError(ValueError):
    """A village registry file is unusable; the message names the file and the row."""


# --------------------------------------------------------------------------- hashing


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, element-wise on a uint64 array (wrapping arithmetic)."""
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def hash_uniform(keys: np.ndarray, salt: int) -> np.ndarray:
    """A uniform float in [0, 1) per integer key, fixed by (key, salt) on every machine."""
    salted = _splitmix(np.asarray(keys, dtype=np.uint64)) ^ _splitmix(np.full(1, salt, dtype=np.uint64))
    return (_splitmix(salted) >> np.uint64(11)).astype(np.float64) * (1.0 / 2**53)


def hash_normal(keys: np.ndarray, salt: int) -> np.ndarray:
    """Approximately standard-normal (Irwin-Hall of 4 uniforms, bounded at +-3.46)."""
    total = sum(hash_uniform(keys, salt * 8 + i) for i in range(4))
    return (total - 2.0) * np.sqrt(3.0)


def _cos_deg(lat: np.ndarray) -> np.ndarray:
    """cos(latitude) by its Taylor series: exact to 1e-8 below 25 degrees, no libm."""
    x = np.asarray(lat, dtype=np.float64) * (np.pi / 180.0)
    x2 = x * x
    return 1.0 - x2 / 2.0 + x2 * x2 / 24.0 - x2 * x2 * x2 / 720.0 + x2**4 / 40320.0


def _offset(lat, lon, east_km, north_km):
    """Move points by kilometres east/north (equirectangular; fine at village scale)."""
    new_lat = lat + north_km / KM_PER_DEG_LAT
    new_lon = lon + east_km / (KM_PER_DEG_LAT * _cos_deg(lat))
    return new_lat, new_lon


def _scatter(keys: np.ndarray, salt: int, inner_km, outer_km):
    """A direction and a distance in [inner, outer] km, uniform over the annulus area."""
    dx, dy = hash_normal(keys, salt), hash_normal(keys, salt + 1)
    norm = np.sqrt(dx * dx + dy * dy)
    norm = np.where(norm < 1e-9, 1.0, norm)
    u = hash_uniform(keys, salt + 2)
    inner2, outer2 = np.square(inner_km), np.square(outer_km)
    dist = np.sqrt(inner2 + u * (outer2 - inner2))
    return dx / norm * dist, dy / norm * dist


# --------------------------------------------------------------------------- names

# Name elements of real village names (บ้าน + place-feature + qualifier), weighted
# by region: หนอง/โนน/โคก dominate the north-east, ป่า/แม่/สัน/ดอย the north,
# ควน/บาง/ทุ่ง/เขา the south. Names need not be unique, as real ones are not.
_FEATURES = {
    "northeast": ("หนอง หนอง หนอง หนอง โนน โนน โนน โคก โคก ดอน ดอน นา นา ห้วย ห้วย คำ บ่อ วัง สระ ทุ่ง ท่า ป่า โพธิ์ ดง กุด ซำ"),
    "north": ("ป่า ป่า แม่ แม่ สัน สัน ดอย ห้วย ห้วย ทุ่ง ทุ่ง หนอง นา ต้น ปง ดอน บ่อ วัง ท่า ม่วง โป่ง ร้อง"),
    "south": ("ควน ควน บาง บาง ทุ่ง ทุ่ง เขา ท่า ท่า นา ไร่ หนอง บ่อ ห้วย วัง ป่า คลอง ปาก ลำ เกาะ"),
    "central": ("หนอง หนอง บาง บาง ดอน ดอน ท่า ท่า นา วัง วัง คลอง โคก ทุ่ง บ่อ สระ ป่า ห้วย โพธิ์ หัว"),
}
_QUALIFIERS = (
    "บัว บัว สูง สูง แดง แดง ใหญ่ ใหญ่ น้อย ทอง ทอง ยาง ยาง คำ ไผ่ ไผ่ แก้ว "
    "งาม ใหม่ ใหม่ ม่วง ขาม ตะเคียน เตย จาน กลาง กลาง หิน ทราย ช้าง เสือ "
    "โพธิ์ แค สะแบง ไทร มะนาว สำโรง เจริญ ศรี หลวง ขวาง เรือ กระทุ่ม"
)
#: A later village in a tambon is often named after an older one (บ้านหนองบัวเหนือ).
_DIRECTIONS = ("เหนือ", "ใต้", "ใหม่", "พัฒนา", "ตะวันออก", "ตะวันตก", "กลาง")


def _region_of(province_code: pd.Series) -> np.ndarray:
    first = province_code.str[0].to_numpy()
    return np.select(
        [np.isin(first, ["3", "4"]), first == "5", np.isin(first, ["8", "9"])],
        ["northeast", "north", "south"],
        "central",
    )


def _pick(words: np.ndarray, u: np.ndarray) -> np.ndarray:
    return words[np.minimum((u * len(words)).astype(np.int64), len(words) - 1)]


def _village_names(codes: np.ndarray, region: np.ndarray, village_no: np.ndarray) -> np.ndarray:
    qualifiers = np.array(_QUALIFIERS.split(), dtype=object)
    feature = np.empty(len(codes), dtype=object)
    for name, words in _FEATURES.items():
        mask = region == name
        feature[mask] = _pick(np.array(words.split(), dtype=object), hash_uniform(codes[mask], 11))
    qualifier = _pick(qualifiers, hash_uniform(codes, 12))
    # avoid e.g. "บ้านโพธิ์โพธิ์" / "บ้านคำคำ"
    same = feature == qualifier
    qualifier[same] = _pick(qualifiers, hash_uniform(codes[same], 13))
    base = "บ้าน" + feature + qualifier
    names = base.copy()
    # ~15% of villages after the first take the first village's name plus a direction
    first_code = codes - (village_no - 1)
    derived = (village_no > 1) & (hash_uniform(codes, 14) < 0.15)
    first_base = pd.Series(base, index=codes)
    directions = np.array(_DIRECTIONS, dtype=object)
    u = hash_uniform(codes, 15)
    direction = _pick(directions, u)
    # never "บ้านท่าใหม่ใหม่": take the next direction when the base already ends with it
    parent = first_base.loc[first_code[derived]].to_numpy()
    chosen = direction[derived]
    clash = np.array([b.endswith(d) for b, d in zip(parent, chosen, strict=True)], dtype=bool)
    chosen[clash] = _pick(directions, (u[derived][clash] + 1 / len(directions)) % 1.0)
    names[derived] = parent + chosen
    return names


# --------------------------------------------------------------------------- synthetic


def _counts_per_tambon(tambons: pd.DataFrame) -> np.ndarray:
    """Villages per tambon: skewed 3..25, totalling exactly TARGET_VILLAGES."""
    keys = tambons["tambon_code"].astype(np.int64).to_numpy()
    u = hash_uniform(keys, 1)
    # A right-skewed (gamma-like) density on 3..25, read by its quantile function;
    # then regional factors (north-eastern tambons have more villages, southern
    # ones fewer), then an exact total.
    grid = np.linspace(MIN_PER_TAMBON - 0.5, MAX_PER_TAMBON + 0.5, 2301)
    density = (grid - 1.5) ** 2.0 * np.exp(-(grid - 1.5) / 2.9)
    cdf = np.cumsum(density)
    cdf = (cdf - cdf[0]) / (cdf[-1] - cdf[0])
    base = np.interp(u, cdf, grid)
    region = _region_of(tambons["province_code"])
    factor = np.select([region == "northeast", region == "south"], [1.12, 0.88], 1.0)
    counts = np.clip(np.floor(base * factor + 0.5), MIN_PER_TAMBON, MAX_PER_TAMBON)
    counts = counts.astype(np.int64)
    # Spread the difference to the exact total over tambons in hash order.
    order = np.argsort(hash_uniform(keys, 2), kind="stable")
    diff = TARGET_VILLAGES - int(counts.sum())
    step = 1 if diff > 0 else -1
    while diff:
        room = counts[order] < MAX_PER_TAMBON if step > 0 else counts[order] > MIN_PER_TAMBON
        chosen = order[room][: abs(diff)]
        counts[chosen] += step
        diff -= step * len(chosen)
    return counts


def _province_centres() -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / "province_centres.csv", comment="#", dtype={"province_code": str}).set_index(
        "province_code"
    )


def _synthetic() -> pd.DataFrame:
    tambons = _tambons()[["tambon_code", "amphoe_code", "province_code"]]
    centres = _province_centres()

    # Amphoe centres around the province centre (the Mueang amphoe, xx01, close to it).
    amphoes = tambons[["amphoe_code", "province_code"]].drop_duplicates(ignore_index=True)
    per_province = amphoes.groupby("province_code")["amphoe_code"].transform("size").to_numpy()
    a_keys = amphoes["amphoe_code"].astype(np.int64).to_numpy()
    p_lat = centres.loc[amphoes["province_code"], "latitude"].to_numpy()
    p_lon = centres.loc[amphoes["province_code"], "longitude"].to_numpy()
    radius = centres.loc[amphoes["province_code"], "radius_km"].to_numpy(dtype=np.float64)
    mueang = amphoes["amphoe_code"].str[2:] == "01"
    inner = np.where(mueang, 0.0, 0.25 * radius)
    outer = np.where(mueang, 0.12 * radius, 0.85 * radius)
    east, north = _scatter(a_keys, 100, inner, outer)
    a_lat, a_lon = _offset(p_lat, p_lon, east, north)
    # Each amphoe covers roughly its share of the province's area.
    a_radius = np.maximum(4.0, 0.9 * radius / np.sqrt(per_province))
    amphoe_at = pd.DataFrame({"lat": a_lat, "lon": a_lon, "radius": a_radius}, index=amphoes["amphoe_code"])

    # Tambon centres around their amphoe centre, kept 5 km inside the bounding box.
    t_keys = tambons["tambon_code"].astype(np.int64).to_numpy()
    at = amphoe_at.loc[tambons["amphoe_code"]]
    east, north = _scatter(t_keys, 200, 0.0, at["radius"].to_numpy())
    t_lat, t_lon = _offset(at["lat"].to_numpy(), at["lon"].to_numpy(), east, north)
    t_lat = np.clip(t_lat, LAT_MIN + 0.1, LAT_MAX - 0.08)
    t_lon = np.clip(t_lon, LON_MIN + 0.1, LON_MAX - 0.1)

    # Villages 1..n of each tambon, 1-4 km from the tambon centre.
    counts = _counts_per_tambon(tambons)
    t_index = np.repeat(np.arange(len(tambons)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    village_no = np.arange(len(t_index)) - starts + 1
    tambon_code = tambons["tambon_code"].to_numpy()[t_index]
    v_keys = t_keys[t_index] * 100 + village_no
    east, north = _scatter(v_keys, 300, 1.0, 4.0)
    v_lat, v_lon = _offset(t_lat[t_index], t_lon[t_index], east, north)

    province_code = tambons["province_code"].to_numpy()[t_index]
    region = _region_of(pd.Series(province_code))
    frame = pd.DataFrame(
        {
            "village_code": pd.Series(v_keys).astype(str).str.zfill(8).to_numpy(),
            "village_no": village_no.astype(np.int64),
            "village_name": _village_names(v_keys, region, village_no),
            "tambon_code": tambon_code,
            "amphoe_code": tambons["amphoe_code"].to_numpy()[t_index],
            "province_code": province_code,
            "latitude": np.round(v_lat, 6),
            "longitude": np.round(v_lon, 6),
        }
    )
    return _typed(frame)


# --------------------------------------------------------------------------- real CSV

_CODE_RE = re.compile(r"^[0-9]{8}$")
_REQUIRED = ("village_code", "village_name", "latitude", "longitude")


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise RegistryError(f"village registry not found: {path}")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8 ({exc})") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise RegistryError(f"{path}: not a readable CSV ({exc})") from exc
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise RegistryError(f"{path}: missing column(s) {', '.join(missing)}")

    known_tambons = _tambons().set_index("tambon_code")["amphoe_code"]
    errors: list[str] = []
    seen: dict[str, int] = {}
    lats, lons = [], []
    for index, record in enumerate(raw.to_dict("records")):
        line = index + 2  # line 1 is the header
        code = record["village_code"].strip()
        problems = []
        if not _CODE_RE.match(code):
            problems.append(f"village_code {code!r} is not 8 digits")
        elif code[:6] not in known_tambons.index:
            problems.append(f"village_code {code} names unknown tambon {code[:6]}")
        elif code[6:] == "00":
            problems.append(f"village_code {code} has village number 00")
        elif code in seen:
            problems.append(f"village_code {code} repeats line {seen[code]}")
        else:
            seen[code] = line
        if not record["village_name"].strip():
            problems.append("village_name is empty")
        given_no = record.get("village_no", "").strip()
        if given_no and _CODE_RE.match(code) and given_no.lstrip("0") != code[6:].lstrip("0"):
            problems.append(f"village_no {given_no!r} differs from code suffix {code[6:]}")
        lat, lon = _float(record["latitude"]), _float(record["longitude"])
        if lat is None or lon is None:
            problems.append(f"latitude/longitude {record['latitude']!r}, {record['longitude']!r} are not numbers")
        elif not (LAT_MIN <= lat <= LAT_MAX and LON_MIN <= lon <= LON_MAX):
            problems.append(f"point ({lat}, {lon}) is outside Thailand")
        lats.append(lat)
        lons.append(lon)
        if problems:
            errors.append(f"line {line}: " + "; ".join(problems))
    if errors:
        shown = "\n  ".join(errors[:10])
        more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise RegistryError(f"{path}: {len(errors)} bad row(s)\n  {shown}{more}")
    if raw.empty:
        raise RegistryError(f"{path}: no villages")

    codes = raw["village_code"].str.strip()
    frame = pd.DataFrame(
        {
            "village_code": codes,
            "village_no": codes.str[6:].astype(np.int64),
            "village_name": raw["village_name"].str.strip(),
            "tambon_code": codes.str[:6],
            "amphoe_code": known_tambons.loc[codes.str[:6]].to_numpy(),
            "province_code": codes.str[:2],
            "latitude": lats,
            "longitude": lons,
        }
    )
    return _typed(frame)


def _float(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype(
        {
            "village_code": str,
            "village_no": np.int64,
            "village_name": str,
            "tambon_code": str,
            "amphoe_code": str,
            "province_code": str,
            "latitude": np.float64,
            "longitude": np.float64,
        }
    )
    return frame[COLUMNS].sort_values("village_code", ignore_index=True)


# --------------------------------------------------------------------------- public


@cache
def _load(path: str | None) -> pd.DataFrame:
    return _synthetic() if path is None else _read_csv(Path(path))


def registry_path(path: str | Path | None = None) -> Path | None:
    """The real registry in use: ``path``, else ``$TAMBON_VILLAGE_REGISTRY``, else None."""
    chosen = path if path is not None else os.environ.get(ENV_VAR) or None
    return None if chosen is None else Path(chosen).expanduser().resolve()


def load_villages(path: str | Path | None = None) -> pd.DataFrame:
    """The village registry, one row per village, sorted by ``village_code``.

    Columns: village_code (8-digit str), village_no (int), village_name (Thai),
    tambon_code, amphoe_code, province_code (str), latitude, longitude (float).
    Without ``path`` and without ``$TAMBON_VILLAGE_REGISTRY`` it is the
    deterministic synthetic registry. Raises :class:`RegistryError` for a bad CSV.
    """
    chosen = registry_path(path)
    return _load(None if chosen is None else str(chosen)).copy()


def tambon_centres(path: str | Path | None = None) -> pd.DataFrame:
    """``tambon_code, latitude, longitude``: the median point of each tambon's villages."""
    villages = load_villages(path)
    return villages.groupby("tambon_code", sort=True)[["latitude", "longitude"]].median().reset_index()


def villages_per_tambon(path: str | Path | None = None) -> pd.DataFrame:
    """``tambon_code, villages``: how many villages each tambon has in the registry."""
    villages = load_villages(path)
    return villages.groupby("tambon_code", sort=True).size().rename("villages").reset_index()
