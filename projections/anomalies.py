"""Anomalies for the ethics committee: patterns worth a question, not verdicts.

- ``hors_mission``: a view or zoom by someone with no mission covering that camera then;
- ``hors_horaires``: an access to images outside the configured hours (Paris time);
- ``levees_repetees``: one person asking for N mask lifts or more within a sliding window;
- ``rafale_de_refus``: one actor refused N times or more within a sliding window.
Repeated rows of one episode (same actor, overlapping windows) are reported once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from projections.asof import instant
from projections.stats import Rows

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
IMAGE_ACCESS = ["view", "zoom", "mask_lifted", "export_downloaded", "extract_produced"]


@dataclass(frozen=True)
class Rules:
    day_starts_hour: int = 7
    day_ends_hour: int = 21
    lift_threshold: int = 3
    lift_window_hours: int = 24
    denial_threshold: int = 5
    denial_window_minutes: int = 10


def find_anomalies(
    views: Rows,
    rules: Rules = Rules(),
    since: datetime | None = None,
    *,
    as_of: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every anomaly in the access log up to ``as_of`` (and from ``since``), oldest first."""
    p: dict[str, Any] = {"t": instant(as_of), "since": since or EPOCH}
    scope = "a.logged_at <= $t AND a.logged_at >= $since"
    named = "LEFT JOIN users u ON u.user_id = a.actor"
    found: list[dict[str, Any]] = []
    outside = views.rows(
        f"SELECT a.logged_at AS at, a.actor, coalesce(u.username, a.actor) AS actor_name, "
        f"s.camera_code, a.kind FROM access_log a {named} "
        f"LEFT JOIN segments s ON s.segment_id = a.segment_id "
        f"WHERE {scope} AND a.kind IN ('view', 'zoom') AND NOT EXISTS (SELECT 1 FROM missions m "
        "WHERE m.operator_id = a.actor AND list_contains(m.camera_ids, s.camera_id) "
        "AND m.assigned_at <= a.logged_at AND m.window_start <= a.logged_at "
        "AND a.logged_at < m.window_end AND (m.closed_at IS NULL OR m.closed_at > a.logged_at))"
        " ORDER BY a.nid",
        p,
    )
    for r in outside:
        found.append(
            _anomaly(
                "hors_mission",
                r,
                1,
                f"{r['kind']} sur {r['camera_code']} "
                "sans mission couvrant cette caméra à cette heure",
            )
        )
    hours = views.rows(
        f"SELECT a.logged_at AS at, a.actor, coalesce(u.username, a.actor) AS actor_name, "
        f"a.kind, hour(timezone('Europe/Paris', a.logged_at)) AS local_hour "
        f"FROM access_log a {named} WHERE {scope} AND list_contains($kinds, a.kind) "
        "AND (hour(timezone('Europe/Paris', a.logged_at)) < $h0 "
        "OR hour(timezone('Europe/Paris', a.logged_at)) >= $h1) ORDER BY a.nid",
        p | {"kinds": IMAGE_ACCESS, "h0": rules.day_starts_hour, "h1": rules.day_ends_hour},
    )
    for r in hours:
        found.append(
            _anomaly(
                "hors_horaires",
                r,
                1,
                f"{r['kind']} à {r['local_hour']} h "
                f"(heures ouvrées {rules.day_starts_hour}–{rules.day_ends_hour} h)",
            )
        )
    found += _bursts(
        views,
        p,
        scope,
        named,
        "mask_lifted",
        rules.lift_threshold,
        (f"{rules.lift_window_hours} HOURS", f"{rules.lift_window_hours} h"),
        "levees_repetees",
        "levées de masque",
    )
    found += _bursts(
        views,
        p,
        scope,
        named,
        "denial",
        rules.denial_threshold,
        (f"{rules.denial_window_minutes} MINUTES", f"{rules.denial_window_minutes} min"),
        "rafale_de_refus",
        "refus d'accès",
    )
    return sorted(found, key=lambda a: (a["at"], a["kind"]))


def _bursts(
    views: Rows,
    p: dict[str, Any],
    scope: str,
    named: str,
    kind: str,
    threshold: int,
    window: tuple[str, str],
    label: str,
    what: str,
) -> list[dict[str, Any]]:
    """One anomaly per episode where an actor reaches ``threshold`` events within ``window``."""
    rows = views.rows(
        f"SELECT * FROM (SELECT a.logged_at AS at, a.actor, coalesce(u.username, a.actor) AS "
        f"actor_name, count(*) OVER (PARTITION BY a.actor ORDER BY a.logged_at RANGE BETWEEN "
        f"INTERVAL {window[0]} PRECEDING AND CURRENT ROW) AS n FROM access_log a {named} "
        f'WHERE {scope} AND a.kind = $kind) WHERE n >= $threshold ORDER BY actor, "at"',
        p | {"kind": kind, "threshold": threshold},
    )
    episodes: list[dict[str, Any]] = []
    for r in rows:
        last = episodes[-1] if episodes else None
        if last and last["actor"] == r["actor"] and r["n"] > threshold:
            last["count"] = max(last["count"], r["n"])
            last["until"] = r["at"]
            last["detail"] = f"{last['count']} {what} en {window[1]} ou moins"
            continue
        episodes.append(
            _anomaly(label, r, r["n"], f"{r['n']} {what} en {window[1]} ou moins")
            | {"until": r["at"]}
        )
    return episodes


def _anomaly(kind: str, row: dict[str, Any], count: int, detail: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "at": row["at"],
        "actor": row["actor"],
        "actor_name": row["actor_name"],
        "count": count,
        "detail": detail,
    }
