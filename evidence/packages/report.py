"""The custody report a judge reads: the requisition, the footage, and who did what, when.

Plain HTML (one page, no script, no external resource) rendered with Jinja2, autoescaped:
every value comes from the log and is shown, never interpreted. It is a reading aid, not
the proof — the proof is the signed bag, which ``verify_package.py`` checks.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Environment

from evidence.model.purposes import LEGAL_BASES

#: Topics as a French-speaking magistrate reads them.
EVENT_LABELS = {
    "scelle:Camera.Registered": "Caméra déclarée (autorisation préfectorale)",
    "scelle:Camera.RetentionChanged": "Durée de conservation modifiée",
    "scelle:Camera.PrivacyZoneDefined": "Zone de masquage définie",
    "scelle:Camera.PrivacyZoneRemoved": "Zone de masquage retirée",
    "scelle:Camera.Decommissioned": "Caméra retirée du service",
    "scelle:Segment.Recorded": "Segment enregistré et scellé",
    "scelle:Segment.Viewed": "Segment consulté",
    "scelle:Segment.Zoomed": "Zoom sur le segment",
    "scelle:Segment.MaskApplied": "Copie masquée produite",
    "scelle:Segment.MaskLifted": "Masque levé (quatre yeux)",
    "scelle:Segment.Held": "Conservation au-delà du délai",
    "scelle:Segment.HoldPlaced": "Conservation au-delà du délai",
    "scelle:Segment.HoldExtended": "Conservation prolongée",
    "scelle:Segment.Released": "Conservation levée",
    "scelle:Segment.HoldLifted": "Conservation levée",
    "scelle:Segment.Exported": "Segment exporté",
    "scelle:Segment.IntegrityAlarm": "Alarme d'intégrité",
    "scelle:Requisition.Registered": "Réquisition enregistrée",
    "scelle:Requisition.Approved": "Réquisition approuvée (quatre yeux)",
    "scelle:Requisition.Closed": "Réquisition close",
    "scelle:Export.Requested": "Export demandé",
    "scelle:Export.Approved": "Export approuvé (quatre yeux)",
    "scelle:User.Created": "Compte créé",
    "scelle:User.RoleGranted": "Rôle attribué",
    "scelle:User.RoleRevoked": "Rôle retiré",
}
#: State fields that name the person who acted, in the order they are looked for.
ACTOR_FIELDS = ("actor_id", "officer_id", "approver_id", "requested_by", "approved_by")

TEMPLATE = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>Rapport de chaîne de possession — {{ package_id }}</title>
<style>
body { font-family: serif; max-width: 60rem; margin: 2rem auto; color: #111; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #999; padding: 0.3rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #eee; }
code { font-size: 0.8rem; word-break: break-all; }
img { max-width: 12rem; }
</style>
</head>
<body>
<h1>Rapport de chaîne de possession</h1>
<p>Paquet <strong>{{ package_id }}</strong>, produit le {{ produced_at }} par le centre dont
le journal est <code>{{ origin }}</code>.</p>

<h2>Réquisition</h2>
<table>
<tr><th>Autorité</th><td>{{ requisition.authority }}</td></tr>
<tr><th>Numéro de procédure</th><td>{{ requisition.procedure_number }}</td></tr>
<tr><th>Cadre légal</th><td>{{ requisition.legal_basis }}</td></tr>
<tr><th>Caméras</th><td>{{ requisition.cameras }}</td></tr>
<tr><th>Plages horaires</th><td>{% for r in requisition.ranges %}{{ r }}<br>{% endfor %}</td></tr>
<tr><th>Officier de police judiciaire</th><td>{{ requisition.officer }}</td></tr>
<tr><th>Approuvée par</th><td>{{ requisition.approver }}</td></tr>
<tr><th>Export demandé par / approuvé par</th>
<td>{{ export.requested_by }} / {{ export.approved_by }}</td></tr>
</table>

<h2>Enregistrements remis ({{ segments|length }})</h2>
<p>Chaque fichier est l'original tel qu'enregistré : son empreinte SHA-256 est celle que
l'événement d'enregistrement a scellée dans le journal.</p>
<table>
<tr><th>n°</th><th>Vignette</th><th>Caméra</th><th>Début — fin</th>
<th>Fichier, taille, SHA-256</th></tr>
{% for s in segments %}
<tr><td>{{ s.number }}</td>
<td>{% if s.thumbnail %}<img src="{{ s.thumbnail }}" alt="vignette du segment {{ s.number }}">
{% else %}—{% endif %}</td>
<td>{{ s.camera }}</td><td>{{ s.start }}<br>{{ s.end }}</td>
<td><code>{{ s.file }}</code><br>{{ s.size }} octets<br><code>{{ s.sha256 }}</code></td></tr>
{% endfor %}
</table>
{% if derived %}
<h2>Copies masquées</h2>
<table>
<tr><th>Fichier</th><th>Source</th><th>Zones masquées</th><th>SHA-256</th></tr>
{% for d in derived %}
<tr><td><code>{{ d.file }}</code></td><td>segment n° {{ d.source }}</td><td>{{ d.zones }}</td>
<td><code>{{ d.sha256 }}</code></td></tr>
{% endfor %}
</table>
{% endif %}

<h2>Chronologie : qui a fait quoi</h2>
<table>
<tr><th>Date</th><th>Fait</th><th>Par</th><th>Objet</th><th>Notification</th></tr>
{% for e in timeline %}
<tr><td>{{ e.at }}</td><td>{{ e.label }}</td><td>{{ e.actor }}</td><td>{{ e.subject }}</td>
<td>{{ e.nid }}</td></tr>
{% endfor %}
</table>

<h2>Vérifier ce paquet</h2>
<p>Point de contrôle signé : arbre de {{ tree_size }} événements, racine
<code>{{ root }}</code>. Chaque événement ci-dessus figure, tel qu'enregistré, dans
<code>data/log/events.jsonl</code>, avec sa preuve d'inclusion dans
<code>data/log/proofs/</code>.</p>
<p>Sur tout ordinateur disposant de Python et du paquet <code>cryptography</code> :
<code>python verify_package.py DOSSIER_DU_PAQUET --vkey CLÉ_PUBLIQUE_DU_CENTRE</code>.
La clé publique attendue est <code>{{ vkey }}</code> ; comparez-la à celle que le centre
publie ou vous a remise séparément.</p>
</body>
</html>
"""


def local_time(value: datetime | str | None) -> str:
    """French civil time with its offset; UTC if the machine has no time-zone database."""
    if value is None:
        return "—"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    with contextlib.suppress(ZoneInfoNotFoundError):
        instant = instant.astimezone(ZoneInfo("Europe/Paris"))
    return instant.strftime("%d/%m/%Y %H:%M:%S (UTC%z)").replace("UTC+0000", "UTC")


def uuid_in(value: Any) -> str | None:
    """The hex of a UUID as the library stores it (``{"_type_": "uuid_hex", …}``)."""
    if isinstance(value, dict) and value.get("_type_") == "uuid_hex":
        return str(value.get("_data_"))
    return None


@dataclass(frozen=True)
class TimelineEntry:
    at: str
    label: str
    actor: str
    subject: str
    nid: int


def timeline(
    events: list[tuple[int, str, str, dict[str, Any]]], names: dict[str, str]
) -> list[TimelineEntry]:
    """(notification id, topic, subject, decoded state) → readable lines, in log order."""
    rows = []
    for nid, topic, subject, state in events:
        actor = "—"
        for field in ACTOR_FIELDS:
            if (found := uuid_in(state.get(field))) is not None:
                actor = names.get(found, found[:8])
                break
        stamp = state.get("timestamp")
        at = local_time(stamp.get("_data_")) if isinstance(stamp, dict) else "—"
        rows.append(TimelineEntry(at, EVENT_LABELS.get(topic, topic), actor, subject, nid))
    return rows


def legal_basis_label(code: str) -> str:
    return LEGAL_BASES.get(code, code)


def render(context: dict[str, Any]) -> str:
    environment = Environment(autoescape=True, keep_trailing_newline=True)
    return environment.from_string(TEMPLATE).render(**context)
