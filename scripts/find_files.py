#!/usr/bin/env python3
"""Prints the files under ROOT matching each glob PATTERN (relative to ROOT; `**` recursive), one a line:
meson.build installs what it finds (docs, conf/'s dashboards and alert rules) without a list.
    find_files.py ROOT PATTERN...
"""
import glob
import os
import sys

os.chdir(sys.argv[1])
for pattern in sys.argv[2:]:
    for f in sorted(glob.glob(pattern, recursive=True)):
        print(f)
