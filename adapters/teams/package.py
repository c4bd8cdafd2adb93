"""The Teams app package: `teams/manifest.json` and its two icons, zipped with the
operator's app id filled in (`laurel teams package`).

Teams installs a bot from a zip whose manifest names the bot's Microsoft App ID, which
only the operator knows (their Azure Bot registration). The manifest in the repository
carries the all-zero GUID instead, so that it stays valid against Microsoft's schema and
the same file serves every installation; this module puts the real id in its places (the
app's `id`, `bots[0].botId` and the message action's `composeExtensions[].botId`).
Standard library only: packaging must work on a machine without the Bot Framework SDK.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "teams"
TEMPLATE_ID = "00000000-0000-0000-0000-000000000000"
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def build_package(app_id: str, out: Path, source: Path = DEFAULT_SOURCE) -> Path:
    """Write the zip (manifest.json, color.png, outline.png at its root) to `out`.

    Raises ValueError, before anything is written, when `app_id` is not a GUID (or is the
    template's).
    """
    app_id = app_id.strip()
    if app_id == TEMPLATE_ID:
        raise ValueError(f"app id {app_id} is the manifest's placeholder, not your Azure Bot's")
    if not _GUID.fullmatch(app_id):
        raise ValueError(
            f"app id {app_id!r} is not a GUID: expected your Azure Bot's Microsoft App ID, "
            "like 1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b"
        )
    path = source / "manifest.json"
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON: {error}") from None
    manifest["id"] = app_id
    manifest["bots"][0]["botId"] = app_id
    for extension in manifest.get("composeExtensions", []):
        extension["botId"] = app_id
    icons = [manifest["icons"]["color"], manifest["icons"]["outline"]]
    blobs = {name: (source / name).read_bytes() for name in icons}

    buffer = io.BytesIO()  # built whole first: a failure leaves no half-written zip at `out`
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for name, blob in blobs.items():
            package.writestr(name, blob)
    out.write_bytes(buffer.getvalue())
    return out
