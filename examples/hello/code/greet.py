"""Writes one greeting per name in a file: greet.py NAMES GREETING [SLEEP]."""
import sys
import time

names, greeting = sys.argv[1], sys.argv[2]
pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0
with open(names) as f:
    for name in (line.strip() for line in f):
        if name:
            print(f"{greeting}, {name}!")
            time.sleep(pause)
