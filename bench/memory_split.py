"""Where the server's memory goes in scenario m's memory target (issue 17), one part at a time.

    bench/.venv/bin/python bench/memory_split.py idle     # after start, one page, one filtered page
    bench/.venv/bin/python bench/memory_split.py load     # the varied page load alone (15 s)
    bench/.venv/bin/python bench/memory_split.py export   # a full CSV export alone
    bench/.venv/bin/python bench/memory_split.py both     # the export under the load (scenario m)

Prints the server's resident memory and its peak (MiB, `VmRSS`/`VmHWM`). Uses the data of
scenario m (run it once first) and `KLEBER_BIN` like every scenario; the allocator's options
pass through the environment (e.g. `MIMALLOC_PURGE_DELAY=0`).
"""
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common as c  # noqa: E402
import scan17 as s  # noqa: E402

BASE = "/api/explore/v2.1/catalog/datasets/records"


def idle(ku):
    kc = c.Client(ku.port)
    print("after start", ku.memory())
    kc.get_ok(f"{BASE}/records?limit=10")
    print("after one page", ku.memory())
    kc.get_ok(f"{BASE}/records?limit=10&where=commune%3D%22Strasbourg%22&order_by=montant%20desc")
    print("after one filtered page", ku.memory())
    kc.close()


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "both"
    with c.kleber_server(c.kleber_dir(), cache=False) as ku:
        if mode == "idle":
            return idle(ku)
        load_out, loader = {}, None
        if mode in ("both", "load"):
            loader = threading.Thread(target=lambda: load_out.update(
                s.wrk_varied(ku, "kleber-page", seed=99, duration=15)))
            loader.start()
            time.sleep(1)
        if mode in ("both", "export"):
            started = time.perf_counter()
            out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{size_download}",
                                  f"http://127.0.0.1:{ku.port}{BASE}/exports/csv"],
                                 capture_output=True, text=True, check=True)
            print(f"export: {int(out.stdout):,} bytes in {time.perf_counter() - started:.1f} s")
        if loader:
            loader.join()
        rss, peak = ku.memory()
        print(f"{mode}: resident {rss:.0f} MiB, peak {peak:.0f} MiB, "
              f"load {load_out.get('ok_rps', 0):.1f} req/s")


if __name__ == "__main__":
    main()
