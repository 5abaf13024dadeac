"""Ledger figures: sealed appends, full verification, inclusion proofs, tree appends.

Targets from the issue (printed, never asserted): sealing costs at most 25% of plain
throughput; verification >= 500,000 events/s; an inclusion proof in <= 1 ms at 1,000,000
leaves; tree appends >= 2x pymerkle's SqliteTree.

Every store is built through the public entry points (``init_data_dir``, ``open_system``,
``Archives.save``, ``Ledger.seal``); the big ones are cached under ``bench/.cache/`` keyed by
size and ledger layout, so a rerun measures without rebuilding.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import random
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import methodcaller
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application

from bench.common import (
    Context,
    Figure,
    Part,
    clock,
    median,
    percentile,
    pg_database,
    pg_unavailable,
)
from evidence.bootstrap import init_data_dir, ledger_db, open_system, read_verifier
from evidence.config import Settings
from evidence.ledger import merkle
from evidence.ledger.checkpoint import open_checkpoint
from evidence.ledger.leaf import LEAF_PREFIX, chain_values
from evidence.ledger.sealer import Sealer
from evidence.ledger.store import LedgerDB, SQLiteLedgerDB
from evidence.model.access import AccessDenial
from tools.verify_store import StoreVerificationFailed, verify_store

ORIGIN = "scelle.bench/log"
T0 = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
ACTIONS = ("view", "export", "zoom", "unmask")
BUILD_BATCH = 1_000  # events per save when building the big stores
SEED = 20261122
T = TypeVar("T")


@dataclass(frozen=True)
class Sizes:
    single_events: int  # events per append trial, one event per save
    batch_events: int  # events per append trial, 100 events per save
    trial_seconds: float  # an append trial also stops after this long
    trials: int  # interleaved trials per single-event append figure (best kept)
    short_trials: int  # the same for the short figures: batch appends and tree appends
    store: int  # events in the verified store (the proofs use its tree)
    proofs: int  # random leaves proved
    proof_seconds: float  # ...or fewer, once this much time went into our proofs
    tree: int  # leaves appended by each tree
    reps: int  # repetitions of verification and of the SHA-256 loop (best kept)


FULL = Sizes(
    single_events=3_000,
    batch_events=10_000,
    trial_seconds=6.0,
    trials=3,
    short_trials=5,  # a trial lasts about a second: fsync and scheduling noise dominate
    store=1_000_000,
    proofs=1_000,
    proof_seconds=15.0,
    tree=100_000,
    reps=2,
)
TINY = Sizes(
    single_events=20,
    batch_events=200,
    trial_seconds=2.0,
    trials=1,
    short_trials=1,
    store=2_000,
    proofs=50,
    proof_seconds=5.0,
    tree=2_000,
    reps=1,
)


def sizes(ctx: Context) -> Sizes:
    return TINY if ctx.tiny else FULL


def denials(start: int, count: int) -> list[AccessDenial]:
    """Realistic single-event aggregates (one refused attempt each), numbered from ``start``."""
    return [
        AccessDenial(
            actor=f"agent-{i % 97:03d}",
            action=ACTIONS[i % len(ACTIONS)],
            target=f"segment/VIL-{i % 40:03d}/{i}",
            reason="aucune mission ouverte pour cette caméra",
            at=T0 + timedelta(seconds=i),
            source="csu-villeurbanne/poste-3",
        )
        for i in range(start, start + count)
    ]


class PlainArchives(Application[UUID]):
    """The peer: the library's Application as is, same name (hence same tables), no ledger."""

    name = "Scelle"


# 1. Sealed appends against the plain application ---------------------------------------------


def _saves(
    save: Callable[..., Any], aggregates: Sequence[Any], per_save: int, budget: float
) -> tuple[int, float]:
    """Save in groups of ``per_save`` until done or ``budget`` seconds passed."""
    done = 0
    t0 = clock()
    for start in range(0, len(aggregates), per_save):
        group = aggregates[start : start + per_save]
        save(*group)
        done += len(group)
        if clock() - t0 >= budget:
            break
    return done, clock() - t0


@contextmanager
def _database(ctx: Context, backend: str) -> Iterator[str | None]:
    if backend == "sqlite":
        yield None
    else:
        assert ctx.pg_admin_url
        with pg_database(ctx.pg_admin_url) as url:
            yield url


def _append_trial(ctx: Context, backend: str, sealed: bool, per_save: int, count: int) -> float:
    """Events/s for one fresh store; warm-up saves are not timed."""
    warm = max(20, 2 * per_save)
    aggregates = denials(0, warm + count)
    budget = sizes(ctx).trial_seconds
    with ctx.scratch() as scratch, _database(ctx, backend) as url:
        settings = Settings(data=scratch / "data", database_url=url)
        if sealed:
            init_data_dir(settings, ORIGIN)
            system = open_system(settings, embedded_sealing=True)
            try:
                _saves(system.archives.save, aggregates[:warm], per_save, math.inf)
                gc.collect()  # both sides start their timed saves with nothing to collect
                done, seconds = _saves(system.archives.save, aggregates[warm:], per_save, budget)
                late = system.ledger.seal()
            finally:
                system.close()
            if late:
                raise RuntimeError(
                    f"{late} events were still unsealed after the timed saves: "
                    "the figure would not include the sealing"
                )
        else:
            settings.data.mkdir(parents=True)
            app = PlainArchives(env=settings.eventsourcing_env())
            try:
                _saves(app.save, aggregates[:warm], per_save, math.inf)
                gc.collect()
                done, seconds = _saves(app.save, aggregates[warm:], per_save, budget)
            finally:
                app.close()
    return done / seconds


def append(ctx: Context) -> Iterator[Figure]:
    s = sizes(ctx)
    backends = ["sqlite"]
    why = pg_unavailable(ctx.pg_admin_url)
    if why is None:
        backends.append("postgres")
    else:
        ctx.note(f"PostgreSQL figures skipped: {why}")
    for backend in backends:
        for label, per_save, count in (
            ("single", 1, s.single_events),
            ("batch100", 100, s.batch_events),
        ):
            trials = s.trials if per_save == 1 else s.short_trials
            rates: dict[bool, list[float]] = {True: [], False: []}
            for trial in range(trials):
                for sealed in (True, False) if trial % 2 == 0 else (False, True):
                    rates[sealed].append(_append_trial(ctx, backend, sealed, per_save, count))
            ctx.log(
                f"{backend} {label}: sealed {_rates(rates[True])}, plain "
                f"{_rates(rates[False])} events/s"
            )
            how = (
                "embedded sealing, open_system's default"
                if backend == "sqlite"
                else "embedded_sealing=True: the sealer runs after each save"
            )
            db = "SQLite file" if backend == "sqlite" else "PostgreSQL database"
            yield Figure(
                name=f"append_sealed_{backend}_{label}",
                value=max(rates[True]),
                unit="events/s",
                what=(
                    f"AccessDenial events saved through Archives ({how}), "
                    f"{'one event' if per_save == 1 else f'{per_save} events'} per save; "
                    f"best of {trials} trials interleaved with the peer, each on a fresh "
                    f"{db}, up to {count:,} events or {s.trial_seconds:.0f} s; ratio = "
                    "share of plain throughput kept"
                ),
                peer=(
                    f"plain eventsourcing Application subclass, same aggregate and "
                    f"{backend} settings (for SQLite, the same connections keeping their "
                    "prepared statements), no ledger, same trials"
                ),
                peer_value=max(rates[False]),
                target="ratio >= 0.75",
            )


def _rates(values: list[float]) -> str:
    return "/".join(f"{v:,.0f}" for v in values)


# Cached stores ----------------------------------------------------------------------------


def layout_fingerprint() -> str:
    """Changes whenever the ledger's tables or the leaf format change: a store cached by
    other code is then rebuilt instead of misread."""
    ddl = "\n".join(SQLiteLedgerDB(":memory:").schema())
    return hashlib.sha256(ddl.encode() + LEAF_PREFIX).hexdigest()[:10]


def _cached_store(
    ctx: Context, kind: str, count: int, sealed: bool
) -> tuple[Settings, dict[str, Any]]:
    """A data directory with ``count`` AccessDenial events; sealed and checkpointed if asked.

    Built through ``Archives.save`` in batches of 1,000 without sealing, then one
    ``Ledger.seal()`` and one checkpoint; ``meta.json`` is written last, so a half-built
    cache is rebuilt. Stores of the same kind and size left by other code are removed.
    """
    home = ctx.cache / f"{kind}-{count}-{layout_fingerprint()}"
    meta_path = home / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("events") == count:
            ctx.log(f"using the cached store {home} (built {meta.get('built_at')})")
            return Settings(data=home / "data"), meta
    for stale in ctx.cache.glob(f"{kind}-{count}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = Settings(data=home / "data")
    init_data_dir(settings, ORIGIN)
    ctx.log(f"building {home} ({count:,} events)...")
    system = open_system(settings, embedded_sealing=False)
    meta: dict[str, Any] = {"events": count}
    try:
        t0 = clock()
        step = max(count // 10, BUILD_BATCH)
        for start in range(0, count, BUILD_BATCH):
            system.archives.save(*denials(start, min(BUILD_BATCH, count - start)))
            done = min(start + BUILD_BATCH, count)
            if done % step < BUILD_BATCH and done < count:
                ctx.log(f"  {done:,} events saved ({done / (clock() - t0):,.0f}/s)")
        meta["save_seconds"] = round(clock() - t0, 2)
        if sealed:
            t1 = clock()
            got = system.ledger.seal()
            meta["seal_seconds"] = round(clock() - t1, 2)
            if got != count:
                raise RuntimeError(f"sealed {got} events, expected {count}")
            t2 = clock()
            system.ledger.checkpoint()
            meta["checkpoint_seconds"] = round(clock() - t2, 3)
    finally:
        system.close()
    meta["built_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    ctx.log(f"built {home}: {meta}")
    return settings, meta


def _build_note(kind: str, meta: dict[str, Any]) -> str:
    n = meta["events"]
    parts = [
        f"saved in {meta['save_seconds']} s ({n / meta['save_seconds']:,.0f} events/s, "
        f"batches of {BUILD_BATCH:,}, no sealing)"
    ]
    if "seal_seconds" in meta:
        parts.append(
            f"sealed in {meta['seal_seconds']} s ({n / meta['seal_seconds']:,.0f} "
            "events/s, one Ledger.seal())"
        )
    return f"{kind} store of {n:,} events: " + ", ".join(parts) + f"; built {meta['built_at']}"


# 2. Full verification against a bare SHA-256 loop -----------------------------------------


def _outside_notes(settings: Settings) -> list[tuple[str, str]]:
    return [
        (p.read_text(encoding="utf-8"), str(p))
        for p in sorted(settings.checkpoints_dir.glob("*.checkpoint"))
    ]


def _verify_seconds(settings: Settings, count: int, reps: int) -> float:
    db = ledger_db(settings)
    verifier = read_verifier(settings.log_vkey_path)
    outside = _outside_notes(settings)
    best = math.inf
    for _ in range(reps):
        t0 = clock()
        summary = verify_store(db, verifier, outside)
        best = min(best, clock() - t0)
        if summary.events != count or summary.leaves != count:
            raise RuntimeError(
                f"verified {summary.events} events / {summary.leaves} leaves, expected {count}"
            )
    return best


def _sha_loop_seconds(
    db: LedgerDB, upto: int, reps: int, chunk: int = 100_000
) -> tuple[int, float]:
    """The peer: ``sha256(state).digest()`` over every stored state, read beforehand.

    States are read in chunks (the read is not timed) so memory stays bounded; each chunk's
    loop is timed ``reps`` times and the best kept.
    """
    sha256 = hashlib.sha256
    total, hashed, after = 0.0, 0, 0
    while after < upto:
        with db.read_transaction() as cur:
            states = [bytes(row[4]) for row in db.raw_events(cur, after, min(after + chunk, upto))]
        best = math.inf
        for _ in range(reps):
            t0 = clock()
            for state in states:
                sha256(state).digest()
            best = min(best, clock() - t0)
        total += best
        hashed += len(states)
        after += chunk
    return hashed, total


def verify(ctx: Context) -> Iterator[Figure]:
    s = sizes(ctx)
    settings, meta = _cached_store(ctx, "ledger-store", s.store, sealed=True)
    try:
        seconds = _verify_seconds(settings, s.store, s.reps)
    except StoreVerificationFailed as exc:
        # A store cached by older code may no longer verify: rebuild it once, then retry.
        ctx.note(f"the cached store did not verify ({exc}); rebuilding it")
        shutil.rmtree(settings.data.parent)
        settings, meta = _cached_store(ctx, "ledger-store", s.store, sealed=True)
        seconds = _verify_seconds(settings, s.store, s.reps)
    ctx.note(_build_note("verified", meta))
    db = ledger_db(settings)
    with db.read_transaction() as cur:
        last = db.last_leaf(cur)
    assert last is not None
    hashed, peer_seconds = _sha_loop_seconds(db, last.notification_id, s.reps)
    if hashed != s.store:
        raise RuntimeError(f"the SHA-256 loop saw {hashed} states, expected {s.store}")
    yield Figure(
        name="verify_store_1m",
        value=s.store / seconds,
        unit="events/s",
        what=(
            f"tools.verify_store.verify_store (OK) on a sealed SQLite store of {s.store:,} "
            f"AccessDenial events, {os.cpu_count()} workers, everything from the database "
            f"read included; best of {s.reps}"
        ),
        peer=(
            "bare loop `for state in states: hashlib.sha256(state).digest()` over the same "
            "stored state bytes, one thread, states read from the database beforehand "
            "(read not timed; no leaf header, chain, tree or checkpoint work)"
        ),
        peer_value=hashed / peer_seconds,
        target=">= 500,000 events/s",
    )


# 3. Inclusion proofs at 1,000,000 leaves ---------------------------------------------------


def _timed_proofs(
    make: Callable[[int], T], indices: list[int], budget: float
) -> tuple[list[float], list[T]]:
    """Time ``make(index)`` per index, stopping once ``budget`` seconds of proofs were spent."""
    times: list[float] = []
    made: list[T] = []
    spent = 0.0
    for index in indices:
        t0 = clock()
        made.append(make(index))
        times.append(clock() - t0)
        spent += times[-1]
        if spent >= budget:
            break
    return times, made


def _our_proofs(
    db: LedgerDB, size: int, indices: list[int], root: bytes, budget: float
) -> list[float]:
    """Plan + one node fetch + fold per proof, in one open read transaction; then check them."""
    with db.read_transaction() as cur:

        def make(index: int) -> list[bytes]:
            plan = merkle.inclusion_plan(index, size)
            nodes = db.get_nodes(cur, [ref for group in plan for ref in group])
            return [merkle.fold([nodes[ref] for ref in group]) for group in plan]

        times, proofs = _timed_proofs(make, indices, budget)
        done = indices[: len(times)]
        leaves = db.get_nodes(cur, [(0, i) for i in done])
    for index, path in zip(done, proofs, strict=True):  # not timed: they must be right
        merkle.verify_inclusion(leaves[(0, index)], index, size, path, root)
    return times


def _fresh_transaction_proofs(
    db: LedgerDB, size: int, indices: list[int], budget: float
) -> list[float]:
    """The same, each in a read transaction of its own (a connection per proof)."""

    def make(index: int) -> list[bytes]:
        with db.read_transaction() as cur:
            plan = merkle.inclusion_plan(index, size)
            nodes = db.get_nodes(cur, [ref for group in plan for ref in group])
        return [merkle.fold([nodes[ref] for ref in group]) for group in plan]

    return _timed_proofs(make, indices, budget)[0]


def _ledger_api_proofs(settings: Settings, indices: list[int], budget: float) -> list[float]:
    """``Ledger.inclusion_proof``: fresh checkpoint, leaf lookup, proof file text. The cached
    store was built fresh, so leaf ``i`` seals notification ``i + 1``."""
    system = open_system(settings, embedded_sealing=False)
    try:
        return _timed_proofs(lambda i: system.ledger.inclusion_proof(i + 1), indices, budget)[0]
    finally:
        system.close()


def _pymerkle_tree(ctx: Context, size: int) -> Path:
    """pymerkle's SqliteTree of ``size`` 32-byte entries, cached by size (proof cost depends
    on the size only)."""
    from pymerkle import SqliteTree

    path = ctx.cache / f"pymerkle-tree-{size}.sqlite"
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    ctx.log(f"building pymerkle's SqliteTree of {size:,} entries...")
    t0 = clock()
    tree = SqliteTree(str(tmp))
    try:
        for lo in range(0, size, 100_000):
            tree.append_entries(
                [
                    hashlib.sha256(i.to_bytes(8, "big")).digest()
                    for i in range(lo, min(lo + 100_000, size))
                ]
            )
        if tree.get_size() != size:
            raise RuntimeError(f"pymerkle tree has {tree.get_size()} leaves, expected {size}")
    finally:
        tree.close()
    os.replace(tmp, path)
    ctx.log(f"built pymerkle's SqliteTree of {size:,} entries in {clock() - t0:.1f} s (cached)")
    return path


def _pymerkle_cold_then_warm(
    path: Path, size: int, indices: list[int]
) -> tuple[list[float], list[float]]:
    """One tree object: a first pass (cold subroot cache), then a second, warm, pass."""
    from pymerkle import SqliteTree

    tree = SqliteTree(str(path))
    try:
        passes = [
            _timed_proofs(lambda i: tree.prove_inclusion(i + 1, size), indices, math.inf)[0]
            for _ in range(2)
        ]  # pymerkle counts leaves from one
        return passes[0], passes[1]
    finally:
        tree.close()


def proof(ctx: Context) -> Iterator[Figure]:
    s = sizes(ctx)
    settings, _ = _cached_store(ctx, "ledger-store", s.store, sealed=True)
    db = ledger_db(settings)
    verifier = read_verifier(settings.log_vkey_path)
    with db.read_transaction() as cur:
        size = db.tree_size(cur)
        row = db.checkpoint_at(cur, size)
    if row is None:
        raise RuntimeError(f"no checkpoint at the tree size {size}")
    root = open_checkpoint(row.note, verifier).root_hash
    indices = random.Random(SEED).sample(range(size), min(s.proofs, size))

    ours = _our_proofs(db, size, indices, root, s.proof_seconds)
    measured = indices[: len(ours)]  # the peer proves exactly the same leaves
    cold, warm = _pymerkle_cold_then_warm(_pymerkle_tree(ctx, size), size, measured)
    fresh = _fresh_transaction_proofs(db, size, indices, s.proof_seconds / 3)
    api = _ledger_api_proofs(settings, indices[:20], s.proof_seconds / 3)

    def stats(times: list[float]) -> str:
        return (
            f"{median(times) * 1000:.3f} / {percentile(times, 99) * 1000:.3f} ms (n={len(times)})"
        )

    ctx.note(
        f"proofs at {size:,} leaves, median / p99 — ours in one read transaction "
        f"{stats(ours)}; ours with a read transaction each {stats(fresh)}; the whole "
        f"Ledger.inclusion_proof (checkpoint, lookups, proof file) {stats(api)}; pymerkle "
        f"cold pass {stats(cold)}, first proof {cold[0] * 1000:.0f} ms; pymerkle warm pass "
        f"{stats(warm)}"
    )
    if len(ours) < len(indices):
        ctx.note(
            f"our proofs stopped after {len(ours)} of {len(indices)} leaves: "
            f"the {s.proof_seconds:.0f} s budget was spent"
        )
    what = (
        f"over {len(ours):,} random leaves of a {size:,}-leaf sealed SQLite store (stops "
        f"early after {s.proof_seconds:.0f} s of proofs): merkle.inclusion_plan + one "
        "LedgerDB.get_nodes + fold, in an open read transaction (a transaction per proof "
        "costs more, see the run's notes)"
    )
    peer = (
        f"pymerkle 7 SqliteTree.prove_inclusion on a {size:,}-entry tree (our leaf hashes as "
        "entries), the same leaves, its subroot cache warmed by one untimed pass over them "
        "(its best case)"
    )
    for name, pick, label in (
        ("inclusion_proof_1m", median, "median"),
        ("inclusion_proof_1m_p99", lambda t: percentile(t, 99), "p99"),
    ):
        yield Figure(
            name=name,
            value=pick(ours) * 1000,
            unit=f"ms per proof, {label}",
            what=what,
            peer=peer,
            peer_value=pick(warm) * 1000,
            lower_is_better=True,
            target="<= 1 ms",
        )


# 4. Tree appends against pymerkle's SqliteTree ---------------------------------------------


def _leaf_inputs(settings: Settings) -> list[bytes]:
    db = ledger_db(settings)
    with db.read_transaction() as cur:
        return [record.leaf_input() for batch in db.iter_records(cur) for record in batch]


def _expected_root(entries: list[bytes]) -> bytes:
    frontier = merkle.Frontier()
    for entry in entries:
        frontier.append(merkle.leaf_hash(entry))
    return frontier.root()


def _sealer_appends(source: Settings, scratch: Path, count: int, root: bytes) -> float:
    """``Sealer.catch_up`` over a copy of the unsealed store (the copy is not timed)."""
    target = scratch / "events.sqlite"
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(source.events_path) + suffix)
        if src.exists():
            shutil.copyfile(src, str(target) + suffix)
    db = SQLiteLedgerDB(str(target))
    sealer = Sealer(db)
    t0 = clock()
    sealed = sealer.catch_up()
    seconds = clock() - t0
    if sealed != count:
        raise RuntimeError(f"the sealer sealed {sealed} events, expected {count}")
    with db.read_transaction() as cur:  # not timed: it must have built the right tree
        if merkle.root(count, lambda refs: db.get_nodes(cur, refs)) != root:
            raise RuntimeError("the sealer's tree does not have the expected root")
    return seconds


def _tree_appends(path: Path, entries: list[bytes], batch: int, root: bytes) -> float:
    """Our tree appends from the same in-memory leaf inputs as pymerkle's: leaf hashes, chain
    values and the tiles, through ``LedgerDB.append``, a transaction per batch."""
    db = SQLiteLedgerDB(str(path))
    db.ensure_schema()
    digest = methodcaller("digest")
    chain = bytes(32)
    t0 = clock()
    for start in range(0, len(entries), batch):
        inputs = map(b"\x00".__add__, entries[start : start + batch])
        leaves = list(map(digest, map(hashlib.sha256, inputs)))
        chains = chain_values(chain, leaves)
        chain = chains[-1]
        with db.write_transaction() as cur:
            db.append(cur, start, leaves, list(range(start + 1, start + len(leaves) + 1)), chains)
    seconds = clock() - t0
    with db.read_transaction() as cur:  # not timed: it must have built the right tree
        if merkle.root(len(entries), lambda refs: db.get_nodes(cur, refs)) != root:
            raise RuntimeError("our tree does not have the expected root")
    return seconds


def _pymerkle_appends(path: Path, entries: list[bytes], batch: int) -> float:
    from pymerkle import SqliteTree

    tree = SqliteTree(str(path))
    try:
        tree.con.execute("PRAGMA journal_mode=WAL")  # the same journal as our ledger's SQLite
        t0 = clock()
        for start in range(0, len(entries), batch):
            tree.append_entries(entries[start : start + batch])  # one transaction each
        seconds = clock() - t0
        if tree.get_size() != len(entries):
            raise RuntimeError("pymerkle lost entries")
        return seconds
    finally:
        tree.close()


def tree(ctx: Context) -> Iterator[Figure]:
    s = sizes(ctx)
    settings, meta = _cached_store(ctx, "ledger-events", s.tree, sealed=False)
    ctx.note(_build_note("tree-append source (unsealed)", meta))
    entries = _leaf_inputs(settings)
    if len(entries) != s.tree:
        raise RuntimeError(f"read {len(entries)} events, expected {s.tree}")
    root = _expected_root(entries)
    batch = Sealer(SQLiteLedgerDB(":memory:")).batch_size  # the sealer's transaction size
    times: dict[str, list[float]] = {"tree": [], "sealer": [], "pymerkle": []}
    for trial in range(s.short_trials):
        order = ("tree", "sealer", "pymerkle")
        for who in order if trial % 2 == 0 else order[::-1]:
            gc.collect()  # every side starts its trial with nothing to collect
            with ctx.scratch() as scratch:
                if who == "sealer":
                    seconds = _sealer_appends(settings, scratch, s.tree, root)
                elif who == "tree":
                    seconds = _tree_appends(scratch / "tree.sqlite", entries, batch, root)
                else:
                    seconds = _pymerkle_appends(scratch / "pymerkle.sqlite", entries, batch)
            times[who].append(seconds)
    ctx.log(
        "seconds per trial: "
        + "; ".join(f"{k} {'/'.join(f'{v:.2f}' for v in vs)}" for k, vs in times.items())
    )
    avg = sum(map(len, entries)) / len(entries)
    peer = (
        f"pymerkle 7 SqliteTree.append_entries of the same {s.tree:,} leaf inputs (~{avg:.0f} "
        f"B each, already in memory) in groups of {batch:,}, one transaction each, on a "
        "fresh SQLite file in WAL mode like ours; it stores entry + leaf hash and computes "
        "interior nodes only when asked for a root or proof"
    )
    yield Figure(
        name="tree_append",
        value=s.tree / min(times["tree"]),
        unit="appends/s",
        what=(
            f"{s.tree:,} leaf inputs already in memory appended to our stored tree: leaf hash, "
            "chain value, entries rows and tiles (interior nodes at every 8th level) through "
            f"LedgerDB.append, a transaction per {batch:,}; best of {s.short_trials} trials "
            "interleaved with the peer, fresh SQLite file each"
        ),
        peer=peer,
        peer_value=s.tree / min(times["pymerkle"]),
        target="ratio >= 2",
    )
    yield Figure(
        name="tree_append_sealer",
        value=s.tree / min(times["sealer"]),
        unit="appends/s",
        what=(
            f"Sealer.catch_up over {s.tree:,} AccessDenial events stored unsealed in a SQLite "
            "file (reading them, leaf hash, chain value, tree and ledger rows, as stored by "
            f"the ledger; a transaction per {batch:,}, the sealer's batch); best of "
            f"{s.short_trials} trials interleaved with the peer, on a fresh copy each"
        ),
        peer=peer,
        peer_value=s.tree / min(times["pymerkle"]),
        target="none (includes reading the events back, which pymerkle never does)",
    )


PARTS = {
    "append": Part(
        figures=(
            "append_sealed_sqlite_single",
            "append_sealed_sqlite_batch100",
            "append_sealed_postgres_single",
            "append_sealed_postgres_batch100",
        ),
        run=append,
    ),
    "verify": Part(figures=("verify_store_1m",), run=verify),
    "proof": Part(figures=("inclusion_proof_1m", "inclusion_proof_1m_p99"), run=proof),
    "tree": Part(figures=("tree_append", "tree_append_sealer"), run=tree),
}
