"""Run a command and write its exit code, wall time and peak RSS to a JSON file.

    python peak_rss.py RESULT.json TIMEOUT_S command [args...]

Why a separate small process: on Linux a child's ``ru_maxrss`` starts from the RSS high-water mark
of the process it was forked (or vfork-spawned) from, because ``execve`` folds the old address
space's peak into the process's maximum. A scan spawned straight from the benchmark process (which
holds the emulator and its state, several hundred MiB) would report the benchmark's size, not its
own. Spawned from this interpreter (about 10 MiB, importing nothing else), the figure is the scan's.

The command inherits this process's standard streams, environment and working directory. After
``TIMEOUT_S`` seconds it is killed (exit code -9).
"""

import json
import os
import signal
import sys
import time


def main() -> None:
    result_path, timeout_s, command = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    started = time.perf_counter()
    pid = os.posix_spawn(command[0], command, os.environ)
    signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    _, status, usage = os.wait4(pid, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    result = {
        "exit_code": os.waitstatus_to_exitcode(status),
        "wall_s": time.perf_counter() - started,
        "maxrss_kib": usage.ru_maxrss,
    }
    with open(result_path, "w") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main()
