"""The read models' tables, declared once: DuckDB DDL and the Arrow schemas used to load them.

Time travel without versioned copies: every mutable fact is a *set-once* column stamped with
the logging time of the event that set it (``approved_at``, ``purged_at``, ``closed_at``…), and
every repeatable fact is a row of its own (retention changes, zones, roles, holds, the access
log). A view "as of T" is then the same query with ``x_at <= T`` predicates — exact, and with
no cost to the current view.

One denormalisation serves the catalogue: each segment row carries its open holds
(``hold_ids`` and their current ``hold_expiries``, recomputed from ``holds`` whenever a hold
event touches the segment), so the current listing decides "held" without joining the holds;
a listing as of a past instant still derives it from ``holds`` and ``hold_expiry``.

``*_at`` columns with the ``logged`` meaning are the stored event's timestamp; business times
from the payload keep their own names.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
LIST = pa.list_(pa.string())
ARROW = {
    "VARCHAR": STR,
    "TIMESTAMPTZ": TS,
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "VARCHAR[]": LIST,
    "TIMESTAMPTZ[]": pa.list_(TS),
}


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[tuple[str, str], ...]

    def ddl(self) -> str:
        cols = ", ".join(f'"{name}" {kind}' for name, kind in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({cols})"

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([(name, ARROW[kind]) for name, kind in self.columns])

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]


def _t(name: str, spec: str) -> Table:
    cols = tuple(
        (part.split()[0], part.split(maxsplit=1)[1]) for part in spec.split(",") if part.strip()
    )
    return Table(name, cols)


V, T, B, N, D, F, L = (
    "VARCHAR",
    "TIMESTAMPTZ",
    "BIGINT",
    "INTEGER",
    "DOUBLE",
    "BOOLEAN",
    "VARCHAR[]",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        _t("communes", f"commune_id {V}, insee_code {V}, name {V}, registered_at {T}, nid {B}"),
        _t(
            "cameras",
            f"camera_id {V}, code {V}, commune_id {V}, place {V}, kind {V}, purposes {L}, "
            f"authorisation_ref {V}, authorised_from DATE, authorised_until DATE, "
            f"authorised_retention_days {N}, registered_at {T}, decommissioned_at {T}, "
            f"decommission_reason {V}, nid {B}",
        ),
        _t(
            "camera_retention",
            f"camera_id {V}, retention_days {N}, authorisation_ref {V}, changed_at {T}, nid {B}",
        ),
        _t(
            "privacy_zones",
            f"camera_id {V}, zone_id {V}, label {V}, method {V}, polygon {V}, defined_by {V}, "
            f"defined_at {T}, removed_at {T}, removed_by {V}, removal_reason {V}, nid {B}",
        ),
        _t(
            "segments",
            f"segment_id {V}, camera_code {V}, camera_id {V}, commune_id {V}, start {T}, "
            f"end {T}, container {V}, codec {V}, width {N}, height {N}, fps {D}, size {B}, "
            f"sha256 {V}, deadline {T}, clock_drift_seconds {D}, clock_drift_flagged {F}, "
            f"source_name {V}, recorded_at {T}, purge_started_at {T}, purged_at {T}, "
            f"purge_lateness_seconds {D}, nid {B}, hold_ids {L}, hold_expiries {T}[]",
        ),
        _t(
            "holds",
            f"segment_id {V}, hold_id {V}, kind {V}, reference {V}, legal_basis {V}, "
            f"authority {V}, expires_at {T}, placed_by {V}, placed_at {T}, released_at {T}, "
            f"released_by {V}, release_reason {V}, nid {B}",
        ),
        _t(
            "hold_expiry",
            f"segment_id {V}, hold_id {V}, expires_at {T}, changed_by {V}, changed_at {T}, nid {B}",
        ),
        _t(
            "hold_orders",
            f"order_id {V}, kind {V}, reference {V}, legal_basis {V}, authority {V}, "
            f"camera_ids {L}, ranges {V}, expires_at {T}, placed_by {V}, placed_at {T}, "
            f"released_at {T}, released_by {V}, release_reason {V}, nid {B}",
        ),
        _t(
            "hold_order_expiry",
            f"order_id {V}, expires_at {T}, changed_by {V}, reason {V}, changed_at {T}, nid {B}",
        ),
        _t(
            "hold_order_segments",
            f"order_id {V}, segment_id {V}, logged_at {T}, nid {B}",
        ),
        _t("alarms", f"segment_id {V}, reason {V}, detected_at {T}, logged_at {T}, nid {B}"),
        _t(
            "access_log",
            f"nid {B}, logged_at {T}, kind {V}, actor {V}, purpose {V}, mission_id {V}, "
            f"segment_id {V}, requisition_id {V}, export_id {V}, masked {F}, on_behalf_of {V}, "
            f"target {V}, detail {V}",
        ),
        _t(
            "purges",
            f"nid {B}, segment_id {V}, deadline {T}, purged_at {T}, lateness_seconds {D}, "
            f"key_destroyed {F}, blobs_deleted {L}, logged_at {T}",
        ),
        _t(
            "requisitions",
            f"requisition_id {V}, authority {V}, procedure_number {V}, legal_basis {V}, "
            f"officer_id {V}, camera_ids {L}, ranges {V}, registered_at {T}, approved_at {T}, "
            f"approved_by {V}, closed_at {T}, closed_by {V}, close_reason {V}, nid {B}",
        ),
        _t(
            "exports",
            f"export_id {V}, requisition_id {V}, segment_ids {L}, requested_by {V}, "
            f"requested_at {T}, approved_by {V}, approved_at {T}, produced_at {T}, "
            f"package_id {V}, manifest_sha256 {V}, checkpoint_size {B}, delivered_at {T}, "
            f"recipient {V}, channel {V}, nid {B}",
        ),
        _t(
            "access_requests",
            f"request_id {V}, channel {V}, subject_ref {V}, place_described {V}, "
            f"time_from {T}, time_to {T}, deadline {T}, received_by {V}, received_at {T}, "
            f"extract_produced_at {T}, closed_at {T}, outcome {V}, outcome_text {V}, nid {B}",
        ),
        _t(
            "access_request_segments",
            f"request_id {V}, segment_id {V}, preserved_by {V}, preserved_at {T}, nid {B}",
        ),
        _t(
            "missions",
            f"mission_id {V}, operator_id {V}, task {V}, camera_ids {L}, window_start {T}, "
            f"window_end {T}, requesting_partner {V}, assigned_by {V}, assigned_at {T}, "
            f"closed_at {T}, closed_by {V}, nid {B}",
        ),
        _t("users", f"user_id {V}, username {V}, created_by {V}, created_at {T}, nid {B}"),
        _t(
            "user_roles",
            f"user_id {V}, role {V}, commune_ids {L}, granted_by {V}, granted_at {T}, "
            f"revoked_at {T}, revoked_by {V}, nid {B}",
        ),
        _t(
            "quarantine",
            f"file_id {V}, source_name {V}, camera_code {V}, reason_code {V}, reason_fr {V}, "
            f"size {B}, sha256 {V}, quarantine_name {V}, at {T}, logged_at {T}, nid {B}",
        ),
    )
}

#: The runner's position and the log it belongs to, written in each batch's transaction.
STATE_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_state (name VARCHAR PRIMARY KEY, "
    "position BIGINT NOT NULL, events BIGINT NOT NULL, log_origin VARCHAR, "
    "updated_at TIMESTAMPTZ)"
)
STATE_NAME = "views"


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Idempotent: every table and the one state row."""
    for table in TABLES.values():
        con.execute(table.ddl())
    con.execute(STATE_DDL)
    con.execute(
        "INSERT INTO projection_state VALUES (?, 0, 0, NULL, NULL) ON CONFLICT DO NOTHING",
        [STATE_NAME],
    )
