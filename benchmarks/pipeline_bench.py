"""The pipeline against the frameworks under it, measured in one run (issues 4 and 5).

4. What `nnflow train` costs beyond training and beyond Prefect + MLflow themselves.
   Each command runs in a fresh temporary working directory holding a copy of
   data/digits.csv, so it gets its own embedded MLflow store (mlruns/) and project-local
   PREFECT_HOME, as a user's checkout would:
   (a) `nnflow train --data data/digits.csv --max-iter 100`, a subprocess, Prefect's
       temporary server included;
   (b) the training alone: nncore.train in this process, same prepared matrices and
       config (and, for comparison, the `train_seconds` that (a) logged);
   (c) the frameworks' unavoidable part: a subprocess that imports prefect and mlflow and
       runs an empty @flow (so the same temporary server starts) that creates and ends
       an empty MLflow run in a sqlite store under its own mlruns/.
   nnflow's own overhead is a - b - c (target < 2 s). Round 1 is cold (both create their
   Prefect and MLflow databases); later rounds reuse the directories and alternate the
   order of (a) and (c). The phases of (a) come from its Prefect log timestamps.
5. Sweep speed-up: `nnflow sweep` of 8 points on digits (hidden 10 | 25 x lam 0, 0.3, 1,
   3; L-BFGS, 100 iterations; --no-register) with --workers 1 and --workers 2, alternating,
   in (a)'s directory, already warm. The whole command's wall time, and from the MLflow
   store: the span from the first point's child run start to the last one's end (the
   parallel part, free of start-up), the sum of the points' `train_seconds` against the
   sum of their child runs' durations (training vs evaluation + logging), and how many
   points ran at once (at most `workers` when the Dask runner is honoured).

`python -m benchmarks` runs this after the nncore benchmark;
`python -m benchmarks.pipeline_bench [overhead|sweep]` runs just this (or one part).
Commands run without PREFECT_* / MLFLOW_* from the caller's environment (the temporary
server and the embedded store are what is measured). The machine is shared: the load
average is printed beside each part, and the number of rounds shrinks to fit a time
budget when the machine is slow.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import numpy as np

import nncore
from flows.data import load_table
from flows.params import TrainParams
from flows.prepare import prepare_matrices
from flows.settings import configure_environment, project_paths

DIGITS = Path(__file__).resolve().parents[1] / "data" / "digits.csv"
TRAIN_ARGS = ["train", "--data", "data/digits.csv", "--max-iter", "100"]
SWEEP_ARGS = [
    "sweep",
    "--data",
    "data/digits.csv",
    "--hidden",
    "10",
    "--hidden",
    "25",
    "--lam",
    "0,0.3,1,3",
    "--max-iter",
    "100",
    "--no-register",
]
MAX_ROUNDS = 3
OVERHEAD_BUDGET_S = 150  # no new round of (a) + (c) starts after this
SWEEP_BUDGET_S = 150  # no new round of workers=1 + workers=2 starts after this
COMMAND_TIMEOUT_S = 600

_EMPTY_FLOW = '''
"""The frameworks alone: import prefect and mlflow, one empty flow, one empty run."""
import json
import time
from pathlib import Path

import mlflow  # noqa: F401 - the import is part of what is measured
from mlflow.tracking import MlflowClient
from prefect import flow

marks = {"imports": time.time()}


@flow(name="empty")
def empty_flow() -> str:
    marks["flow_started"] = time.time()
    root = Path.cwd() / "mlruns"
    root.mkdir(exist_ok=True)
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("empty")
    experiment_id = (experiment.experiment_id if experiment else client.create_experiment(
        "empty", artifact_location=(root / "artifacts" / "empty").as_uri()))
    run = client.create_run(experiment_id, run_name="empty")
    client.set_terminated(run.info.run_id)
    marks["mlflow_run"] = time.time()
    return run.info.run_id


if __name__ == "__main__":
    empty_flow()
    marks["flow_returned"] = time.time()
    print(json.dumps(marks))
'''

# Marker lines of `nnflow train`'s Prefect log, in order, and the phase each one ends.
_TRAIN_PHASES = [
    (r"Starting temporary server", "python start, imports, CLI, settings"),
    (r"Beginning flow run", "temporary Prefect server up, flow run created"),
    (r"MLflow run \w+ in experiment", "MLflow store, experiment and run"),
    (r"Task run 'prepare_matrices-\w+' - Finished", "load, validate, prepare tasks"),
    (r"Task run 'train_network-\w+' - Finished", "train_network task"),
    (r"Task run 'evaluate_network-\w+' - Finished", "evaluate_network task"),
    (r"Task run 'log_run-\w+' - Finished", "log_run: params, history, artifacts, model"),
    (r"Flow run '[^']*' - Finished in state", "summary artifact, flow end"),
    (r"Stopping temporary server", "drain Prefect logs"),
]
_EMPTY_PHASES = [
    ("imports", "python start, import prefect + mlflow"),
    ("flow_started", "temporary Prefect server up, flow run created"),
    ("mlflow_run", "MLflow store, experiment and empty run"),
    ("flow_returned", "flow end"),
]
_STAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \| ")


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f} on {os.cpu_count()} CPUs"


def _environment(workdir: Path) -> dict[str, str]:
    """The caller's environment minus its Prefect/MLflow settings, plus nnflow's defaults.

    `configure_environment` is the one place those defaults live; it writes them into
    os.environ, so it runs against a patched copy.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MLFLOW_"))}
    with mock.patch.dict(os.environ, clean, clear=True):
        configure_environment(project_paths(workdir))
        return dict(os.environ)


def _fresh_workdir(parent: Path, name: str) -> Path:
    workdir = parent / name
    (workdir / "data").mkdir(parents=True)
    shutil.copyfile(DIGITS, workdir / "data" / "digits.csv")
    return workdir


def _run(args: list[str], workdir: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a command in `workdir`; returns its launch time (epoch s), wall time and result."""
    launched, start = time.time(), time.perf_counter()
    result = subprocess.run(
        args,
        cwd=workdir,
        env=_environment(workdir),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=COMMAND_TIMEOUT_S,
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return launched, wall, result


def _nnflow() -> list[str]:
    script = Path(sys.executable).with_name("nnflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "flows"]


def _log_seconds(stderr: str, launched: float) -> list[tuple[float, str]]:
    """(seconds since launch, line) for each Prefect log line (HH:MM:SS.mmm | ...)."""
    origin = datetime.fromtimestamp(launched)
    stamped = []
    for line in stderr.splitlines():
        match = _STAMP.match(line)
        if not match:
            continue
        h, m, s, ms = (int(g) for g in match.groups())
        moment = origin.replace(hour=h, minute=m, second=s, microsecond=ms * 1000)
        if moment < origin - timedelta(seconds=1):  # the run crossed midnight
            moment += timedelta(days=1)
        stamped.append(((moment - origin).total_seconds(), line))
    return stamped


def _phases(marks: list[tuple[str, float]], wall: float, last: str) -> list[tuple[str, float]]:
    """Durations between consecutive marks (seconds since launch), then up to the exit."""
    phases, previous = [], 0.0
    for label, at in marks:
        phases.append((label, at - previous))
        previous = at
    phases.append((last, wall - previous))
    return phases


def _train_phases(stderr: str, launched: float, wall: float) -> list[tuple[str, float]]:
    lines = _log_seconds(stderr, launched)
    marks = []
    for pattern, label in _TRAIN_PHASES:
        found = next((at for at, line in lines if re.search(pattern, line)), None)
        if found is not None:
            marks.append((label, found))
    return _phases(marks, wall, "server stop, report, exit")


def _empty_phases(stdout: str, launched: float, wall: float) -> list[tuple[str, float]]:
    stamps = json.loads(stdout.strip().splitlines()[-1])
    marks = [(label, stamps[key] - launched) for key, label in _EMPTY_PHASES if key in stamps]
    return _phases(marks, wall, "server stop, exit")


def _logged_train_seconds(workdir: Path, stdout: str) -> float:
    """`train_seconds` of the run named on the command's last line, from the sqlite store."""
    run_id = re.search(r"MLflow run (\w+)", stdout.strip().splitlines()[-1]).group(1)
    with sqlite3.connect(workdir / "mlruns" / "mlflow.db") as db:
        (value,) = db.execute(
            "SELECT value FROM latest_metrics WHERE run_uuid = ? AND key = 'train_seconds'",
            (run_id,),
        ).fetchone()
    return value


def _training_alone(repeats: int = 5) -> list[float]:
    """nncore.train on the matrices and config `nnflow train`'s defaults produce."""
    params = TrainParams(data=str(DIGITS), max_iter=100)
    prepared = prepare_matrices(
        load_table(DIGITS),
        label=params.label,
        seed=params.effective_split_seed,
        fractions=params.fractions,
    )
    n, K = prepared.Xb_train.shape[1] - 1, prepared.Y_train.shape[1]
    config = params.train_config()
    seconds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", nncore.ConvergenceWarning)
        for _ in range(repeats):
            thetas = nncore.init_thetas([n, *params.hidden, K], np.random.default_rng(params.seed))
            start = time.perf_counter()
            nncore.train(thetas, prepared.Xb_train, prepared.Y_train, config)
            seconds.append(time.perf_counter() - start)
    return seconds


def _print_phases(title: str, phases: list[tuple[str, float]]) -> None:
    print(f"   {title}")
    for label, seconds in phases:
        print(f"     {seconds:7.2f} s  {label}")


def bench_overhead(scratch: Path) -> Path:
    """Rounds of (a) and (c), then (b); returns (a)'s directory, warm for the sweep."""
    print(f"4. overhead of `nnflow {' '.join(TRAIN_ARGS)}` (issue 4), {_load()}")
    ours_dir = _fresh_workdir(scratch, "train")
    empty_dir = _fresh_workdir(scratch, "empty")
    (empty_dir / "empty_flow.py").write_text(textwrap.dedent(_EMPTY_FLOW), encoding="utf-8")
    train_cmd, empty_cmd = [*_nnflow(), *TRAIN_ARGS], [sys.executable, "empty_flow.py"]

    rounds, began = [], time.perf_counter()
    for round_ in range(MAX_ROUNDS):
        if round_ and time.perf_counter() - began > OVERHEAD_BUDGET_S:
            break
        measured = {}
        order = ("a", "c") if round_ % 2 == 0 else ("c", "a")
        for which in order:
            if which == "a":
                measured["a"] = _run(train_cmd, ours_dir)
            else:
                measured["c"] = _run(empty_cmd, empty_dir)
        rounds.append(measured)
    b = _training_alone()
    t_b = statistics.median(b)

    def report(label: str, chosen: list[dict]) -> None:
        t_a = statistics.median(r["a"][1] for r in chosen)
        t_c = statistics.median(r["c"][1] for r in chosen)
        t_logged = statistics.median(
            _logged_train_seconds(ours_dir, r["a"][2].stdout) for r in chosen
        )
        print(f"   {label}")
        print(f"     (a) nnflow train                 {t_a:7.2f} s")
        print(f"     (c) empty flow + empty run       {t_c:7.2f} s  (a/c {t_a / t_c:.2f}x)")
        print(f"     (b) train_seconds logged by (a)  {t_logged:7.2f} s")
        print(
            f"     nnflow's own overhead a - b - c  {t_a - t_b - t_c:7.2f} s  (target < 2 s; "
            f"with (a)'s own train_seconds as b: {t_a - t_logged - t_c:.2f} s)"
        )

    print(
        f"   (b) training alone, nncore.train in-process, 64-25-10 lbfgs lam=1 100 it "
        f"(median of {len(b)}): {t_b:.3f} s"
    )
    report(
        "round 1, cold (fresh directories: Prefect and MLflow create their databases)", rounds[:1]
    )
    if len(rounds) > 1:
        report(
            f"rounds 2-{len(rounds)}, warm (median of {len(rounds) - 1}; the train's "
            "validation and preparation come from Prefect's cache)",
            rounds[1:],
        )
    else:
        print("   (no warm round: the cold round used the time budget)")
    launched, wall, result = rounds[-1]["a"]
    _print_phases(
        "phases of (a), last round (from its Prefect log timestamps):",
        _train_phases(result.stderr, launched, wall),
    )
    launched, wall, result = rounds[-1]["c"]
    _print_phases("phases of (c), last round:", _empty_phases(result.stdout, launched, wall))
    print(f"   ({_load()} at the end)")
    return ours_dir


def _max_concurrent(children: list[dict]) -> int:
    """The most child runs open at the same moment."""
    events = sorted([(c["start"], 1) for c in children] + [(c["end"], -1) for c in children])
    running = peak = 0
    for _, step in events:  # at equal times -1 sorts first: back-to-back is not overlap
        running += step
        peak = max(peak, running)
    return peak


def _sweep_children(workdir: Path, stdout: str) -> list[dict]:
    """The child runs of the sweep parent named on the command's last line, from sqlite."""
    parent = re.search(r"MLflow run (\w+)", stdout.strip().splitlines()[-1]).group(1)
    with sqlite3.connect(workdir / "mlruns" / "mlflow.db") as db:
        rows = db.execute(
            "SELECT r.status, r.start_time, COALESCE(r.end_time, r.start_time), m.value "
            "FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
            "LEFT JOIN latest_metrics m ON m.run_uuid = r.run_uuid AND m.key = 'train_seconds' "
            "WHERE t.key = 'mlflow.parentRunId' AND t.value = ?",
            (parent,),
        ).fetchall()
    return [
        {"status": status, "start": start / 1e3, "end": end / 1e3, "train": train or 0.0}
        for status, start, end, train in rows
    ]


def bench_sweep(scratch: Path, workdir: Path | None = None) -> None:
    """`nnflow sweep` with --workers 1 and 2, alternating, in a warm working directory."""
    print(f"5. `nnflow {' '.join(SWEEP_ARGS)} --workers 1|2` (issue 5), {_load()}")
    if workdir is None:
        workdir = _fresh_workdir(scratch, "sweep")
        _, wall, _ = _run([*_nnflow(), *TRAIN_ARGS[:-1], "5"], workdir)
        print(f"   (warm-up `nnflow train --max-iter 5` in a fresh directory: {wall:.1f} s)")
    by_workers: dict[int, list[dict]] = {1: [], 2: []}
    dask_clusters = 0
    began = time.perf_counter()
    for round_ in range(MAX_ROUNDS):
        if round_ and time.perf_counter() - began > SWEEP_BUDGET_S:
            break
        for workers in (1, 2) if round_ % 2 == 0 else (2, 1):
            _, wall, result = _run([*_nnflow(), *SWEEP_ARGS, "--workers", str(workers)], workdir)
            dask_clusters += result.stderr.count("Creating a new Dask cluster")
            children = _sweep_children(workdir, result.stdout)
            by_workers[workers].append(
                {
                    "wall": wall,
                    "span": max(c["end"] for c in children) - min(c["start"] for c in children),
                    "train": sum(c["train"] for c in children),
                    "runs": sum(c["end"] - c["start"] for c in children),
                    "concurrent": _max_concurrent(children),
                    "finished": sum(c["status"] == "FINISHED" for c in children),
                }
            )
    n = len(by_workers[1])
    median = {
        w: {k: statistics.median(s[k] for s in runs) for k in runs[0]}
        for w, runs in by_workers.items()
    }
    print(
        f"   median of {n} per side; span = first point's child run start to last one's end; "
        "child runs = training + evaluation + logging of one point"
    )
    for workers, m in median.items():
        print(
            f"   --workers {workers}: command {m['wall']:6.2f} s, points' span {m['span']:6.2f} s; "
            f"sum of train_seconds {m['train']:5.2f} s, of child runs {m['runs']:6.2f} s "
            f"(training {m['train'] / m['runs']:.0%}); up to {m['concurrent']:.0f} points at "
            f"once; {m['finished']:.0f}/8 FINISHED"
        )
    print(
        f"   speed-up --workers 2 vs 1: command {median[1]['wall'] / median[2]['wall']:.2f}x, "
        f"points' span {median[1]['span'] / median[2]['span']:.2f}x "
        "(target close to 2x on 2 cores)"
    )
    print(f"   Dask clusters started: {dask_clusters} in {2 * n} commands")
    over = [w for w, m in median.items() if m["concurrent"] > w]
    if over or dask_clusters < 2 * n:
        print(
            "   note: --workers was not honoured (more points at once than workers, or no Dask "
            "cluster): both sides ran on the same runner, so the ratio is noise, not a speed-up"
        )
    print(f"   ({_load()} at the end)")


def main(parts: tuple[str, ...] = ("overhead", "sweep")) -> None:
    print(f"pipeline benchmark (nnflow train / sweep), {_load()}")
    with tempfile.TemporaryDirectory(prefix="nnflow-bench-") as tmp:
        workdir = bench_overhead(Path(tmp)) if "overhead" in parts else None
        if "sweep" in parts:
            bench_sweep(Path(tmp), workdir)


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or ("overhead", "sweep"))
