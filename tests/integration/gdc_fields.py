"""The Thai GDC fields a test dataset needs to pass the catalog's schema, written once for every CKAN test."""

GDC_COMMON = {
    "owner_org": "dopa",
    "maintainer": "ศูนย์สารสนเทศเพื่อการบริหารงานปกครอง",
    "maintainer_email": "opendata@example.go.th",
    "objective": ["พันธกิจหน่วยงาน", "เพื่อการให้บริการประชาชน"],
    "update_frequency_unit": "เดือน",
    "update_frequency_interval": "1",
    "data_source": "โครงการพัฒนาตำบลแบบบูรณาการ",
    "data_category": "ข้อมูลสาธารณะ",
    "license_id": "Open Data Common",
    "data_language": ["ไทย"],
}
# a statistics dataset, as the pipeline publishes its aggregates
GDC_STATISTICS = {
    **GDC_COMMON,
    "data_type": "ข้อมูลสถิติ",
    "tags": [{"name": "tst"}],
    "geo_coverage": "จังหวัด",
    "data_format": ["CSV"],
}
