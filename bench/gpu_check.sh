#!/usr/bin/env bash
# One prepared GPU check: run it once on a CUDA machine, from the repository root.
#
#   OUT=/some/folder bash bench/gpu_check.sh            # on the GPU machine (under 5 minutes)
#   OUT=/tmp/gc bash bench/gpu_check.sh --dry-run       # here, on CPU, tiny sizes: checks the logic
#
# Needs torch, numpy, scikit-learn (pytest if present; streamlit and plotly are not needed, and no
# network). Writes at most 8 JSON files into "$OUT" (a device call returns at most 8):
#   pytest.json                the CUDA tests (-k cuda) of the nets test files that do not import
#                              streamlit at their top; at the end, with the time left, every test
#                              in them
#   cli.json                   python -m nets.train --device cuda for every model (+ fast mode, and
#                              --distributed under torch.distributed.run with one process)
#   speed_<model>.json         bench/train_speed.py --device cuda --json for lenet-bn-scratch (28),
#                              resnet18 (96), densenet (96); with GPU_CHECK_COMPILE=1 the modes
#                              default-compiled and fast-compiled too for resnet18 and densenet, in
#                              the same run (each compile takes half a minute or more)
#   first_steps.json           only with GPU_CHECK_PROBE=1: bench/first_steps_probe.py (each early
#                              step, the capture, each evaluation of two runs per model)
#   accuracy.json              bench/train_speed.py --accuracy on digits, default vs fast mode
#   summary.json               torch / CUDA / device facts ("env"), pass/fail of every step, wall
#                              seconds, the ratios
# Every step has its own timeout; a failing step is recorded and the script goes on.
# Environment: PYTHON (tried first, then python3, python and /opt/torch/.venv/bin/python3),
# DEVICE (cuda; the dry run uses cpu), SPEED_SECONDS (timed seconds per mode),
# GPU_CHECK_COMPILE (1: also time torch.compile), GPU_CHECK_PROBE (1: also the first-steps probe),
# GPU_CHECK_BUDGET (whole-script seconds, default 285; the last step gets what is left).
set -u
cd "$(dirname "$0")/.." || exit 2

DRY=0
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: error: unknown argument '$arg' (use --dry-run or nothing)" >&2; exit 2 ;;
  esac
done
if [ -z "${OUT:-}" ]; then
  echo "gpu_check.sh: error: set OUT to the folder for the JSON results" >&2
  exit 2
fi
mkdir -p "$OUT" || { echo "gpu_check.sh: error: cannot create '$OUT'" >&2; exit 2; }
if [ "$DRY" = 1 ]; then DEVICE=${DEVICE:-cpu}; else DEVICE=${DEVICE:-cuda}; fi
export GPU_CHECK_DRY=$DRY GPU_CHECK_DEVICE=$DEVICE GPU_CHECK_OUT=$OUT
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1

# the first Python here that has torch (a GPU image may put one without it first on PATH)
PYBIN=
for c in ${PYTHON:-} python3 python /opt/torch/.venv/bin/python3; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -c "import torch" >/dev/null 2>&1; then
    PYBIN=$c
    break
  fi
done
if [ -z "$PYBIN" ]; then
  echo "gpu_check.sh: error: no Python here imports torch (set PYTHON to one that does)" >&2
  exit 2
fi
exec "$PYBIN" - <<'PY'
import glob
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

DRY = os.environ["GPU_CHECK_DRY"] == "1"
DEVICE = os.environ["GPU_CHECK_DEVICE"]
OUT = os.environ["GPU_CHECK_OUT"]
try:  # before any step: a bad budget is one line and exit code 2, not a traceback
    BUDGET = float(os.environ.get("GPU_CHECK_BUDGET", "900" if DRY else "285"))
    if not 1 <= BUDGET <= 86400:  # nan too
        raise ValueError
except ValueError:
    print(f"gpu_check.sh: error: GPU_CHECK_BUDGET must be seconds from 1 to 86400, got "
          f"'{os.environ['GPU_CHECK_BUDGET']}'", file=sys.stderr)
    sys.exit(2)
SPEED_SECONDS = os.environ.get("SPEED_SECONDS", "0.5" if DRY else "5")
T0 = time.monotonic()
PY = sys.executable
summary = {"dry_run": DRY, "device": DEVICE, "steps": []}


def left() -> float:
    return BUDGET - (time.monotonic() - T0)


def write(name: str, obj) -> None:
    path = os.path.join(OUT, name)
    fd, tmp = tempfile.mkstemp(dir=OUT, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def run(cmd, timeout, env=None):
    """Run cmd; never raise. Returns rc, seconds, stdout, stderr (tails)."""
    timeout = max(5.0, min(timeout, left() - 5))
    t = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, **(env or {})})
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc = 124
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = (e.stderr.decode() if isinstance(e.stderr, bytes) else (e.stderr or "")) + \
            f"\n[timed out after {timeout:.0f} s]"
    return {"cmd": " ".join(cmd), "rc": rc, "seconds": round(time.monotonic() - t, 2),
            "stdout_tail": out[-8000:], "stderr_tail": err[-3000:], "_stdout": out}


def json_lines(text: str):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def step(name: str, ok: bool, seconds: float, **extra) -> None:
    summary["steps"].append({"step": name, "ok": bool(ok), "seconds": round(seconds, 2), **extra})
    write("summary.json", {**summary, "elapsed": round(time.monotonic() - T0, 1)})
    print(f"[{time.monotonic() - T0:6.1f} s] {name}: {'ok' if ok else 'FAILED'}", flush=True)


# --- 1. environment -----------------------------------------------------------------------------
env = run([PY, "-c", (
    "import json, os, torch; c = torch.cuda.is_available(); print(json.dumps({"
    "'torch': torch.__version__, 'cuda_available': c, 'cuda': torch.version.cuda, "
    "'cudnn': torch.backends.cudnn.version() if c else None, "
    "'device': torch.cuda.get_device_name(0) if c else None, "
    "'capability': list(torch.cuda.get_device_capability(0)) if c else None, "
    "'bf16': torch.cuda.is_bf16_supported() if c else None, "
    "'cpu_count': os.cpu_count(), 'threads': torch.get_num_threads()}))")], 60)
facts = (json_lines(env["_stdout"]) or [{}])[0]
smi = run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version,clocks.max.sm",
           "--format=csv,noheader"], 20) if not DRY else {"rc": None, "_stdout": ""}
facts["nvidia_smi"] = smi["_stdout"].strip()
try:
    import importlib.util as iu
    facts["modules"] = {m: iu.find_spec(m) is not None
                        for m in ("pytest", "numpy", "sklearn", "streamlit", "plotly")}
except Exception:
    facts["modules"] = {}
summary["env"] = facts
gpu_ok = DRY or bool(facts.get("cuda_available"))
step("env", env["rc"] == 0 and gpu_ok, env["seconds"], cuda_available=facts.get("cuda_available"))

# --- 2. speed (with GPU_CHECK_COMPILE=1 also the compiled modes, in the same run) ----------------
ratios = {}
COMPILE = os.environ.get("GPU_CHECK_COMPILE") == "1"
for model, resize in (("lenet-bn-scratch", 28), ("resnet18", 96), ("densenet", 96)):
    # the compiled modes: ResNet-18 and DenseNet (on a GPU; each compile takes half a minute or
    # more), LeNet in the dry run (a CPU compiles ResNet-18 for minutes)
    compiled = COMPILE and ((model == "lenet-bn-scratch") == DRY)
    modes = "chapter,default,fast" + (",default-compiled,fast-compiled" if compiled else "")
    cmd = [PY, "bench/train_speed.py", "--device", DEVICE, "--model", model, "--json",
           "--seconds", SPEED_SECONDS, "--batch-size", "256", "--modes", modes]
    if DRY:
        cmd += ["--n-train", "1024", "--batch-size", "64", "--warmup-steps", "1",
                "--resize", "28" if model == "lenet-bn-scratch" else "32"]
    else:
        cmd += ["--resize", str(resize), "--warmup-steps", "5"]
    r = run(cmd, 300 if compiled else 60 if DRY else 100)
    res = json_lines(r["_stdout"])
    result = res[-1] if res else None
    write(f"speed_{model}.json", {"cmd": r["cmd"], "rc": r["rc"], "seconds": r["seconds"],
                                  "stderr_tail": r["stderr_tail"], "result": result})
    ok = r["rc"] == 0 and result is not None and \
        len(result.get("results", [])) == len(modes.split(","))
    if result:
        ratios[model] = {**result.get("ratios", {}),
                         **{x["mode"]: round(x["examples_per_s"], 1) for x in result["results"]},
                         **{f"{x['mode']} compile_seconds": x.get("compile_seconds")
                            for x in result["results"] if "compile_seconds" in x}}
    step(f"speed {model}", ok, r["seconds"], ratios=ratios.get(model))

# --- 3. the CUDA tests (after the speed runs, which a short device lease needs first) -------
tests = {}
HAVE_PYTEST = bool(facts.get("modules", {}).get("pytest"))
# the nets test files that import no streamlit at their top (apptest_util and ui import it; a test
# that needs it inside the file skips itself where it is missing)
APP_IMPORT = re.compile(r"^(?:import|from)\s+(?:streamlit|ui|apptest_util)\b", re.M)
FILES = sorted(f for f in glob.glob("tests/test_nets_*.py")
               if not APP_IMPORT.search(open(f, encoding="utf-8").read()))
# no:logging: a failing compile test's captured DEBUG log would fill the tail kept of its output
PYTEST = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:logging", "-o", "addopts=",
          "--tb=short", "-rfEs"]
if HAVE_PYTEST:
    # 300 s: the compiled-graph tests compile LeNet and ResNet-18 first (half a minute each)
    r = run(PYTEST + ["-k", "cuda"] + FILES, 300 if not DRY else 60)
    tests["files"] = FILES
    tests["cuda_tests"] = {k: v for k, v in r.items() if k != "_stdout"}
    tests["cuda_tests"]["summary"] = (r["_stdout"].strip().splitlines() or [""])[-1]
    ok, secs = r["rc"] in (0, 5), r["seconds"]  # 5: nothing selected (a dry run on CPU)
else:
    tests["skipped"] = "pytest is not installed here"
    ok, secs = True, 0.0
write("pytest.json", tests)
step("pytest cuda", ok, secs, summary=tests.get("cuda_tests", {}).get("summary",
                                                                   tests.get("skipped")))

# --- 3b. where a process's first run spends its first seconds (opt-in) -------------------------
if os.environ.get("GPU_CHECK_PROBE") == "1":
    cmd = [PY, "bench/first_steps_probe.py", "--device", DEVICE, "--json"]
    if DRY:
        cmd += ["--models", "lenet-bn-scratch,resnet18", "--resize", "32", "--n-train", "512",
                "--n-test", "128", "--batch-size", "64"]
    r = run(cmd, 240)
    res = json_lines(r["_stdout"])
    write("first_steps.json", {"cmd": r["cmd"], "rc": r["rc"], "seconds": r["seconds"],
                               "stderr_tail": r["stderr_tail"], "result": res[-1] if res else None})
    step("first steps probe", r["rc"] == 0 and bool(res), r["seconds"])

# --- 4. fast mode keeps accuracy ---------------------------------------------------------------
cmd = [PY, "bench/train_speed.py", "--accuracy", "--device", DEVICE, "--model", "lenet-bn-scratch",
       "--json", "--batch-size", "64", "--repeats", "3" if not DRY else "1",
       "--epochs", "10" if not DRY else "1"]
r = run(cmd, 90)
res = json_lines(r["_stdout"])
write("accuracy.json", {"cmd": r["cmd"], "rc": r["rc"], "seconds": r["seconds"],
                        "stderr_tail": r["stderr_tail"], "result": res[-1] if res else None})
step("accuracy", r["rc"] == 0 and bool(res), r["seconds"],
     acc_gap=(res[-1].get("acc_gap") if res else None))

# --- 5. every model from the command line -------------------------------------------------------
cli = []
models = [("lenet", None), ("lenet-bn-scratch", None), ("lenet-bn", None),
          ("resnet18", 96 if not DRY else 32), ("densenet", 96 if not DRY else 32)]
t_cli = time.monotonic()
jobs = [(model, resize, fast) for i, (model, resize) in enumerate(models)
        for fast in ((False, True) if not DRY else (bool(i % 2),))]  # the dry run: one each


def cli_run(job):
    model, resize, fast = job
    cmd = [PY, "-m", "nets.train", "--model", model, "--dataset", "digits", "--device", DEVICE,
           "--epochs", "2" if not DRY else "1", "--max-steps", "300" if not DRY else "3", "--json"]
    if resize:
        cmd += ["--resize", str(resize)]
    if fast:
        cmd.append("--fast")
    r = run(cmd, 120)
    epochs = json_lines(r["_stdout"])
    acc = epochs[-1].get("test_acc") if epochs else None
    ok = r["rc"] == 0 and bool(epochs) and acc is not None
    return {**{k: v for k, v in r.items() if k not in ("_stdout", "stdout_tail")},
            "model": model, "fast": fast, "ok": ok, "epochs": epochs, "final_test_acc": acc}


# several processes at once (16 cores, one GPU with room for all): the start-ups overlap
from concurrent.futures import ThreadPoolExecutor
with ThreadPoolExecutor(max_workers=5 if not DRY else 1) as pool:
    cli = list(pool.map(cli_run, jobs))
cli_ok = all(c["ok"] for c in cli)
write("cli.json", cli)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --distributed with one process on the GPU (nccl); the two-process CPU run is a unit test.
r = run([PY, "-m", "torch.distributed.run", "--nproc_per_node", "1", "--master_port",
         str(free_port()), "-m", "nets.train", "--distributed", "--model", "lenet-bn",
         "--dataset", "digits", "--device", DEVICE, "--epochs", "2", "--json"], 90)
epochs = json_lines(r["_stdout"])
dist_ok = r["rc"] == 0 and len(epochs) == 2
cli.append({**{k: v for k, v in r.items() if k not in ("_stdout", "stdout_tail")},
            "model": "lenet-bn", "distributed": True, "ok": dist_ok, "epochs": epochs})
write("cli.json", cli)
step("cli", cli_ok, time.monotonic() - t_cli,
     failed=[f"{c['model']}{' fast' if c.get('fast') else ''}" for c in cli
             if not c["ok"] and not c.get("distributed")])
step("distributed", dist_ok, r["seconds"])

# --- 6. every test of the nets test files, with what time is left (cuda is the default here) ----
if HAVE_PYTEST and left() > 30:
    r2 = run(PYTEST + (["--co"] if DRY else []) + FILES, left() - 10)
    tests["all_nets_tests"] = {k: v for k, v in r2.items() if k != "_stdout"}
    tests["all_nets_tests"]["summary"] = (r2["_stdout"].strip().splitlines() or [""])[-1]
    write("pytest.json", tests)
    step("pytest nets", r2["rc"] == 0, r2["seconds"],
         summary=tests["all_nets_tests"]["summary"])
else:
    step("pytest nets", not HAVE_PYTEST, 0.0, summary="skipped: no pytest or no time left")

summary["ratios"] = ratios
summary["all_ok"] = all(s["ok"] for s in summary["steps"])
summary["elapsed"] = round(time.monotonic() - T0, 1)
write("summary.json", summary)
print(json.dumps({"all_ok": summary["all_ok"], "elapsed": summary["elapsed"],
                  "ratios": ratios}), flush=True)
sys.exit(0 if summary["all_ok"] else 1)
PY
