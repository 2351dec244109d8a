"""Scaling of ``seqgpt run``: documents/s with 1, 2, 4 extraction actors, and peak memory at
1x, 10x, 100x the corpus (it must stay flat: the pipeline streams).

    python bench/scaling.py                   # contracts + tickets, ~7 min on 2 cores
    python bench/scaling.py --quick           # tickets only, ~2-3 min
    python bench/scaling.py --sizes 1,10 --actors 1,2 --json scaling.json

The corpus at size N is N copies of the bundled samples (4 PDFs / 7 pages and 22 tickets
per copy, ticket ids made unique; see ``_common.build_corpus``).  Each run is
``pipelines.run.run_pipeline`` as ``seqgpt run`` calls it (batch 8, 256 rows per part,
default model unless ``--model``), with its own fresh local Ray (``init_ray``: at least 4
logical CPUs, so CPU actors with their default 0.5 CPU each never starve the read tasks on
a 2-core machine; each actor gets ``max(1, cores // (actors + 1))`` torch threads).  Ray's
start is not in the run's wall time.  Runs: every ``--actors`` count at size
``--actors-at``, and every ``--sizes`` at ``--memory-actors`` actors (a run in both sets
runs once), for each job in ``--jobs`` (contracts: PDFs with jobs/schemas/contracts.yaml;
tickets: JSONL with jobs/schemas/tickets.yaml).

Memory: a thread samples the resident set size (RSS, psutil) of this process (the driver)
and of every process under it -- the Ray workers (process title ``ray::...``: read/clean
and write tasks, the extraction actors) and Ray's own services (raylet, GCS, agents) --
every ``--interval`` seconds and keeps the peaks: the driver, the sum over workers, the
largest worker, the extraction actors, and everything together.  Summed RSS counts pages
shared between processes (libraries, Ray's object store) once per process: compare it
across sizes, not with the machine's memory.  Only processes on this machine are seen: run
it with local Ray (no ``RAY_ADDRESS``).  The ratio of the peaks at the largest size
to the smallest is printed: about 1.0 means flat.  So is the throughput without a run's fixed
cost (actor start, model load, Ray Data start-up): extra documents / extra seconds between
the largest and the smallest size.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT, build_corpus, in_workdir, machine, quiet_ray, write_json

JOBS = {
    "contracts": ("pdf_dir", REPO_ROOT / "jobs" / "schemas" / "contracts.yaml", "pdf"),
    "tickets": ("ticket_dir", REPO_ROOT / "jobs" / "schemas" / "tickets.yaml", "tickets"),
}
BATCH_SIZE = 8  # seqgpt run's defaults
ROWS_PER_PART = 256
MEMORY_KEYS = ("driver", "workers", "largest_worker", "actors", "total")
SYSTEM_TITLES = ("ray::DashboardAgent", "ray::RuntimeEnvAgent")  # Ray's per-node agents


class TreeMemory:
    """Peak RSS of this process and the processes under it, sampled in a thread."""

    def __init__(self, interval: float = 0.25):
        import psutil

        self.psutil = psutil
        self.root = psutil.Process()
        self.interval = interval
        self.peak = dict.fromkeys(MEMORY_KEYS, 0)
        self.workers_seen: set[int] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-memory", daemon=True)

    def _role(self, p) -> str:
        """``actor`` (an extraction actor), ``worker`` (any other Ray worker process: tasks,
        idle workers, Ray Data's helper actors) or ``system`` (raylet, GCS, dashboard and
        agents).  Read every time: a worker's title changes with what it runs."""
        title = " ".join(p.cmdline())
        if "ExtractStage" in title:
            return "actor"
        if (
            title.startswith("ray::") and not title.startswith(SYSTEM_TITLES)
        ) or "default_worker.py" in title:
            return "worker"
        return "system"

    def sample(self) -> None:
        ps = self.psutil
        now = dict.fromkeys(MEMORY_KEYS, 0)
        try:
            now["driver"] = self.root.memory_info().rss
            children = self.root.children(recursive=True)
        except ps.Error:
            return
        now["total"] = now["driver"]
        for p in children:
            try:
                rss = p.memory_info().rss
                role = self._role(p)
            except ps.Error:
                continue
            now["total"] += rss
            if role in ("worker", "actor"):
                self.workers_seen.add(p.pid)
                now["workers"] += rss
                now["largest_worker"] = max(now["largest_worker"], rss)
            if role == "actor":
                now["actors"] += rss
        for k, v in now.items():
            self.peak[k] = max(self.peak[k], v)
        self.samples += 1

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def report(self) -> dict[str, Any]:
        return {
            **{f"{k}_peak_mib": v / 2**20 for k, v in self.peak.items()},
            "worker_processes": len(self.workers_seen),
            "samples": self.samples,
        }


def one_run(job: str, corpus: dict, size: int, actors: int, out: Path, model, interval: float) -> dict:
    import ray

    from pipelines.config import ModelConfig, RunConfig
    from pipelines.run import init_ray, run_pipeline

    key, schema_file, kind = JOBS[job]
    t0 = time.perf_counter()
    started = init_ray()
    ray_start = time.perf_counter() - t0
    try:
        with TreeMemory(interval) as mem:
            config = RunConfig(
                corpus[key],
                str(out),
                str(schema_file),
                model=ModelConfig(model),
                actors=actors,
                gpus_per_actor=0,
                batch_size=BATCH_SIZE,
                rows_per_part=ROWS_PER_PART,
                kind=kind,
            )
            s = run_pipeline(config, echo=lambda line: None)
    finally:
        if started:
            ray.shutdown()
    return {
        "job": job,
        "size": size,
        "actors": actors,
        "documents": s.documents,
        "rows": s.rows,
        "quarantined": sum(s.quarantined.values()),
        "pages": s.pages,
        "seconds": s.seconds,
        "docs_per_s": s.docs_per_s,
        "pages_per_s": s.pages_per_s,
        "ray_start_s": ray_start,
        "model": s.model,
        **mem.report(),
    }


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="bench/scaling.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="tickets only (about 3 minutes on 2 cores)")
    ap.add_argument("--jobs", default=None, help="contracts and/or tickets [both; tickets with --quick]")
    ap.add_argument("--sizes", default="1,10,100", help="corpus sizes in copies of the samples [1,10,100]")
    ap.add_argument("--actors", default="1,2,4", help="extraction actor counts [1,2,4]")
    ap.add_argument("--actors-at", type=int, default=10, help="corpus size of the actor runs [10]")
    ap.add_argument("--memory-actors", type=int, default=1, help="actors in the size runs [1]")
    ap.add_argument("--model", default=None, help="hub id or model folder [the bundled default]")
    ap.add_argument("--interval", type=float, default=0.25, help="memory sampling period in s [0.25]")
    ap.add_argument("--workdir", default=None, help="where corpora and outputs go [a temporary folder]")
    ap.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    args = ap.parse_args(argv)
    args.jobs = args.jobs or ("tickets" if args.quick else "contracts,tickets")
    try:
        args.size_list = sorted({int(x) for x in args.sizes.split(",") if x.strip()})
        args.actor_list = sorted({int(x) for x in args.actors.split(",") if x.strip()})
    except ValueError:
        ap.error("--sizes and --actors are comma lists of integers, e.g. 1,10,100")
    args.job_list = [j.strip() for j in args.jobs.split(",") if j.strip()]
    if set(args.job_list) - set(JOBS) or not args.job_list:
        ap.error(f"--jobs is a list of {', '.join(JOBS)}")
    if not args.size_list or not args.actor_list or min(args.size_list + args.actor_list) < 1:
        ap.error("--sizes and --actors need positive integers")
    if args.actors_at < 1 or args.memory_actors < 1:
        ap.error("--actors-at and --memory-actors must be at least 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    return in_workdir(args.workdir, "seqgpt-bench-scaling-", lambda work: _main(args, work))


def _main(args, work: Path) -> int:
    m = machine()
    quiet_ray()
    plan = sorted(
        {(args.actors_at, a) for a in args.actor_list} | {(s, args.memory_actors) for s in args.size_list}
    )
    corpora: dict[int, dict] = {}
    pdfs, tickets = "contracts" in args.job_list, "tickets" in args.job_list
    for size in sorted({s for s, _ in plan}):
        corpora[size] = build_corpus(work / f"in-{size}", size, pdfs=pdfs, tickets=tickets)
    print(
        f"# bench/scaling.py on {m['cpu']} ({m['cores']} cores), {m['date']}; jobs: {', '.join(args.job_list)}"
    )
    print(
        f"{'job':<10} {'size':>5} {'actors':>6} {'docs':>6} {'wall s':>7} {'docs/s':>7}  "
        f"{'peak RSS MiB: driver':>20} {'workers':>8} {'largest':>8} {'actors':>7} {'total':>7} {'procs':>5}"
    )
    runs = []
    for job in args.job_list:
        for size, actors in plan:
            r = one_run(
                job,
                corpora[size],
                size,
                actors,
                work / f"out-{job}-{size}-{actors}",
                args.model,
                args.interval,
            )
            runs.append(r)
            q = f"  ({r['quarantined']} quarantined)" if r["quarantined"] else ""
            print(
                f"{job:<10} {size:>4}x {actors:>6} {r['documents']:>6} {r['seconds']:>7.1f} {r['docs_per_s']:>7.2f}  "
                f"{r['driver_peak_mib']:>20.0f} {r['workers_peak_mib']:>8.0f} {r['largest_worker_peak_mib']:>8.0f} "
                f"{r['actors_peak_mib']:>7.0f} {r['total_peak_mib']:>7.0f} {r['worker_processes']:>5}{q}",
                flush=True,
            )

    summary: dict[str, Any] = {"actors": {}, "memory": {}}
    print(f"\nmodel: {runs[0]['model']}")
    for job in args.job_list:
        by = {(r["size"], r["actors"]): r for r in runs if r["job"] == job}
        one = by.get((args.actors_at, args.actor_list[0]))
        speed = {a: by[(args.actors_at, a)]["docs_per_s"] for a in args.actor_list}
        summary["actors"][job] = {a: v / one["docs_per_s"] for a, v in speed.items()} if one else {}
        print(
            f"{job}: docs/s vs {args.actor_list[0]} actor(s) at {args.actors_at}x: "
            + ", ".join(f"{a} actors {v:.2f}x" for a, v in summary["actors"][job].items())
        )
        lo, hi = by[(args.size_list[0], args.memory_actors)], by[(args.size_list[-1], args.memory_actors)]
        ratios = {k: hi[f"{k}_peak_mib"] / lo[f"{k}_peak_mib"] for k in MEMORY_KEYS if lo[f"{k}_peak_mib"]}
        summary["memory"][job] = {"from": args.size_list[0], "to": args.size_list[-1], "ratios": ratios}
        if hi["seconds"] > lo["seconds"] and hi is not lo:
            # the fixed cost of a run (actor start, model load, Ray Data start-up) cancels out
            marginal = (hi["documents"] - lo["documents"]) / (hi["seconds"] - lo["seconds"])
            summary["marginal_docs_per_s"] = {**summary.get("marginal_docs_per_s", {}), job: marginal}
            print(
                f"{job}: {marginal:.2f} docs/s at {args.memory_actors} actor(s) without the fixed cost of a run "
                f"(extra documents / extra seconds, {args.size_list[-1]}x vs {args.size_list[0]}x)"
            )
        print(
            f"{job}: peak memory {args.size_list[-1]}x / {args.size_list[0]}x corpus "
            f"({hi['documents']} vs {lo['documents']} documents): "
            + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items())
        )
    write_json(args.json, {"benchmark": "bench/scaling.py", "machine": m, "runs": runs, "summary": summary})
    return 0


if __name__ == "__main__":
    sys.exit(main())
