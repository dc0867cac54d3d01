"""Is CKAN publishing on in this process, and if not, is CKAN configured somewhere it did not reach?

The CKAN assets exist only when ``CKAN_URL`` is set in the process that loads the
definitions (``pipelines/definitions.py``). ``make demo`` loads the local CKAN's
settings (``catalog/ckan/ckan.sh env-file``) and publishes there; a ``dagster dev`` or
``tambon run`` started without them publishes to the local catalog only, and used to
say nothing about it, so a round looked published when CKAN never saw it.

:func:`notice` is the sentence for that case (Thai, then English): CKAN's settings
exist on this machine (the local CKAN's env file, or ``.cache/ckan-secrets.env``) but
``CKAN_URL`` is not set here. The published asset logs it and puts it in its
metadata; the command line prints it. :func:`status` is what ``make ui`` prints
(``python -m pipelines.ckan_notice``). Neither ever prints the token.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from domain.declarations import REPO_ROOT

SECRETS_FILE = REPO_ROOT / ".cache" / "ckan-secrets.env"
START_HINT = "bash catalog/ckan/ckan.sh start"


def local_env_file(environ: Mapping[str, str] | None = None) -> Path:
    """The local CKAN's env file: the path ``bash catalog/ckan/ckan.sh env-file`` prints.

    Same variables and defaults as ckan.sh (``TAMBON_CKAN_RUN``, else
    ``$TAMBON_CKAN_HOME/run-$TAMBON_CKAN_PORT``; an empty variable counts as unset, as
    ``${VAR:-default}`` does), so no shell is started inside a run to ask it.
    """
    env = os.environ if environ is None else environ
    home = os.path.realpath(env.get("TAMBON_CKAN_HOME") or str(REPO_ROOT / ".cache" / "ckan"))
    port = env.get("TAMBON_CKAN_PORT") or "5000"
    run = os.path.realpath(env.get("TAMBON_CKAN_RUN") or f"{home}/run-{port}")
    return Path(run) / "env"


def configured_elsewhere(environ: Mapping[str, str] | None = None, secrets_file: Path = SECRETS_FILE) -> list[Path]:
    """The CKAN settings files that exist while ``CKAN_URL`` is not set here (empty when it is set)."""
    env = os.environ if environ is None else environ
    if env.get("CKAN_URL"):
        return []
    return [path for path in (local_env_file(env), secrets_file) if path.is_file()]


def notice(environ: Mapping[str, str] | None = None, secrets_file: Path = SECRETS_FILE) -> str | None:
    """Thai/English notice when CKAN is configured on this machine but not in this process; else None."""
    found = configured_elsewhere(environ, secrets_file)
    if not found:
        return None
    files = ", ".join(str(path) for path in found)
    return (
        f"มีการตั้งค่า CKAN ไว้ในเครื่องนี้ ({files}) แต่กระบวนการนี้ไม่ได้ตั้ง CKAN_URL "
        "รอบนี้จึงเผยแพร่เฉพาะแคตตาล็อกในเครื่อง (data/catalog) ไม่ได้ส่งขึ้น CKAN: "
        "เปิด Dagster ด้วย make ui (โหลดการตั้งค่าให้) หรือตั้ง CKAN_URL และ CKAN_API_TOKEN / "
        f"CKAN is configured on this machine ({files}) but CKAN_URL is not set in this process, "
        "so this run publishes to the local catalog (data/catalog) only, not to CKAN: "
        "start Dagster with make ui (which loads the settings) or set CKAN_URL and CKAN_API_TOKEN."
    )


def answers(url: str, timeout: float = 3.0) -> bool:
    """Whether a CKAN answers at ``url`` (its ``status_show`` action), within ``timeout`` seconds."""
    import requests

    try:
        return requests.get(f"{url.rstrip('/')}/api/3/action/status_show", timeout=timeout).ok
    except requests.RequestException:
        return False


def status(environ: Mapping[str, str] | None = None, probe: bool = True, secrets_file: Path = SECRETS_FILE) -> str:
    """Whether runs started from here publish to CKAN, in Thai and English (what ``make ui`` prints)."""
    env = os.environ if environ is None else environ
    url = env.get("CKAN_URL")
    if url:
        lines = [f"การเผยแพร่ไปยัง CKAN: เปิด ({url}) / CKAN publishing: on ({url})"]
        if probe and not answers(url):
            lines.append(
                f"  แต่ CKAN ที่ {url} ไม่ตอบ ขั้นส่งขึ้น CKAN จะล้มเหลวจนกว่าจะเริ่ม: {START_HINT} (หรือ make demo) / "
                f"but CKAN at {url} does not answer: runs' CKAN step fails until it is started ({START_HINT}, "
                "or make demo)"
            )
        return "\n".join(lines)
    lines = [
        "การเผยแพร่ไปยัง CKAN: ปิด เผยแพร่เฉพาะแคตตาล็อกในเครื่อง (data/catalog) / "
        "CKAN publishing: off, local catalog only (data/catalog)",
        "  เปิดได้ด้วย make demo (ติดตั้งและเริ่ม CKAN ในเครื่อง) หรือตั้ง CKAN_URL และ CKAN_API_TOKEN / "
        "turn it on with make demo (installs and starts a local CKAN) or set CKAN_URL and CKAN_API_TOKEN",
    ]
    elsewhere = notice(env, secrets_file)
    if elsewhere:
        lines.append(f"  {elsewhere}")
    return "\n".join(lines)


def main() -> int:
    print(status())
    return 0


if __name__ == "__main__":
    sys.exit(main())
