"""The sensors run a round province by province: new files sort the round, the changed provinces run, then the nation.

On a SQLite instance (the project's kind), each sensor is ticked as the daemon would, and the runs
it requests are executed in-process; so what is asserted is exactly which partitions each sensor
asks for: every province of a new round, then only the province whose file changed.
"""

from __future__ import annotations

import dagster as dg
import pytest

import samples.village_profile as generator
from domain.layout import Layout
from domain.rounds import parse_round
from domain.work import WorkArea
from pipelines.ingest.provinces import parts_of
from pipelines.partitions import partition_keys

ROUND = parse_round("2563-10")
PROVINCES = ["75", "21"]


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("TAMBON_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CKAN_URL", raising=False)
    layout = Layout(tmp_path / "data")
    generator.generate(ROUND, layout.landing_dir("village_profile", ROUND), provinces=PROVINCES)
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance = dg.DagsterInstance.local_temp(str(home))
    from pipelines.definitions import build_definitions

    yield build_definitions(), instance, layout
    instance.dispose()


class Ticks:
    """Each sensor ticked with its own cursor carried over, as the daemon does."""

    def __init__(self, defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
        self.defs, self.instance, self.cursors = defs, instance, {}

    def tick(self, name: str) -> list[dg.RunRequest]:
        sensor = self.defs.resolve_sensor_def(name)
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursors.get(name), definitions=self.defs)
        data = sensor.evaluate_tick(context)
        self.cursors[name] = data.cursor
        return list(data.run_requests or [])

    def run(self, requests: list[dg.RunRequest], job: str) -> None:
        for request in requests:
            result = self.defs.resolve_job_def(job).execute_in_process(
                partition_key=request.partition_key, instance=self.instance
            )
            assert result.success


def _provinces(requests: list[dg.RunRequest]) -> set[str]:
    return {partition_keys(r.partition_key)["province"] for r in requests}


def test_new_files_run_every_province_then_the_nation_and_a_changed_file_only_its_province(world):
    defs, instance, layout = world
    ticks = Ticks(defs, instance)
    work = WorkArea(layout.work("village_profile", ROUND), partitioned=True)

    landing = ticks.tick("village_profile_new_files")
    assert [r.partition_key for r in landing] == [ROUND.key]
    ticks.run(landing, "village_profile_landing")
    assert ticks.tick("village_profile_national") == []  # no province validated yet: the nation waits

    provinces = ticks.tick("village_profile_provinces")
    parts = set(parts_of(work))
    assert _provinces(provinces) == parts and set(PROVINCES) <= parts  # every part of the new round, once
    ticks.run(provinces[:1], "village_profile_province")
    assert ticks.tick("village_profile_national") == []  # one province done, the others not yet
    ticks.run(provinces[1:], "village_profile_province")
    assert ticks.tick("village_profile_provinces") == []  # nothing new sorted: nothing more to run

    national = ticks.tick("village_profile_national")
    assert [r.partition_key for r in national] == [ROUND.key]
    ticks.run(national, "village_profile_round")
    assert ticks.tick("village_profile_national") == []  # published from these parts: not again

    # A late correction to one file of Samut Songkhram (75): a village's household count.
    files = work.read("files")
    file = files[(files["status"] == "ok") & (files["format"] == "csv") & files["name"].str.contains("75")]
    path = layout.root / "landing" / "village_profile" / sorted(file["name"])[0]
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(",", ", ", 1), encoding="utf-8")  # same rows, other bytes
    landing = ticks.tick("village_profile_new_files")
    assert [r.partition_key for r in landing] == [ROUND.key]
    ticks.run(landing, "village_profile_landing")
    again = ticks.tick("village_profile_provinces")
    assert _provinces(again) == {"75"}
    assert ticks.tick("village_profile_national") == []  # province 75 not validated again yet
    ticks.run(again, "village_profile_province")
    national = ticks.tick("village_profile_national")
    assert [r.partition_key for r in national] == [ROUND.key]
    ticks.run(national, "village_profile_round")

    fresh = Ticks(defs, instance)  # a fresh `make ui` after all that: nothing is left to run, nothing runs
    assert fresh.tick("village_profile_new_files") == []
    assert fresh.tick("village_profile_provinces") == []
    assert fresh.tick("village_profile_national") == []
