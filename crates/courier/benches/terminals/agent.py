"""The programs the terminals bench runs in its agents' PTYs.

  agent.py marks COUNT INTERVAL_MS   waits for one line on stdin (typed in the
                                     dashboard), then writes COUNT lines
                                     `MARK <epoch-ns> <i> .`, one every
                                     INTERVAL_MS, each stamped with
                                     time.time_ns() just before its write
  agent.py stream INTERVAL_MS        writes a 70-character line every
                                     INTERVAL_MS, forever
"""

import os
import sys
import time


def write(line):
    os.write(1, line.encode())


def marks(count, interval):
    write("type a line to start\r\n")
    sys.stdin.readline()
    start = time.monotonic()
    for i in range(count):
        # Paced on a fixed grid, so a slow write does not stretch the run.
        delay = start + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        write(f"MARK {time.time_ns()} {i} .\r\n")
    write("marks done\r\n")
    while True:
        time.sleep(3600)


def stream(interval):
    n = 0
    start = time.monotonic()
    while True:
        n += 1
        write(f"{n:08d} " + "streaming output for the terminals bench ".ljust(60, ".") + "\r\n")
        delay = start + n * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)


if __name__ == "__main__":
    if sys.argv[1] == "marks":
        marks(int(sys.argv[2]), int(sys.argv[3]) / 1000)
    else:
        stream(int(sys.argv[2]) / 1000)
