"""How long the kinematic prior takes to sample skeletons (not a test: speed is measured here, not asserted).

.venv/bin/python benchmarks/sample_skeletons.py [--n 10000] [--repeats 5]
"""

import argparse
import time

from suite.data.kinematic_prior import sample_skeletons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times = []
    for seed in range(args.repeats):
        start = time.perf_counter()
        sample_skeletons(args.n, seed=seed)
        times.append(time.perf_counter() - start)
    print(f"{args.n} skeletons: best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s")


if __name__ == "__main__":
    main()
