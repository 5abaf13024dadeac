"""The demo's step for masking and redaction: zones on the real footage's camera, a masked
rendition and a redacted extract written out, their paths printed."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import UUID

from evidence.model import PrivacyZone
from evidence.model.security import user_id
from ingest.rendition.masked import masked_segment
from ingest.rendition.redact import Designation, redacted_extract

if TYPE_CHECKING:
    from tools.demo_steps import DemoRun


def masking_step(run: DemoRun) -> None:
    from tools.context import console

    system = run.system
    footage = [s for s in run.segments if system.archives.segment(s).camera_code == "VIL-003"]
    if not footage:
        console.print("  pas de séquence réelle (VIL-003) : étape ignorée")
        return
    chief = user_id("chef.salle")
    system.archives.define_privacy_zone(
        "VIL-003",
        PrivacyZone(
            "vitrine-7",
            ((0.70, 0.02), (0.99, 0.02), (0.99, 0.30), (0.70, 0.30)),
            "Logement au-dessus de la galerie",
            "blur",
        ),
        chief,
    )
    system.archives.define_privacy_zone(
        "VIL-003",
        PrivacyZone(
            "porte-3",
            ((0.02, 0.05), (0.12, 0.05), (0.12, 0.30), (0.02, 0.30)),
            "Porte d'entrée d'immeuble",
            "solid",
        ),
        chief,
    )
    segment = footage[0]
    _preserve_for_citizen(run, segment)
    out = run.settings.data / "renditions"
    out.mkdir(exist_ok=True)
    masked = out / f"{segment}-masque.mp4"
    blob = masked_segment(system, segment, chief)
    with masked.open("wb") as target:
        for piece in system.vault.iter_range(blob):
            target.write(piece)
    console.print(f"  2 zones de masquage sur VIL-003 ; copie masquée : {masked}")
    extract = out / f"{segment}-extrait-floute.mp4"
    # The man walking alone up the middle of the hall, designated on frame 8.
    derivation = redacted_extract(
        system,
        segment,
        [Designation(8, (0.395, 0.39, 0.425, 0.54))],
        extract,
        user_id("dpo"),
        duration=8.0,
    )
    console.print(
        f"  extrait flouté (8 s, tous floutés sauf la personne désignée) : {extract}\n"
        f"  dérivation enregistrée : source {derivation.source_sha256[:16]}…, "
        f"sortie {derivation.output_sha256[:16]}…"
    )


def _preserve_for_citizen(run: DemoRun, segment_id: UUID) -> None:
    """The extract answers a citizen's access request: the segment is held for that request,
    so the later purge leaves it (and its plaintext extract handed to the desk) alone."""
    from tools.context import console

    archives = run.system.archives
    recorded = archives.segment(segment_id)
    now = archives.clock.now()
    request = archives.receive_access_request(
        channel="guichet",
        subject_ref="DEMANDE-2026-0042",
        place_described="Galerie couverte, côté parvis de la gare",
        time_from=recorded.start,
        time_to=recorded.end,
        deadline=now + timedelta(days=30),
        received_by=user_id("dpo"),
    )
    archives.place_hold(
        "access_request",
        "DEMANDE-2026-0042",
        ["VIL-003"],
        [(recorded.start, recorded.end)],
        now + timedelta(days=60),
        user_id("dpo"),
        access_request_id=request,
    )
    console.print("  demande d'accès d'un citoyen reçue ; segment conservé pour y répondre")
