"""Kleber data directories with many datasets, for scenarios f and g.

Kleber has no publishing API yet (a later issue), so the datasets are made the only way a user
can: one `kleber import` process per dataset (IMPORT_JOBS at a time; publications take the data
directory's write lock, so they commit one after the other). `kleber import` sets the title
only; the descriptions, publishers, themes and keywords that the catalog search indexes are
then written into catalog.sqlite's `datasets` rows (`description`, `metas`) and the catalog
generation is bumped, which is what the publishing API will do. How long the setup took is kept
beside the directory (kleber_catalog_N.setup.json) and reported by the scenarios.

A directory is reused on later runs; a larger one starts from a copy of the largest smaller one.
CATALOG_SETUP_BUDGET_S (default 1500) bounds the imports: past it, the catalog keeps the
datasets made so far, and the scenarios say how many.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import common as c

IMPORT_JOBS = max(1, int(os.environ.get("IMPORT_JOBS", "2")))
BUDGET_S = float(os.environ.get("CATALOG_SETUP_BUDGET_S", "1500"))


def source(count):
    """The generated descriptions and tiny files, at least `count` of them."""
    src = c.OUT / "catalog_src"
    listing = src / "catalog.jsonl"
    if not listing.exists() or sum(1 for _ in open(listing, encoding="utf-8")) < count:
        c.log(f"generating {count} dataset descriptions and files into {src} ...")
        shutil.rmtree(src, ignore_errors=True)
        subprocess.run([sys.executable, str(c.BENCH / "gen_catalog.py"), str(count), str(src)],
                       check=True)
    with open(listing, encoding="utf-8") as f:
        return [json.loads(line) for _, line in zip(range(count), f)]


def setup_file(count):
    return c.OUT / f"kleber_catalog_{count}.setup.json"


def existing(data_dir):
    db = data_dir / "catalog.sqlite"
    if not db.exists():
        return set()
    con = sqlite3.connect(db)
    try:
        return {row[0] for row in con.execute(
            "SELECT id FROM datasets WHERE current_version IS NOT NULL")}
    finally:
        con.close()


def import_all(entries, data_dir, budget_s):
    """Imports the entries not yet in data_dir, IMPORT_JOBS processes at a time.
    Returns (seconds, imported, per-import seconds)."""
    todo = [e for e in entries if e["dataset_id"] not in existing(data_dir)]
    binary = c.kleber_bin()
    started = time.perf_counter()
    running, durations, done = [], [], 0
    # The first import into a new directory runs alone: two `kleber import` creating the same
    # catalog at once race in its schema migration (see BENCHMARKS.md).
    fresh = not (data_dir / "catalog.sqlite").exists()
    while todo or running:
        jobs = 1 if fresh and done == 0 else IMPORT_JOBS
        while todo and len(running) < jobs and time.perf_counter() - started < budget_s:
            e = todo.pop(0)
            cmd = [binary, "import", e["file"], "--dataset", e["dataset_id"], "--title",
                   e["title"], "--data-dir", str(data_dir)]
            running.append((subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE), time.perf_counter()))
        if not running:
            break  # budget spent
        proc, t0 = running.pop(0)
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"kleber import failed: {err.decode()[-1000:]}")
        durations.append(time.perf_counter() - t0)
        done += 1
        if done % 500 == 0:
            rate = done / (time.perf_counter() - started)
            c.log(f"  {done} imports, {rate:.1f}/s")
    return time.perf_counter() - started, done, durations


def describe(data_dir, entries):
    """Writes descriptions and metadata into the catalog; one transaction, one generation."""
    con = sqlite3.connect(data_dir / "catalog.sqlite")
    try:
        with con:
            by_id = {e["dataset_id"]: e for e in entries}
            rows = con.execute("SELECT id, metas FROM datasets").fetchall()
            for dataset_id, metas in rows:
                e = by_id.get(dataset_id)
                if e is None:
                    continue
                m = json.loads(metas or "{}")
                m.update(publisher=e["publisher"], theme=e["theme"], keyword=e["keyword"])
                con.execute("UPDATE datasets SET description = ?, metas = ? WHERE id = ?",
                            (e["description"], json.dumps(m, ensure_ascii=False), dataset_id))
            con.execute("UPDATE generation SET n = n + 1")
    finally:
        con.close()


def catalog_dir(count):
    """A data directory with `count` described datasets (fewer if the budget ran out); returns
    (path, setup facts)."""
    target = c.OUT / f"kleber_catalog_{count}"
    facts_path = setup_file(count)
    if target.exists() and facts_path.exists():
        return target, json.loads(facts_path.read_text())
    entries = source(count)
    work = target.with_name(target.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    # Start from the largest complete smaller catalog, if any.
    base, base_facts = None, None
    for facts_file in c.OUT.glob("kleber_catalog_*.setup.json"):
        facts = json.loads(facts_file.read_text())
        smaller = c.OUT / f"kleber_catalog_{facts['requested']}"
        if facts["requested"] < count and facts["datasets"] == facts["requested"] \
                and smaller.exists() and (base_facts is None
                                          or facts["requested"] > base_facts["requested"]):
            base, base_facts = smaller, facts
    if base is not None:
        c.log(f"copying {base} as a start")
        shutil.copytree(base, work)
    c.log(f"importing up to {count} datasets into {work} ({IMPORT_JOBS} at a time) ...")
    seconds, imported, durations = import_all(entries, work, BUDGET_S)
    started = time.perf_counter()
    describe(work, entries)
    describe_s = time.perf_counter() - started
    have = len(existing(work))
    du = sum(f.stat().st_size for f in work.rglob("*") if f.is_file())
    prior = base_facts["import_seconds_total"] if base_facts else 0.0
    prior_n = base_facts["datasets"] if base_facts else 0
    facts = {
        "requested": count, "datasets": have, "import_jobs": IMPORT_JOBS,
        "imports_this_time": imported, "import_seconds_this_time": round(seconds, 1),
        "import_seconds_total": round(prior + seconds, 1),
        "imports_per_second": round((prior_n + imported) / max(prior + seconds, 1e-9), 1),
        "import_median_ms": round(c.median(durations) * 1000, 1) if durations else None,
        "describe_seconds": round(describe_s, 2), "disk_mb": round(du / 1e6, 1),
        "budget_s": BUDGET_S, "budget_exhausted": have < count,
        "made": time.strftime("%Y-%m-%d %H:%M:%S"), "load_after": c.load(),
    }
    work.rename(target)
    facts_path.write_text(json.dumps(facts, indent=1))
    c.log(f"  catalog setup: {facts}")
    return target, facts
