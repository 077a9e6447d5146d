#!/usr/bin/env python3
"""Summarise one ctest run from its JUnit file (ctest --output-junit) and enforce the skip policy.

Usage: ctest-summary.py NAME JUNIT.xml

Prints how many tests ran, passed, failed and were skipped, names every test that failed or
skipped, and exits 1 when a test failed or skipped without an allowed reason. A skip (exit 77,
ctest's SKIP_RETURN_CODE) is allowed only when the test's output has a line starting with
  "SKIP-HARDWARE: "                    hardware it needs is missing (a GPU, NVENC, VAAPI), or
  "SKIP-OPTOUT: REEL_TEST_NO_GL=1"     the gl tests were turned off on purpose, and only while
                                       REEL_TEST_NO_GL=1 is set for this run too.
tests/unit/skip.h and tests/golden/skip-policy.sh print those lines. A test that did not run for
any other reason (a missing executable, a disabled test) counts as failed.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

HARDWARE = re.compile(r"^SKIP-HARDWARE: (.*)$", re.M)
OPTOUT = re.compile(r"^SKIP-OPTOUT: REEL_TEST_NO_GL=1.*$", re.M)


def main():
    if len(sys.argv) != 3:
        print("usage: ctest-summary.py NAME JUNIT.xml", file=sys.stderr)
        return 2
    name, path = sys.argv[1], sys.argv[2]
    try:
        cases = ET.parse(path).getroot().iter("testcase")
    except (OSError, ET.ParseError) as e:
        print(f"== {name}: no test results ({e})")
        return 1
    opted_out = os.environ.get("REEL_TEST_NO_GL") == "1"
    passed, failed, allowed, unexpected = [], [], [], []
    for case in cases:
        test = case.get("name", "?")
        status = case.get("status", "")
        out = case.findtext("system-out") or ""
        skipped = case.find("skipped")
        if status == "run":
            passed.append(test)
        elif status == "notrun" and skipped is not None and \
                skipped.get("message", "").startswith("SKIP_RETURN_CODE="):
            hw = HARDWARE.search(out)
            opt = OPTOUT.search(out)
            if hw:
                allowed.append(f"{test}: missing hardware: {hw.group(1)}")
            elif opt and opted_out:
                allowed.append(f"{test}: {opt.group(0)}")
            else:
                lines = [l for l in out.strip().splitlines() if l.strip()]
                why = lines[-1] if lines else "no reason printed"
                unexpected.append(f"{test}: {why}")
        else:
            why = skipped.get("message", "") if skipped is not None else status
            failed.append(f"{test} ({why})" if why and why != "fail" else test)
    n_skipped = len(allowed) + len(unexpected)
    print(f"== {name}: {len(passed) + len(failed) + n_skipped} tests: {len(passed) + len(failed)} "
          f"ran, {len(passed)} passed, {len(failed)} failed, {n_skipped} skipped "
          f"({len(allowed)} allowed, {len(unexpected)} not allowed)")
    for t in failed:
        print(f"   FAILED: {t}")
    for t in allowed:
        print(f"   skipped (allowed): {t}")
    for t in unexpected:
        print(f"   SKIPPED BUT SHOULD HAVE RUN: {t}")
    if allowed and opted_out:
        print("   NOTE: REEL_TEST_NO_GL=1 is set: the gl engine was NOT tested in this run")
    return 1 if failed or unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
