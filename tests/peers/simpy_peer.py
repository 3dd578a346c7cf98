#!/usr/bin/python3
"""simpy_peer.py - a SimPy model of tests/peers/workload.yaml, the peer of
ctxsim in `make bench`.

Each client waits uniform(0, 10 s), connects (uplink), authenticates (uplink,
auth, downlink), sends one message with a new thread id (uplink).  The server
side follows the fixed design: the message waits until the thread lookup
(the association) finishes, then the agent starts (agent_start) and emits its
five events, exponential(mean=80 ms) apart; each event travels the downlink
and is delivered when the client still holds the connection (it closes 5 s
after sending) and within the 5 s deadline.  Latencies are the scenario's
distributions (lognormal from median and p99, as ctxsim parameterises them).

Prints one line: `seeds N users U delivered D expected E seconds S` where S is
the CPU time of the simulations alone (interpreter start-up excluded).
Usage: simpy_peer.py [--seeds N] [--users U]
"""
import math
import random
import sys
import time

import simpy

MS = 1e-3
Z99 = 2.3263478740408408  # the 0.99 quantile of the standard normal
EVENTS = 5


def lognormal(rng, median, p99):
    mu = math.log(median)
    sigma = (math.log(p99) - mu) / Z99
    return rng.lognormvariate(mu, sigma)


class Counts:
    def __init__(self):
        self.expected = 0
        self.delivered = 0


def client(env, rng, counts):
    up = lambda: lognormal(rng, 20 * MS, 250 * MS)
    down = lambda: lognormal(rng, 20 * MS, 250 * MS)
    yield env.timeout(rng.uniform(0, 10))
    yield env.timeout(up())  # connect
    yield env.timeout(up() + rng.uniform(5 * MS, 50 * MS) + down())  # authenticate
    sent = env.now
    yield env.timeout(up())  # the message reaches the server
    closes_at = sent + 5.0
    ready = env.event()

    def associate(env):
        yield env.timeout(rng.expovariate(1 / (15 * MS)))  # the thread lookup
        ready.succeed()

    env.process(associate(env))
    yield ready  # queued until the connection has its thread context
    yield env.timeout(rng.uniform(0, 10 * MS))  # agent start
    for _ in range(EVENTS):
        yield env.timeout(rng.expovariate(1 / (80 * MS)))
        emitted = env.now
        counts.expected += 1
        env.process(deliver(env, down(), emitted, closes_at, counts))


def deliver(env, delay, emitted, closes_at, counts):
    yield env.timeout(delay)
    if env.now <= closes_at and env.now - emitted <= 5.0:
        counts.delivered += 1


def main(argv):
    seeds, users = 20, 1000
    i = 1
    while i < len(argv):
        if argv[i] == "--seeds":
            seeds = int(argv[i + 1])
            i += 2
        elif argv[i] == "--users":
            users = int(argv[i + 1])
            i += 2
        else:
            print("usage: simpy_peer.py [--seeds N] [--users U]", file=sys.stderr)
            return 2
    counts = Counts()
    t0 = time.process_time()  # CPU time: fair on a loaded machine, as the C side
    for seed in range(1, seeds + 1):
        rng = random.Random(seed)
        env = simpy.Environment()
        for _ in range(users):
            env.process(client(env, rng, counts))
        env.run(until=120)
    dt = time.process_time() - t0
    print(f"seeds {seeds} users {users} delivered {counts.delivered} "
          f"expected {counts.expected} seconds {dt:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
