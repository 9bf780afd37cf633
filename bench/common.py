"""What every scenario shares: paths and sizes, the data sets, the servers, the measures and the
results file.

The scenarios run under the peers' virtual environment (bench/.venv, made by run.sh), so that
`import duckdb` works; everything else is the standard library.
"""

import atexit
import http.client
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = Path(os.environ.get("BENCH_OUT") or BENCH / "out").resolve()
VENV = BENCH / ".venv"
LOGS = OUT / "logs"
RESULTS = OUT / "results"

ROWS = int(os.environ.get("ROWS", "2000000"))
REPEATS = max(1, int(os.environ.get("REPEATS", "3")))
WRK_DURATION = max(1, int(os.environ.get("WRK_DURATION", "10")))
WRK_CONNECTIONS = 16
# Kleber's --query-timeout is 30 s; Datasette gets the same limit instead of its 1 s default,
# so that both answer the same heavy queries, and no cap on CSV exports instead of its 100 MB
# default, so that both export the whole table (settings of the server, not of the dataset).
DATASETTE_TIME_LIMIT_MS = 30000

for d in (OUT, LOGS, RESULTS):
    d.mkdir(parents=True, exist_ok=True)


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# Tools


def venv_bin(name):
    return str(VENV / "bin" / name)


def kleber_bin(build=True):
    """The release build of `kleber`: $KLEBER_BIN, else target/release under $CARGO_TARGET_DIR
    (or the repository's `target`), built first when missing (if `build`)."""
    explicit = os.environ.get("KLEBER_BIN")
    if explicit:
        return explicit
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    if not target.is_absolute():
        target = REPO / target
    path = target / "release" / "kleber"
    if not path.exists() and build:
        log(f"building {path} (cargo build --release -p kleber-server) ...")
        subprocess.run(["cargo", "build", "--release", "-p", "kleber-server"], cwd=REPO, check=True)
    return str(path)


def tool_versions():
    versions = {}
    try:
        out = subprocess.run([kleber_bin(build=False), "--version"], capture_output=True,
                             text=True).stdout
        versions["kleber"] = out.strip()
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "crates"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        versions["commit"] = commit + (" (crates/ modified)" if dirty else "")
    except OSError:
        pass
    for name in ("datasette", "sqlite-utils", "duckdb"):
        try:
            from importlib.metadata import version
            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing peer only leaves its version out
            pass
    try:
        import sqlite3
        versions["sqlite"] = sqlite3.sqlite_version
    except ImportError:
        pass
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
        versions["wrk"] = (out.stdout + out.stderr).split()[1]
    except OSError:
        pass
    return versions


def binary_facts():
    """Which Kleber binary a scenario ran: its path and build time, and the commit checked
    out when the scenario ran (the binary may be older than the checkout)."""
    path = Path(kleber_bin(build=False))
    if not path.exists():
        return f"{path} (missing)"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    built = time.strftime("%Y-%m-%d %H:%M", time.gmtime(path.stat().st_mtime))
    return f"{path} built {built} UTC, checkout {commit}"


def machine():
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem_gib,
            "kernel": platform.release(), "python": platform.python_version()}


# ---------------------------------------------------------------------------------------------
# Processes and servers: every child is in its own process group, stopped at exit or on a signal.

_servers = []


def _stop_all(*_):
    for server in list(_servers):
        server.stop()


def _on_signal(signum, _frame):
    _stop_all()
    sys.exit(128 + signum)


atexit.register(_stop_all)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on 127.0.0.1:port, ready when `ready_path` answers 200."""

    def __init__(self, name, cmd, port, ready_path, env=None):
        self.name, self.cmd, self.port, self.ready_path = name, cmd, port, ready_path
        self.env = env
        self.proc = None
        self.startup_s = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=120):
        logfile = open(LOGS / f"{self.name}-{self.port}.log", "wb")
        env = dict(os.environ, **(self.env or {}))
        started = time.perf_counter()
        self.proc = subprocess.Popen(self.cmd, stdout=logfile, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        logfile.close()
        _servers.append(self)
        with open(OUT / "servers.pids", "a") as pids:
            pids.write(f"{self.proc.pid}\n")
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {LOGS}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", self.ready_path)
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    self.startup_s = time.perf_counter() - started
                    return self
            except OSError:
                pass
            time.sleep(0.003)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout} s")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
            except ProcessLookupError:
                pass
        if self in _servers:
            _servers.remove(self)

    def cpu(self):
        """CPU seconds (user + system) used so far by the server's process group."""
        return group_cpu(self.proc.pid)

    def memory(self):
        """Resident set (VmRSS) and its peak (VmHWM) in MiB, summed over the process group."""
        return group_memory(self.proc.pid)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def group_memory(pgid):
    rss = hwm = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
        except (OSError, ValueError):
            continue
    return rss / 1024, hwm / 1024


_TICK = os.sysconf("SC_CLK_TCK")


def group_cpu(pgid):
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pgid:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError, IndexError):
            continue
    return total / _TICK


def kleber_server(data_dir, port=None, ready_path="/api/explore/v2.1/catalog/datasets?limit=1",
                  cache=True):
    """Kleber serving data_dir. cache=False turns the response cache off
    (--result-cache-mb 0), so every request runs its query: the cold-path figures."""
    port = port or free_port()
    args = [kleber_bin(), "serve", "--data-dir", str(data_dir), "--addr", f"127.0.0.1:{port}"]
    if not cache:
        args += ["--result-cache-mb", "0"]
    # KLEBER_SERVE_ARGS: extra `serve` flags, e.g. `--memory-tables-mb 0` for a before/after.
    args += os.environ.get("KLEBER_SERVE_ARGS", "").split()
    return Server("kleber" if cache else "kleber-uncached", args, port, ready_path)


def datasette_server(db_path, port=None):
    port = port or free_port()
    return Server("datasette", [venv_bin("datasette"), "serve", str(db_path), "-h", "127.0.0.1",
                                "-p", str(port), "--setting", "sql_time_limit_ms",
                                str(DATASETTE_TIME_LIMIT_MS), "--setting", "max_csv_mb", "0"],
                  port, "/-/versions.json")


# ---------------------------------------------------------------------------------------------
# Measures


def wrk_side_by_side(kleber, kleber_path, datasette, datasette_path, rps_digits=1):
    """Runs wrk REPEATS times against Kleber then Datasette, alternating, and returns the runs
    and the medians of req/s (2xx), p50 latency and server CPU per request, by tool."""
    runs = {"kleber": [], "datasette": []}
    for r in range(REPEATS):
        for name, server, path in (("kleber", kleber, kleber_path),
                                   ("datasette", datasette, datasette_path)):
            out = wrk(f"http://127.0.0.1:{server.port}{path}", server=server)
            runs[name].append(out)
            log(f"  run {r + 1}: {name} {out['ok_rps']:.{rps_digits}f} req/s ok, "
                f"p50 {out['p50_ms']:.{rps_digits + 1}f} ms, non-2xx {out['non2xx']}, "
                f"errors {out['errors']}")
    med = {k: median([o["ok_rps"] for o in v]) for k, v in runs.items()}
    p50 = {k: median([o["p50_ms"] for o in v]) for k, v in runs.items()}
    cpu = {k: median([o["cpu_ms"] for o in v]) for k, v in runs.items()}
    return runs, med, p50, cpu


def median(values):
    return statistics.median(values)


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def timed(cmd, **kwargs):
    """Runs a command to completion; returns (seconds, CompletedProcess) and sets the
    process's CPU time (user + system, of it and its children) as `proc.cpu_s`. Fails loudly."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc.cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n"
                           f"{proc.stderr[-2000:]}")
    return elapsed, proc


class Client:
    """Sequential GETs on one keep-alive connection."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def get(self, path):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                started = time.perf_counter()
                self.conn.request("GET", path)
                response = self.conn.getresponse()
                body = response.read()
                return response.status, body, time.perf_counter() - started
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get_ok(self, path):
        status, body, seconds = self.get(path)
        if status != 200:
            raise RuntimeError(f"GET {path} -> {status}: {body[:500]!r}")
        return body, seconds

    def close(self):
        if self.conn is not None:
            self.conn.close()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def wrk(url, duration=None, connections=WRK_CONNECTIONS, threads=2, server=None):
    """Throughput of GET url at `connections` connections for `duration` seconds.
    Only 2xx answers count in `ok_rps`; errors and non-2xx are reported beside it. With
    `server`, also the server's CPU milliseconds per request (`cpu_ms`), a measure that the
    other loads of a shared machine disturb much less than throughput."""
    duration = duration or WRK_DURATION
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
           "--latency", url]
    cpu_before = server.cpu() if server else None
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120).stdout
    cpu_used = server.cpu() - cpu_before if server else None
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", out)
    if not m:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    total = int(m.group(1))
    seconds = _ms(m.group(2) + m.group(3)) / 1000
    non2xx = int(re.search(r"Non-2xx or 3xx responses: (\d+)", out).group(1)) \
        if "Non-2xx" in out else 0
    errors = 0
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if se:
        errors = sum(int(x) for x in se.groups())
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    return {"requests": total, "seconds": seconds, "non2xx": non2xx, "errors": errors,
            "cpu_ms": cpu_used * 1000 / total if cpu_used is not None and total else None,
            "ok_rps": max(0, total - non2xx) / seconds, "p50_ms": _ms(lat.get("50", "nan")),
            "p99_ms": _ms(lat.get("99", "nan"))}


def wrk_median(url, server):
    """wrk REPEATS times on one URL: the median req/s (2xx) and CPU ms per request."""
    outs = [wrk(url, server=server) for _ in range(REPEATS)]
    return (median([o["ok_rps"] for o in outs]),
            median([o["cpu_ms"] for o in outs if o["cpu_ms"] is not None] or [float("nan")]))


def load():
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------------------------------------
# Data


def _atomic(path, make):
    """Makes `path` with make(tmp_path) unless it exists; a half-made result never stays."""
    path = Path(path)
    if path.exists():
        return path
    tmp = path.with_name(path.name + ".tmp")
    if tmp.is_dir():
        shutil.rmtree(tmp)
    elif tmp.exists():
        tmp.unlink()
    make(tmp)
    tmp.rename(path)
    return path


def records_csv(rows=None):
    rows = rows or ROWS
    path = OUT / f"records_{rows}.csv"

    def make(tmp):
        log(f"generating {rows} records into {path} ...")
        subprocess.run([sys.executable, str(BENCH / "gen_records.py"), str(rows), str(tmp)],
                       check=True)
    return _atomic(path, make)


def small_csv():
    return records_csv(1000)


def kleber_import(csv, dataset, data_dir, *extra):
    return timed([kleber_bin(), "import", str(csv), "--dataset", dataset, "--data-dir",
                  str(data_dir), *extra])


def kleber_dir(rows=None, dataset="records"):
    """A Kleber data directory holding `rows` records as dataset `dataset` (default import)."""
    rows = rows or ROWS
    return _atomic(OUT / f"kleber_{dataset}_{rows}",
                   lambda tmp: kleber_import(records_csv(rows), dataset, tmp))


def sqlite_db(rows=None, table="records"):
    """An SQLite file holding `rows` records as table `table`, as `sqlite-utils insert --csv`
    makes it by default (types detected, no index). Datasette names the database after the
    file, so the file is <table>.db in its own directory."""
    rows = rows or ROWS
    directory = OUT / f"sqlite_{table}_{rows}"

    def make(tmp):
        tmp.mkdir()
        sqlite_utils_insert(records_csv(rows), tmp / f"{table}.db", table)
    _atomic(directory, make)
    return directory / f"{table}.db"


def sqlite_utils_insert(csv, db, table):
    return timed([venv_bin("sqlite-utils"), "insert", str(db), table, str(csv), "--csv",
                  "--delimiter", ";"])


DUCKDB_COPY = "COPY (SELECT * FROM read_csv('{csv}')) TO '{parquet}' (FORMAT parquet)"


def duckdb_copy(csv, parquet):
    code = f"import duckdb; duckdb.sql({DUCKDB_COPY.format(csv=csv, parquet=parquet)!r})"
    return timed([sys.executable, "-c", code])


def duckdb_parquet(rows=None):
    rows = rows or ROWS
    return _atomic(OUT / f"duckdb_records_{rows}.parquet",
                   lambda tmp: duckdb_copy(records_csv(rows), tmp))


def kleber_parquet(data_dir):
    files = sorted(Path(data_dir).glob("datasets/*/v*/data.parquet"))
    return files[-1] if files else None


# ---------------------------------------------------------------------------------------------
# Results: one JSON file per scenario under out/results, assembled by report.py.


def wait_clustered_copy(data_dir, trigger, timeout=600):
    """Sends `trigger()` (one filtered query) and waits until every version of `data_dir` has
    its clustered copy, or is settled without one (`clustered.none`): Kleber builds it in the
    background on a large version's first query (`--clustered-min-rows`). Returns the seconds
    waited, or None when the server builds none (the flag at 0, or an older binary)."""
    versions = [p.parent for p in Path(data_dir).glob("datasets/*/v*/data.parquet")]
    settled = lambda: all((v / "clustered.parquet").exists() or (v / "clustered.none").exists()
                          for v in versions)
    started = time.perf_counter()
    trigger()
    while not settled():
        if time.perf_counter() - started > timeout:
            return None
        if time.perf_counter() - started > 15 and not list(Path(data_dir).glob(
                "datasets/*/v*/.clustered.parquet.*.partial")):
            # Nothing is being written after 15 s: this server builds no copy.
            return None
        time.sleep(0.1)
    return time.perf_counter() - started


def note_clustered_copy(res, data_dir, trigger):
    """Waits for the clustered copy ([`wait_clustered_copy`]) and says so in `res`."""
    built = wait_clustered_copy(data_dir, trigger)
    if built is None:
        res.note("Kleber's clustered copy: none (not built by this binary, or turned off)")
    elif built < 0.2:
        res.note("Kleber's clustered copy: already on disk")
    else:
        res.note(f"Kleber's clustered copy: built in the background in {built:.1f} s after "
                 "the first query, before the timed requests")


def fmt(value, digits=3):
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


class Results:
    def __init__(self, scenario, title):
        self.scenario, self.title = scenario, title
        self.rows, self.notes = [], []
        self.started = time.time()
        self.load_before = load()
        log(f"\n=== {scenario}. {title} (ROWS={ROWS}, load {self.load_before}) ===")

    def add(self, measure, kleber, peers="", ratio="", target="", met=None):
        """One line of the table. `kleber` and `peers` are display strings; `met` is True,
        False or None (no target on this line)."""
        row = {"scenario": self.scenario, "measure": measure, "kleber": kleber, "peers": peers,
               "ratio": ratio, "target": target, "met": met}
        self.rows.append(row)
        verdict = {True: "MET", False: "MISSED", None: ""}[met]
        log(f"  {measure}: Kleber {kleber} | {peers} | {ratio} | {target} {verdict}")

    def note(self, text):
        self.notes.append(text)
        log(f"  note: {text}")

    def save(self):
        data = {"scenario": self.scenario, "title": self.title, "rows": self.rows,
                "notes": self.notes, "rows_setting": ROWS, "repeats": REPEATS,
                "load_before": self.load_before, "load_after": load(),
                "seconds": round(time.time() - self.started, 1),
                "kleber_binary": binary_facts(),
                "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        (RESULTS / f"{self.scenario}.json").write_text(json.dumps(data, indent=1,
                                                                  ensure_ascii=False))
