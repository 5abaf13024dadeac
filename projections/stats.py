"""Monthly open-data statistics: counts and durations only, never a person.

No actor, no user id, no subject reference, no segment id leaves this module: only counts
per month (and per commune for cameras, a public fact of the prefectoral authorisations).
Months are calendar months in Europe/Paris time, as French open data publishes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from projections.asof import instant

PARIS = ZoneInfo("Europe/Paris")


class Rows(Protocol):
    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]: ...


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``"2026-11"`` → [1 Nov 00:00, 1 Dec 00:00) in Paris time (aware datetimes)."""
    try:
        year, number = (int(part) for part in month.split("-"))
        start = datetime(year, number, 1, tzinfo=PARIS)
    except ValueError:
        raise ValueError(f"month must be YYYY-MM, got {month!r}") from None
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=PARIS)
    return start, end


def monthly_statistics(views: Rows, month: str, *, as_of: datetime | None = None) -> dict[str, Any]:
    """The month's figures, as the log stood at ``as_of`` (now by default)."""
    start, end = month_bounds(month)
    p = {"s": start, "e": end, "t": instant(as_of)}

    def one(sql: str) -> Any:
        return next(iter(views.rows(sql, p)[0].values()))

    kinds = {
        r["kind"]: r["n"]
        for r in views.rows(
            "SELECT kind, count(*) AS n FROM access_log WHERE logged_at >= $s "
            "AND logged_at < $e AND logged_at <= $t GROUP BY kind",
            p,
        )
    }
    cameras = views.rows(
        "SELECT m.insee_code, m.name, count(*) AS cameras FROM cameras c JOIN communes m "
        "ON m.commune_id = c.commune_id WHERE c.registered_at < $e AND c.registered_at <= $t "
        "AND (c.decommissioned_at IS NULL OR c.decommissioned_at >= $s "
        "OR c.decommissioned_at > $t) GROUP BY ALL ORDER BY m.insee_code",
        p,
    )
    recorded = views.rows(
        'SELECT count(*) AS n, coalesce(sum(epoch("end") - epoch(start)), 0) / 3600 AS h '
        "FROM segments WHERE start >= $s AND start < $e AND recorded_at <= $t",
        p,
    )[0]
    bases = {
        r["legal_basis"]: r["n"]
        for r in views.rows(
            "SELECT legal_basis, count(*) AS n FROM requisitions WHERE registered_at >= $s "
            "AND registered_at < $e AND registered_at <= $t GROUP BY legal_basis",
            p,
        )
    }
    purges = views.rows(
        "SELECT count(*) AS n, count(*) FILTER (WHERE lateness_seconds > 0) AS late, "
        "avg(lateness_seconds) AS mean, quantile_disc(lateness_seconds, 0.95) AS p95, "
        "max(lateness_seconds) AS max FROM purges WHERE purged_at >= $s AND purged_at < $e "
        "AND logged_at <= $t",
        p,
    )[0]
    return {
        "mois": month,
        "cameras": {
            "total": sum(r["cameras"] for r in cameras),
            "par_commune": [
                {"insee": r["insee_code"], "commune": r["name"], "cameras": r["cameras"]}
                for r in cameras
            ],
        },
        "segments_enregistres": recorded["n"],
        "heures_enregistrees": round(float(recorded["h"]), 2),
        "consultations": kinds.get("view", 0),
        "zooms": kinds.get("zoom", 0),
        "levees_de_masque": kinds.get("mask_lifted", 0),
        "exports_produits": kinds.get("export_produced", 0),
        "exports_remis": kinds.get("export_delivered", 0),
        "refus_d_acces": kinds.get("denial", 0),
        "requisitions": {
            "total": sum(bases.values()),
            "par_cadre_legal": dict(sorted(bases.items())),
        },
        "demandes_d_acces": {
            "recues": one(
                "SELECT count(*) FROM access_requests WHERE received_at >= $s "
                "AND received_at < $e AND received_at <= $t"
            ),
            "repondues": one(
                "SELECT count(*) FROM access_requests WHERE outcome = 'answered' "
                "AND closed_at >= $s AND closed_at < $e AND closed_at <= $t"
            ),
            "refusees": one(
                "SELECT count(*) FROM access_requests WHERE outcome = 'refused' "
                "AND closed_at >= $s AND closed_at < $e AND closed_at <= $t"
            ),
        },
        "purges": {
            "total": purges["n"],
            "en_retard": purges["late"],
            "retard_moyen_s": _round(purges["mean"]),
            "retard_p95_s": _round(purges["p95"]),
            "retard_max_s": _round(purges["max"]),
        },
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)
