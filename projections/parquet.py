"""Parquet files for auditors: the access log and the purge register, whole, as of an instant.

Columns are those of ``Views.access_log`` and ``Views.purge_register`` (docs/FORMATS.md
§ Projections). Each file is written beside its final name and renamed, so a reader never
sees half a file; the views' position and the instant go in the file's key-value metadata.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq

from projections.asof import instant
from projections.audit import ACCESS_SQL, PURGE_SQL
from projections.store import Views

EXPORTS = {
    "access_log": ACCESS_SQL + "WHERE a.logged_at <= $t ORDER BY a.nid",
    "purge_register": PURGE_SQL + "WHERE p.logged_at <= $t ORDER BY p.nid",
}


def export_parquet(views: Views, out_dir: Path, as_of: datetime | None = None) -> list[Path]:
    """Write ``access_log.parquet`` and ``purge_register.parquet`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    at = instant(as_of)
    written = []
    for name, sql in EXPORTS.items():
        cur = views.con.cursor()
        try:
            cur.execute("SET TimeZone = 'UTC'")
            table = cur.execute(sql, {"t": at}).to_arrow_table()
        finally:
            cur.close()
        meta = {
            b"scelle.view": name.encode(),
            b"scelle.as_of": at.isoformat().encode(),
            b"scelle.position": str(views.position()).encode(),
        }
        table = table.replace_schema_metadata(meta)
        target = out_dir / f"{name}.parquet"
        tmp = target.with_name(f".{target.name}.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, target)
        written.append(target)
    return written
