"""A scorecard's results as published tables (catalog.outputs.Output), documented column by column.

Three tables per scorecard and round, all Thai GDC ``ข้อมูลสถิติ``:

* ``<name>``: one row per unit with, for every criterion, the raw value, the 0-100
  score, the weight (% of the total) and the points it contributes, then the total,
  eligibility, and for each pick level the rank, whether it was picked and whether
  the total tied (so a reader sees when the declared tie rule decided);
* ``<name>_criteria``: the same figures, one row per unit and criterion;
* ``<name>_picks``: one row per pick (province, region, nation).

Every column has a Thai and an English title and description written from the
declaration, so a changed criterion is documented without touching this file.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from catalog.outputs import Output, common_fields
from domain.rounds import Round
from pipelines.scorecards.compute import ScoreResult
from pipelines.scorecards.declaration import Criterion, Normalise, Scorecard

UNIT_TH = {"amphoe": "อำเภอ", "province": "จังหวัด"}
UNIT_EN = {"amphoe": "district", "province": "province"}
WITHIN_TH = {"province": "จังหวัด", "region": "เขตตรวจราชการ", "nation": "ประเทศ"}
WITHIN_EN = {"province": "province", "region": "inspection region", "nation": "country"}
YES_NO = {"trueValues": ["ใช่"], "falseValues": ["ไม่ใช่"]}


def _field(name: str, type_: str, title_en: str, title_th: str, about_en: str, about_th: str) -> dict[str, Any]:
    field = {
        "name": name,
        "type": type_,
        "title": title_en,
        "title_th": title_th,
        "description": about_en,
        "description_th": about_th,
    }
    return field | YES_NO if type_ == "boolean" else field


def describe_normalise(norm: Normalise) -> tuple[str, str]:
    """(Thai, English) sentence saying how the raw value became 0-100."""
    p = norm.params
    lower = p.get("better") == "lower"
    if norm.method == "percent":
        return "ใช้ค่าร้อยละตามที่รายงาน (ไม่ต่ำกว่า 0 ไม่เกิน 100)", "The percentage as reported, held to 0-100."
    if norm.method == "linear":
        low, high = p["min"], p["max"]
        th = f"ปรับเชิงเส้น {low} = 0 คะแนน ถึง {high} = 100 คะแนน" + (" (ค่าน้อยดีกว่า)" if lower else "")
        return th, f"Linear: {low} scores 0 and {high} scores 100" + (" (lower is better)." if lower else ".")
    if norm.method == "levels":
        steps = ", ".join(str(t) for t in p["thresholds"])
        n = len(p["thresholds"])
        sign_th, sign_en = ("ไม่เกิน", "at most") if lower else ("ตั้งแต่", "at least")
        return (
            f"แปลงเป็นระดับ 0-{n} ตามเกณฑ์ ({sign_th} {steps}) แล้วคิดเป็นคะแนน ระดับละ {100 / n:g}",
            f"Converted to a level 0-{n} by the thresholds ({sign_en} {steps}), {100 / n:g} points a level.",
        )
    if norm.method == "level_scale":
        top = p["max"]
        return f"ระดับความสำเร็จ 1-{top} คูณ {100 / top:g}", f"Level of success 1-{top} times {100 / top:g}."
    if norm.method == "deadline_days":
        limit = p["limit"]
        return (
            f"ดำเนินการแล้วเสร็จภายใน {limit} วัน ได้ 100 คะแนน เกินกำหนดหรือไม่ได้ดำเนินการได้ 0",
            f"100 when done within {limit} days, 0 when late or not done.",
        )
    return norm.method, norm.method


def _criterion_fields(card: Scorecard, c: Criterion) -> list[dict[str, Any]]:
    how_th, how_en = describe_normalise(c.normalise)
    source = card.inputs[c.input]
    cols = cols_th = ", ".join(c.columns)
    if c.also:  # switched on in the declaration: combined when the unit has the figure
        cols += f" and {', '.join(c.also)} where not blank"
        cols_th += f" และ {', '.join(c.also)} เมื่อมีค่า"
    combine_en = {"single": "", "mean": "mean of ", "sum": "sum of ", "min": "lowest of ", "max": "highest of "}
    combine_th = {"single": "", "mean": "ค่าเฉลี่ยของ ", "sum": "ผลรวมของ ", "min": "ค่าต่ำสุดของ ", "max": "ค่าสูงสุดของ "}
    where = "".join(f", {k} = {v}" for k, v in {**source.filter, **c.where}.items())
    share = 100.0 * card.share(c)
    tag_th, tag_en = f"หลักเกณฑ์ที่ {c.no}", f"Criterion {c.no}"
    return [
        _field(
            f"{c.id}_value",
            "number",
            f"{tag_en}: value",
            f"{tag_th}: ค่าที่รายงาน",
            f"{c.title_en}. Raw value: {combine_en[c.combine]}{cols} from {source.output}{where}; "
            "empty when the unit has no row there.",
            f"{c.title_th} ค่าที่ได้จาก {combine_th[c.combine]}{cols_th} ในชุดข้อมูล {source.output}{where} "
            "ว่างเมื่อไม่มีข้อมูลของหน่วยนี้",
        ),
        _field(
            f"{c.id}_score",
            "number",
            f"{tag_en}: score (0-100)",
            f"{tag_th}: คะแนน (0-100)",
            f"{c.title_en}. {how_en} No data scores {card.missing_score:g}.",
            f"{c.title_th} {how_th} ไม่มีข้อมูลได้ {card.missing_score:g} คะแนน",
        ),
        _field(
            f"{c.id}_weight_pct",
            "number",
            f"{tag_en}: weight (% of total)",
            f"{tag_th}: น้ำหนัก (ร้อยละของคะแนนรวม)",
            f"Declared weight {c.weight:g} of {card.total_weight:g}: {share:.4g}% of the total.",
            f"น้ำหนักตามที่กำหนด {c.weight:g} จาก {card.total_weight:g} คิดเป็นร้อยละ {share:.4g} ของคะแนนรวม",
        ),
        _field(
            f"{c.id}_points",
            "number",
            f"{tag_en}: points in the total",
            f"{tag_th}: คะแนนถ่วงน้ำหนัก",
            "Score x weight / 100: what this criterion adds to the total.",
            "คะแนน x น้ำหนัก / 100 คือคะแนนที่หลักเกณฑ์นี้เพิ่มให้คะแนนรวม",
        ),
    ]


def _geo_fields(card: Scorecard) -> list[dict[str, Any]]:
    common = common_fields()
    names = ["province_code", "province_name_th", "province_name_en"]
    if card.unit == "amphoe":
        names += ["amphoe_code", "amphoe_name_th", "amphoe_name_en"]
    region = _field(
        "inspection_region", "integer", "Inspection region", "เขตตรวจราชการ",
        "Inspection region (1-18) of the province in force in the round (registry/regions.py).",
        "เขตตรวจราชการ (1-18) ของจังหวัด ตามการแบ่งเขตที่ใช้ในรอบนี้",
    )  # fmt: skip
    return [*(dict(common[n]) for n in names), region]


def _geo_frame(card: Scorecard, frame: pd.DataFrame) -> pd.DataFrame:
    """Rename the unit columns to the published geography columns."""
    out = frame.rename(columns={"region": "inspection_region"})
    if card.unit == "amphoe":
        return out.rename(
            columns={"unit_code": "amphoe_code", "unit_name_th": "amphoe_name_th", "unit_name_en": "amphoe_name_en"}
        )
    return out.drop(columns=["unit_code", "unit_name_th", "unit_name_en"])


def _key(card: Scorecard) -> str:
    return "amphoe_code" if card.unit == "amphoe" else "province_code"


def _with_round(frame: pd.DataFrame, round_: Round) -> pd.DataFrame:
    return frame.assign(round=round_.key, round_be=round_.be_key)


def _ranking(card: Scorecard, result: ScoreResult) -> Output:
    common = common_fields()
    unit_th, unit_en = UNIT_TH[card.unit], UNIT_EN[card.unit]
    fields = [common["round"], common["round_be"], *_geo_fields(card)]
    for c in card.criteria:
        fields += _criterion_fields(card, c)
    fields.append(
        _field(
            "total_score",
            "number",
            "Total score (0-100)",
            "คะแนนรวม (0-100)",
            f"Sum of the criteria's points, rounded to {card.precision} decimals; ranks compare this value.",
            f"ผลรวมคะแนนถ่วงน้ำหนักของทุกหลักเกณฑ์ ปัดทศนิยม {card.precision} ตำแหน่ง ใช้ค่านี้ในการจัดลำดับ",
        )
    )
    reason_en = f" Not eligible: {card.exclude_reason['en']}." if card.exclude else ""
    reason_th = f" ไม่มีสิทธิ์: {card.exclude_reason['th']}" if card.exclude else ""
    zero_en = " A total of 0 (no data at all) is not eligible." if card.exclude_zero_total else ""
    zero_th = " คะแนนรวม 0 (ไม่มีข้อมูลเลย) ไม่มีสิทธิ์" if card.exclude_zero_total else ""
    fields.append(
        _field(
            "eligible",
            "boolean",
            "Eligible for ranking",
            "มีสิทธิ์ได้รับการจัดลำดับ",
            f"Whether the {unit_en} is ranked and can be picked.{zero_en}{reason_en}",
            f"{unit_th}นี้ได้รับการจัดลำดับและคัดเลือกได้หรือไม่{zero_th}{reason_th}",
        )
    )
    tie_en = ", then ".join(
        f"{'higher' if t.order == 'desc' else 'lower'} "
        + (f"criterion {card.criterion(t.criterion).no} score" if t.criterion else f"{unit_en} code")
        for t in card.tie_break
    )
    tie_th = " แล้ว".join(
        (f"คะแนนหลักเกณฑ์ที่ {card.criterion(t.criterion).no}" if t.criterion else f"รหัส{unit_th}")
        + ("ที่สูงกว่า" if t.order == "desc" else "ที่น้อยกว่า")
        for t in card.tie_break
    )
    for level in card.picks:
        w = level.within
        among_en = "the province picks of" if level.among else f"the eligible {unit_en}s of"
        among_th = f"{unit_th}ที่ได้รับคัดเลือกระดับ{WITHIN_TH[level.among]}ใน" if level.among else f"{unit_th}ที่มีสิทธิ์ใน"
        if level.among and level.among != "province":
            among_en = f"the {WITHIN_EN[level.among]} picks of"
        fields += [
            _field(
                f"rank_in_{w}",
                "integer",
                f"Rank in {WITHIN_EN[w]}",
                f"ลำดับใน{WITHIN_TH[w]}",
                f"Rank among {among_en} the {WITHIN_EN[w]} by total score; equal totals are ordered by {tie_en}. "
                "0 when not a candidate (not eligible, or not among the units this level picks from).",
                f"ลำดับตามคะแนนรวมในกลุ่ม{among_th}{WITHIN_TH[w]}เดียวกัน คะแนนเท่ากันตัดสินด้วย{tie_th} "
                "เป็น 0 เมื่อไม่ได้อยู่ในกลุ่มที่จัดลำดับ",
            ),
            _field(
                f"picked_in_{w}",
                "boolean",
                f"Picked in {WITHIN_EN[w]}",
                f"ได้รับคัดเลือกระดับ{WITHIN_TH[w]}",
                f"Among the top {level.count} of its {WITHIN_EN[w]}.",
                f"อยู่ใน {level.count} ลำดับแรกของ{WITHIN_TH[w]}",
            ),
            _field(
                f"tied_in_{w}",
                "boolean",
                f"Total tied in {WITHIN_EN[w]}",
                f"คะแนนรวมเท่ากับหน่วยอื่นใน{WITHIN_TH[w]}",
                "Another candidate of the group has the same total: the tie rule decided the order.",
                "มีหน่วยอื่นในกลุ่มเดียวกันได้คะแนนรวมเท่ากัน ลำดับตัดสินด้วยเกณฑ์การตัดสินคะแนนเท่ากัน",
            ),
        ]
    frame = _geo_frame(card, _with_round(result.ranking, result.round))
    names = [f["name"] for f in fields]
    frame = frame[names].sort_values(_key(card), ignore_index=True)
    for c in card.criteria:
        frame[f"{c.id}_points"] = frame[f"{c.id}_points"].round(card.precision + 2)
        frame[f"{c.id}_weight_pct"] = frame[f"{c.id}_weight_pct"].round(4)
    for level in card.picks:
        w = level.within
        # 0, not empty, for "not ranked": a null integer does not survive every Parquet reader
        # (frictionless reads it back as NaN), and eligible / picked_in_* say why.
        frame[f"rank_in_{w}"] = frame[f"rank_in_{w}"].fillna(0).astype("int64")
        frame[f"tied_in_{w}"] = frame[f"tied_in_{w}"].astype("boolean").fillna(False).astype(bool)
        frame[f"picked_in_{w}"] = frame[f"picked_in_{w}"].astype(bool)
    return Output(
        name=card.name,
        kind="statistics",
        title=card.title,
        description=card.description,
        schema={"fields": fields, "missingValues": [""], "primaryKey": ["round", _key(card)]},
        frame=frame,
        gdc={"geo_coverage": UNIT_TH[card.unit]},
    )


def _criteria(card: Scorecard, result: ScoreResult) -> Output:
    common = common_fields()
    fields = [
        common["round"], common["round_be"], *_geo_fields(card)[:-1],
        _field("criterion_no", "integer", "Criterion number", "หลักเกณฑ์ที่",
               "Number of the criterion as in the source document.", "ลำดับหลักเกณฑ์/ตัวชี้วัดตามเอกสารต้นเรื่อง"),
        _field("criterion_id", "string", "Criterion id", "รหัสหลักเกณฑ์",
               "Short name of the criterion in the scorecard declaration.", "ชื่อย่อของหลักเกณฑ์ในไฟล์กำหนดเกณฑ์"),
        _field("criterion_title_th", "string", "Criterion (Thai)", "หลักเกณฑ์",
               "The criterion's wording in Thai.", "ชื่อหลักเกณฑ์ภาษาไทย"),
        _field("criterion_title_en", "string", "Criterion (English)", "หลักเกณฑ์ (อังกฤษ)",
               "The criterion's wording in English.", "ชื่อหลักเกณฑ์ภาษาอังกฤษ"),
        _field("normalise_method", "string", "Normalisation", "วิธีปรับคะแนน",
               "How the value became 0-100: percent, linear, levels, level_scale or deadline_days.",
               "วิธีปรับค่าเป็นคะแนน 0-100 (percent, linear, levels, level_scale, deadline_days)"),
        _field("has_data", "boolean", "Has data", "มีข้อมูล",
               "The unit has a row for this criterion in the input table.", "มีข้อมูลของหน่วยนี้สำหรับหลักเกณฑ์นี้"),
        _field("value", "number", "Value", "ค่าที่รายงาน", "Raw value before normalisation.", "ค่าก่อนปรับเป็นคะแนน"),
        _field("score", "number", "Score (0-100)", "คะแนน (0-100)", "Normalised score.", "คะแนนที่ปรับแล้ว 0-100"),
        _field("weight_pct", "number", "Weight (% of total)", "น้ำหนัก (ร้อยละ)",
               "The criterion's share of the total score.", "สัดส่วนของหลักเกณฑ์ในคะแนนรวม"),
        _field("points", "number", "Points in the total", "คะแนนถ่วงน้ำหนัก",
               "Score x weight / 100.", "คะแนน x น้ำหนัก / 100"),
    ]  # fmt: skip
    frame = _geo_frame(card, _with_round(result.criteria, result.round))
    names = [f["name"] for f in fields]
    frame = frame[names].sort_values([_key(card), "criterion_no"], ignore_index=True)
    frame["points"] = frame["points"].round(card.precision + 2)
    frame["weight_pct"] = frame["weight_pct"].round(4)
    unit_th, unit_en = UNIT_TH[card.unit], UNIT_EN[card.unit]
    return Output(
        name=f"{card.name}_criteria",
        kind="statistics",
        title={"th": f"{card.title['th']} รายหลักเกณฑ์", "en": f"{card.title['en']}: by criterion"},
        description={
            "th": f"คะแนนราย{unit_th}และรายหลักเกณฑ์ (ค่าที่รายงาน คะแนน น้ำหนัก คะแนนถ่วงน้ำหนัก)\n\n{card.description['th']}",
            "en": f"Each {unit_en}'s value, score, weight and points for every criterion.\n\n{card.description['en']}",
        },
        schema={"fields": fields, "missingValues": [""], "primaryKey": ["round", _key(card), "criterion_id"]},
        frame=frame,
        gdc={"geo_coverage": UNIT_TH[card.unit]},
    )


def _picks(card: Scorecard, result: ScoreResult) -> Output:
    common = common_fields()
    unit_th, unit_en = UNIT_TH[card.unit], UNIT_EN[card.unit]
    fields = [
        common["round"], common["round_be"],
        _field("within", "string", "Picked within", "ระดับการคัดเลือก",
               "Where the pick is made: province, region (inspection region) or nation.",
               "ระดับที่คัดเลือก: province (จังหวัด) region (เขตตรวจราชการ) หรือ nation (ประเทศ)"),
        _field("among", "string", "Picked among", "คัดเลือกจาก",
               "Candidates: all eligible units of the group, or the picks of the named earlier level.",
               "ผู้มีสิทธิ์: ทุกหน่วยที่มีสิทธิ์ในกลุ่ม (all) หรือหน่วยที่ได้รับคัดเลือกในระดับที่ระบุ"),
        _field("group_code", "string", "Group code", "รหัสกลุ่ม",
               "Province code, inspection region number, or TH.", "รหัสจังหวัด หมายเลขเขตตรวจราชการ หรือ TH"),
        _field("group_name_th", "string", "Group name (Thai)", "ชื่อกลุ่ม",
               "Name in Thai of the province, inspection region or country the pick was made in.",
               "ชื่อภาษาไทยของจังหวัด เขตตรวจราชการ หรือประเทศที่คัดเลือก"),
        _field("group_name_en", "string", "Group name (English)", "ชื่อกลุ่ม (อังกฤษ)",
               "Name in English of the province, inspection region or country the pick was made in.",
               "ชื่อภาษาอังกฤษของจังหวัด เขตตรวจราชการ หรือประเทศที่คัดเลือก"),
        _field("place", "integer", "Place", "ลำดับที่", "Rank of the pick in its group.", "ลำดับของผู้ได้รับคัดเลือกในกลุ่ม"),
        _field("candidates", "integer", "Candidates", "จำนวนผู้มีสิทธิ์",
               "Number of candidates the pick was made among.", "จำนวนหน่วยที่มีสิทธิ์ได้รับคัดเลือกในกลุ่ม"),
        *_geo_fields(card),
        _field("total_score", "number", "Total score (0-100)", "คะแนนรวม (0-100)",
               f"The picked {unit_en}'s total score.", f"คะแนนรวมของ{unit_th}ที่ได้รับคัดเลือก"),
        _field("tied", "boolean", "Won on the tie rule", "ตัดสินด้วยเกณฑ์คะแนนเท่ากัน",
               "Another candidate had the same total: the declared tie rule decided.",
               "มีผู้มีสิทธิ์อื่นได้คะแนนรวมเท่ากัน ตัดสินด้วยเกณฑ์ที่กำหนด"),
    ]  # fmt: skip
    frame = _geo_frame(card, _with_round(result.picks, result.round))
    names = [f["name"] for f in fields]
    frame = frame.reindex(columns=names)
    return Output(
        name=f"{card.name}_picks",
        kind="statistics",
        title={"th": f"{card.title['th']} ผู้ได้รับคัดเลือก", "en": f"{card.title['en']}: picks"},
        description={
            "th": f"{unit_th}ที่ได้รับคัดเลือกในแต่ละระดับ\n\n{card.description['th']}",
            "en": f"The {unit_en}s picked at each level.\n\n{card.description['en']}",
        },
        schema={
            "fields": fields,
            "missingValues": [""],
            "primaryKey": ["round", "within", "group_code", "place"],
        },
        frame=frame,
        gdc={"geo_coverage": UNIT_TH[card.unit]},
    )


def scorecard_outputs(card: Scorecard, round_: Round, results: ScoreResult) -> list[Output]:
    """The tables to publish for one scorecard and round: ranking, by criterion, picks.

    Publish each with ``LocalCatalog.publish(output, round_, card.gdc | output.gdc)``.
    """
    if results.round != round_:
        raise ValueError(f"results are for round {results.round.key}, not {round_.key}")
    return [_ranking(card, results), _criteria(card, results), _picks(card, results)]
