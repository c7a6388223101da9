# Runs each command of a JSON list ({argv, env}) read from stdin in turn and prints, per command, its wall time and the CPU
# time (user + system, from getrusage of the children) it used, as one JSON array. Used by the start-up section:
# CPU time holds steady on a busy machine where wall time does not. Python, because Node cannot read the
# resource usage of a child process.
import json, os, resource, subprocess, sys, time

out = []
for cmd in json.load(sys.stdin):
    argv = cmd["argv"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=cmd["env"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out.append({"wallMs": wall * 1000, "cpuMs": cpu * 1000, "status": p.returncode,
                "stdout": p.stdout[-2000:], "stderr": p.stderr[-2000:]})
print(json.dumps(out))
