"""`python -m infra.local [run [--demo off|seed|live]|token SUB [GROUPS [ORG]]|fire SCHEDULE|demo seed|live|chaos]` — see the README."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading


def wait_until_stopped(stopped: threading.Event, poll_s: float = 0.5) -> None:
    """Waits with a timeout: a signal the kernel hands to another thread does not interrupt the main
    thread's untimed wait, so its Python handler would not run until something else woke the main
    thread (CI once saw Ctrl-C ignored for 90 s, until a second one happened to land on it)."""
    while not stopped.wait(poll_s):
        pass


def run(demo: str = "off", demo_customers: int | None = None) -> None:
    from infra.local.cloud import LocalCloud, Ports
    from infra.local.demo import start_in_background
    from infra.local.seed import seed_demo_bank, seed_demo_coupons, seed_head_office
    from infra.local.tokens import issue
    from infra.topology import TOPOLOGY

    # Ctrl-C is handled from the first moment: a stop during start-up still stops cleanly.
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    cloud = LocalCloud(TOPOLOGY, Ports.from_env()).start()
    customers = seed_demo_bank(TOPOLOGY, cloud.clients.events)
    customer_token, operator_token = issue(customers[0]), issue("op-alice", ["operators"], org_unit="hq")
    api, aws = cloud.api_url, cloud.emulator.url
    seed_head_office(api, operator_token)  # every operator route's org scope needs the tree's head office
    template = seed_demo_coupons(api, operator_token)
    print(
        f"""
Loyalty engine, local cloud
  API        {api}          (OpenAPI: {api}/openapi.json)
  AWS        {aws}          (DynamoDB, SQS, EventBridge; bus "{TOPOLOGY.bus_name}")
  functions  {len(TOPOLOGY.functions)}, queues {len(TOPOLOGY.queues)}, rules {len(TOPOLOGY.rules)}
  demo bank  customers {", ".join(customers)}; active coupon template "{template}"

Tokens (12 h; more with `make token SUB=<id> [GROUPS=operators] [ORG=<org unit>]`)
  customer {customers[0]}:  {customer_token}
  operator op-alice (head office, hq): {operator_token}

Try
  curl -s {api}/v1/customers/{customers[0]} -H "Authorization: Bearer {customer_token}"
  curl -s -X POST {api}/v1/coupons/claims -H "Authorization: Bearer {customer_token}" \\
       -H "Content-Type: application/json" -H "Idempotency-Key: claim-1" -d '{{"templateId": "{template}"}}'
  curl -s "{api}/v1/customers/{customers[0]}/coupons?status=available" -H "Authorization: Bearer {customer_token}"
  curl -s -X PUT {api}/v1/admin/customers/{customers[1]}/tags -H "Authorization: Bearer {operator_token}" \\
       -H "Content-Type: application/json" -H "Idempotency-Key: demo-1" -d '{{"tags": ["campaign-target"]}}'
  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --endpoint-url {aws} --region us-east-1 events put-events \\
       --entries '[{{"EventBusName":"{TOPOLOGY.bus_name}","Source":"bank.core","DetailType":"CustomerProfileChanged","Detail":"{{\\"customerId\\":\\"c-009\\",\\"changedAt\\":\\"2026-11-23T04:12:00Z\\"}}"}}]'

Ctrl-C stops everything.""",
        flush=True,
    )
    cloud.ready = True
    start_in_background(demo, api, cloud.clients, stopped, demo_customers)
    wait_until_stopped(stopped)
    print("stopping the local cloud...", flush=True)
    cloud.stop()
    print("stopped.", flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local")
    sub = parser.add_subparsers(dest="command")
    run_parser = sub.add_parser("run", help="run the whole system locally")
    # Off unless asked (`make run` asks): the test suites start this module and want an empty system.
    run_parser.add_argument("--demo", choices=["off", "seed", "live"], default="off",
                            help="seed the demo bank in the background once healthy (seed), then keep bank events flowing (live)")
    customers = os.environ.get("LOCAL_DEMO_CUSTOMERS")
    run_parser.add_argument("--demo-customers", type=int, default=int(customers) if customers else None,
                            help="how many demo customers (default $LOCAL_DEMO_CUSTOMERS, else 20)")
    demo = sub.add_parser("demo", help="seed the demo bank into a running local cloud (again: nothing is duplicated)")
    demo.add_argument("mode", choices=["seed", "live"], nargs="?", default="seed")
    demo.add_argument("--customers", type=int, default=int(customers) if customers else None)
    token = sub.add_parser("token", help="print a dev token the local API accepts")
    token.add_argument("subject")
    token.add_argument("groups", nargs="?", default="", help="comma-separated, e.g. operators,approvers")
    token.add_argument("org", nargs="?", default="", help="the operator's org unit (custom:orgUnit), e.g. hq")
    fire = sub.add_parser("fire", help="fire a schedule now on a running local cloud")
    fire.add_argument("schedule")
    sub.add_parser("chaos", help="the local cloud under seeded faults, with a mixed workload (docs/chaos.md)", add_help=False)
    if argv[:1] == ["chaos"]:  # its options are its own (infra/local/chaos.py)
        from infra.local.chaos import main as chaos

        sys.exit(chaos(argv[1:]))
    args = parser.parse_args(argv)
    if args.command == "token":
        from infra.local.tokens import issue

        print(issue(args.subject, [g for g in args.groups.split(",") if g], org_unit=args.org or None))
    elif args.command == "fire":
        import urllib.request

        from infra.local.cloud import Ports

        url = f"http://127.0.0.1:{Ports.from_env().api}/_local/schedules/fire?schedule={args.schedule}"
        with urllib.request.urlopen(urllib.request.Request(url, method="POST")) as response:
            print(response.read().decode())
    elif args.command == "demo":
        demo_against_running(args.mode, args.customers)
    else:
        run(getattr(args, "demo", "off"), getattr(args, "demo_customers", None))


def demo_against_running(mode: str, customers: int | None) -> None:
    """The demo bank into a running `make run` (same ports); `live` streams until Ctrl-C."""
    from infra.local.clients import Clients
    from infra.local.cloud import Ports
    from infra.local.demo import Seeder

    ports = Ports.from_env()
    clients = Clients.for_endpoint(f"http://127.0.0.1:{ports.emulator}")
    seeder = Seeder(f"http://127.0.0.1:{ports.api}", clients.events, customers, sqs_client=clients.sqs)
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    try:
        seeder.seed()
        if mode == "live":
            seeder.live(stopped)
    finally:
        seeder.close()


if __name__ == "__main__":
    main(sys.argv[1:])
