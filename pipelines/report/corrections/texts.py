"""Every word the correction workbook shows, Thai first with English beside it, and its dates in B.E.

The labels live here rather than in ``validation/messages.yaml``: that file holds the reasons a
file or a row is rejected (data the validators fill in), these are the workbook's own layout, read
by the writer and by the tests that find a table by its heading. Dates that people read are Thai
Buddhist Era dates (``4 พ.ย. 2563``) with the Gregorian one beside them (``4 Nov 2020``).
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

from domain.rounds import date_th

BANGKOK = ZoneInfo("Asia/Bangkok")

#: The font of every cell: Tahoma has had Thai glyphs on every Windows since 2000 (XP's district-office
#: machines included), ships with macOS and Office, and LibreOffice substitutes a Thai font for it on Linux.
#: "Leelawadee UI" exists only from Windows 8; "TH Sarabun New", the government's document font, is not a
#: system font and falls back to a Latin font without Thai where it was never installed.
FONT = "Tahoma"

#: Sheet names (Excel: at most 31 characters, no ``[]:*?/\``).
SUMMARY_SHEET = "สรุป Summary"
ABOUT_SHEET = "_about"  #: hidden: what this workbook is, read back when it returns
FORMAT = "tambon-correction-workbook/1"

TITLE = ("แบบแก้ไขข้อมูลที่ไม่ผ่านการตรวจสอบ", "Correction workbook: rows held back")
UNATTRIBUTED_TITLE = (
    "ไฟล์และแถวที่ระบุอำเภอไม่ได้ (สำหรับทีมข้อมูล)",
    "Files and rows we could not attribute to a district (for the data team)",
)
PRIVACY = (
    "เอกสารนี้มีข้อมูลส่วนบุคคลตามที่สำนักงานส่งมา (พ.ร.บ.คุ้มครองข้อมูลส่วนบุคคล พ.ศ. 2562) ใช้ภายใน{office}เท่านั้น ห้ามส่งต่อหรือเผยแพร่",
    "This workbook holds personal data as your office sent it (PDPA B.E. 2562): for {office_en} only; "
    "do not forward or publish it.",
)
HOW_TO = (
    "วิธีแก้ไข: เปิดแผ่นงานของแต่ละไฟล์ แก้ค่าในช่องสีแดงในแถวเดิม (ไม่ต้องเพิ่ม ลบ หรือเรียงแถวใหม่ "
    "และไม่แก้คอลัมน์ที่ซ่อนไว้) เขียนคำอธิบายได้ในคอลัมน์ “หมายเหตุจากอำเภอ” แล้วบันทึกเป็น .xlsx "
    "และส่งแบบนี้กลับภายใน {deadline_th}",
    "How to correct: on each file's sheet, correct the red cells in the same row (do not add, delete or "
    "re-sort rows, and leave the hidden columns alone), explain anything in “Office note”, save as .xlsx "
    "and send this workbook back by {deadline_en}.",
)
VALUES_AS_READ = (
    "ค่าในแถวแสดงตามที่ระบบอ่านได้: เลขไทยแสดงเป็นเลขอารบิก วันที่ที่อ่านได้แสดงเป็น ค.ศ. ปี-เดือน-วัน "
    "(จะกรอกใหม่เป็น 15/10/2563 หรือ 15 ต.ค. 2563 ก็ได้) ข้อความที่ขึ้นต้นด้วย ' คือข้อความที่โปรแกรมตาราง"
    "คำนวณอาจตีความเป็นสูตร ระบบจะตัด ' ตัวแรกออกเมื่ออ่านแบบนี้กลับ",
    "Values are shown as the pipeline read them: Thai digits as Arabic digits, readable dates as Gregorian "
    "year-month-day (you may type 15/10/2563 or 15 ต.ค. 2563 instead). A text starting with ' is one a "
    "spreadsheet would run as a formula; that first ' is removed when this workbook is read back.",
)
DEADLINE = ("กำหนดส่งแก้ไข", "Corrections due by")
DEADLINE_PASSED = ("(เลยกำหนดแล้ว)", "(already passed)")
PRODUCED = ("จัดทำเมื่อ", "Produced on")
ROUND = ("รอบข้อมูล", "Round")
DATASET = ("ชุดข้อมูล", "Dataset")
OFFICE = ("ที่ทำการปกครองอำเภอ", "District office")

# Section headings of the summary sheet (the tests find each table by its Thai heading).
SECTION_FIGURES = ("ผลการส่งข้อมูลเทียบกับจังหวัดและเป้าหมาย", "Your figures next to your province's and the target")
SECTION_EARLIER = ("การแก้ไขข้อมูลของอำเภอในรอบก่อน", "Your corrections in earlier rounds")
SECTION_TAMBONS = ("รายตำบล (ทีมตำบล)", "By tambon (tambon team)")
SECTION_FILES = ("ไฟล์ที่ได้รับ", "Files received")
SECTION_UNREADABLE = ("ไฟล์ที่อ่านไม่ได้", "Files that could not be read")
SECTION_TAMBONS_MISSING = ("ตำบลที่ไม่ได้ส่งข้อมูล", "Tambons not reported")
SECTION_VILLAGES_MISSING = ("หมู่บ้านที่ไม่ได้ส่งข้อมูล", "Villages not reported")
NONE = ("ไม่มี", "none")

FIGURE_HEADER = (
    ("ตัวชี้วัด", "Figure"),
    ("อำเภอ", "District"),
    ("จังหวัด", "Province"),
    ("เป้าหมาย", "Target"),
    ("เทียบเป้าหมาย", "Against target"),
)
#: quality column -> its label; the percentages the role-model selection scores (seed 001, criterion 2).
FIGURES = {
    "completeness_pct": ("ความครบถ้วน (%)", "Completeness (%)"),
    "accuracy_pct": ("ความถูกต้อง (%)", "Accuracy (%)"),
    "on_time_pct": ("ส่งตรงเวลา (% ของตำบล)", "On time (% of tambons)"),
}
#: quality column -> its label; the counts behind the percentages.
COUNTS = {
    "villages_expected": ("หมู่บ้านตามทะเบียน", "Villages in the registry"),
    "villages_reported": ("หมู่บ้านที่ส่งข้อมูล", "Villages reported"),
    "villages_accepted": ("หมู่บ้านที่ผ่านการตรวจสอบ", "Villages accepted"),
    "rows_received": ("แถวที่ได้รับ", "Rows received"),
    "rows_quarantined": ("แถวที่ไม่ผ่าน (ต้องแก้ไข)", "Rows held back (to correct)"),
    "tambons_expected": ("ตำบลตามทะเบียน", "Tambons in the registry"),
    "tambons_on_time": ("ตำบลที่ส่งทันกำหนด", "Tambons on time"),
}
#: The correction loop of an earlier round (``measured``): the round, then its columns in this order.
EARLIER_HEADER = (
    ("รอบข้อมูล", "Round"),
    ("แถวที่ส่งให้แก้ไข", "Rows returned for correction"),
    ("แก้ไขแล้ว", "Rows fixed"),
    ("ยังไม่ได้แก้ไข", "Rows still open"),
    ("แก้ไขทันกำหนด", "Fixed by the deadline"),
    ("แก้ไขทันกำหนด (% ของแถวที่ส่งให้แก้ไข)", "Fixed by the deadline (% of rows returned)"),
    ("ระยะเวลาแก้ไข มัธยฐาน (วัน)", "Turnaround, median (days)"),
    ("ระยะเวลาแก้ไข นานที่สุด (วัน)", "Turnaround, longest (days)"),
)
EARLIER_NOTE = (
    "ระยะเวลาแก้ไขนับเป็นวันเต็ม ตั้งแต่วันที่จัดทำแบบแก้ไขจนถึงวันที่อำเภอส่งแถวที่แก้ไขแล้ว",
    "Turnaround: whole days from the day the workbook was produced to the day your fix was sent.",
)
MET = ("ถึงเป้าหมาย", "target met")
BELOW = ("ต่ำกว่าเป้าหมาย", "below target")
NO_TARGET = ("ไม่ได้กำหนด", "not set")
NO_DATA = ("ไม่มีข้อมูล", "no data")

TAMBON_HEADER = (
    ("รหัสตำบล", "Tambon code"),
    ("ตำบล", "Tambon"),
    ("ตำบล (ภาษาอังกฤษ)", "Tambon (English)"),
    ("หมู่บ้านตามทะเบียน", "Villages"),
    ("ส่งข้อมูล", "Reported"),
    ("ผ่าน", "Accepted"),
    ("ความครบถ้วน (%)", "Completeness (%)"),
    ("ความถูกต้อง (%)", "Accuracy (%)"),
    ("ส่งทันกำหนด", "On time"),
    ("แถวที่ต้องแก้ไข", "Rows to correct"),
    ("แผ่นงาน", "Sheets"),
)
FILE_HEADER = (
    ("แผ่นงาน", "Sheet"),
    ("ชื่อไฟล์", "File name"),
    ("ตำบล", "Tambon"),
    ("ได้รับเมื่อ", "Received"),
    ("สถานะ", "Status"),
    ("แถวที่ได้รับ", "Rows received"),
    ("แถวที่ต้องแก้ไข", "Rows to correct"),
)
UNREADABLE_HEADER = (
    ("ชื่อไฟล์", "File name"),
    ("ได้รับเมื่อ", "Received"),
    ("รหัสปัญหา", "Problem code"),
    ("สาเหตุ", "Reason"),
    ("สาเหตุ (ภาษาอังกฤษ)", "Reason (English)"),
    ("ทราบได้อย่างไรว่าเป็นของอำเภอนี้", "How we know it is yours"),
)
TAMBON_MISSING_HEADER = (
    ("รหัสตำบล", "Tambon code"),
    ("ตำบล", "Tambon"),
    ("ตำบล (ภาษาอังกฤษ)", "Tambon (English)"),
    ("หมู่บ้านตามทะเบียน", "Villages"),
)
VILLAGE_MISSING_HEADER = (
    ("รหัสหมู่บ้าน", "Village code"),
    ("ชื่อหมู่บ้าน", "Village name"),
    ("รหัสตำบล", "Tambon code"),
    ("ตำบล", "Tambon"),
    ("ทั้งตำบลไม่ได้ส่ง", "Whole tambon missing"),
)
YES = ("ใช่", "yes")
NO = ("ไม่", "no")
TAMBON_UNKNOWN = ("ไม่ทราบตำบล", "tambon unknown")

STATUS = {
    "ok": ("อ่านได้", "read"),
    "duplicate": ("ซ้ำกับไฟล์อื่นทุกไบต์ (นำเข้าครั้งเดียว)", "identical to another file (ingested once)"),
    "rejected": ("อ่านไม่ได้", "could not be read"),
}

# The sheet of one file.
FILE_TITLE = ("แถวที่ไม่ผ่านการตรวจสอบจากไฟล์", "Rows held back from the file")
FILE_SUB = ("ตำบล", "Tambon", "ได้รับเมื่อ", "received", "แถวที่ต้องแก้ไข", "rows to correct")
ROW_COLUMN = ("แถวที่ในไฟล์", "Row in your file", "row_in_file")
SHEET_COLUMN = ("ชีตในไฟล์", "Sheet in your file", "sheet_in_file")
REASON_TH_COLUMN = ("สาเหตุที่ไม่ผ่าน (ภาษาไทย)", "Reasons (Thai)", "reasons_th")
REASON_EN_COLUMN = ("สาเหตุ (ภาษาอังกฤษ)", "Reasons (English)", "reasons_en")
NOTE_COLUMN = ("หมายเหตุจากอำเภอ", "Office note", "office_note")
#: The row's identity: hidden columns matched when the workbook comes back (the file's SHA-256, its sheet, its row).
IDENTITY = ("_file", "_sheet", "_row")

# The data team's workbook of files and rows no office could be given.
UNATTRIBUTED_FILES = ("ไฟล์ที่ระบุอำเภอไม่ได้", "Files we could not attribute to a district")
GUESSED_FILES = (
    "ไฟล์ที่อ่านไม่ได้ซึ่งระบุอำเภอจากชื่อไฟล์หรือเนื้อหา (โปรดตรวจ)",
    "Unreadable files attributed by their name or content (please check)",
)
MIXED_FILES = (
    "ไฟล์ที่มีแถวของหลายอำเภอ (ส่งคืนอำเภอที่มีแถวมากที่สุด)",
    "Files whose rows name several districts (returned to the district most rows name)",
)
DATA_TEAM_FILE_HEADER = (
    ("ชื่อไฟล์", "File name"),
    ("SHA-256", ""),
    ("สถานะ", "Status"),
    ("รหัสปัญหา", "Problem code"),
    ("สาเหตุ", "Reason"),
    ("สาเหตุ (ภาษาอังกฤษ)", "Reason (English)"),
    ("แถวที่ต้องแก้ไข", "Rows to correct"),
    ("สิ่งที่ตรวจแล้ว", "What we tried"),
    ("สิ่งที่ตรวจแล้ว (ภาษาอังกฤษ)", "What we tried (English)"),
)
MIXED_HEADER = (
    ("ชื่อไฟล์", "File name"),
    ("ส่งคืนอำเภอ", "Returned to district"),
    ("อำเภอที่แถวระบุ (จำนวนแถว)", "Districts its rows name (rows)"),
)


def both(pair: tuple[str, str], sep: str = " / ") -> str:
    """``Thai / English`` (or the Thai alone when there is no English beside it)."""
    th, en = pair
    return f"{th}{sep}{en}" if en else th


def date_en(day: dt.date) -> str:
    """``4 Nov 2020``."""
    return f"{day.day} {calendar.month_abbr[day.month]} {day.year}"


def date_both(day: dt.date) -> str:
    return f"{date_th(day)} ({date_en(day)})"


def received_both(iso: str) -> str:
    """A file's arrival (ISO timestamp, UTC) as Thai time: ``24 ต.ค. 2563 08:36 น. (24 Oct 2020 08:36)``."""
    if not iso:
        return ""
    moment = dt.datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    local = moment.astimezone(BANGKOK)
    clock = local.strftime("%H:%M")
    return f"{date_th(local.date())} {clock} น. ({date_en(local.date())} {clock})"
