"""Theme groups (catalog/themes.py): every output the pipeline publishes falls into its theme by name.

The outputs are the ones a full demo catalog holds (village profile, household survey, scorecards
and their quality tables); a quality table belongs to the data-quality theme only.
"""

from __future__ import annotations

import pytest

from catalog.themes import THEMES, group_fields, themes_of

EXPECTED = {
    "village_profile": ["population-villages", "infrastructure-services"],
    "village_profile_province": ["population-villages", "infrastructure-services"],
    "village-profile-tambon": ["population-villages", "infrastructure-services"],
    "household_survey": ["basic-needs-poverty"],
    "household_survey_village": ["basic-needs-poverty"],
    "village_profile_quality": ["data-quality"],
    "household_survey_quality_reasons": ["data-quality"],
    "role_model_district_picks": ["district-scorecards"],
    "local_office_kpi_criteria": ["district-scorecards"],
    "district_self_assessment": ["district-scorecards"],
    "tambon_catalog": [],
}


@pytest.mark.parametrize(("output", "themes"), EXPECTED.items())
def test_each_output_falls_into_its_themes(output, themes):
    assert themes_of(output) == themes


def test_group_fields_carry_thai_title_and_english_beside():
    fields = group_fields(THEMES[2], 2)
    assert fields["title"] == "ความจำเป็นพื้นฐานและความยากจน (จปฐ./TPMAP)"
    extras = {e["key"]: e["value"] for e in fields["extras"]}
    assert extras == {
        "title_en": "Basic needs and poverty (BMN/TPMAP)",
        "description_en": THEMES[2].description_en,
        "order": "2",
    }
    assert str(fields["description"]).endswith(THEMES[2].description_en)
    assert len({t.name for t in THEMES}) == len(THEMES) == 5
