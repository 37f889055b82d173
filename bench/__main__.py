"""`make bench`: runs every benchmark scenario and prints its figures beside a baseline."""

import argparse
import sys

SCENARIOS: dict = {}  # name -> callable(scale) returning a row; scenarios register here


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--scale", choices=["small", "full"], default="full")
    args = parser.parse_args(argv)
    if not SCENARIOS:
        print("No benchmark scenarios are defined yet.")
        return 0
    for name, scenario in SCENARIOS.items():
        print(name, scenario(args.scale))
    return 0


if __name__ == "__main__":
    sys.exit(main())
