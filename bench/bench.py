"""Benchmarks: synthesis times and the test suite's wall time (``make bench``; not part of ``make test``).

Measured:

- ``example_app``: the example app of app.py with the rule packs on, as ``cdk synth`` runs it.
- ``web_service``: one web service stack built from this library (SecureVpc, HardenedCluster,
  HardenedTaskDefinition, SecureLoadBalancer, AlbFargateService), without the rule packs.
- ``web_service_plain``: the same service built with plain ``aws_cdk.aws_ecs_patterns``
  (``ec2.Vpc``, ``ecs.Cluster``, ``ApplicationLoadBalancedFargateService``: same image, CPU,
  memory, port, HTTPS certificate and task count), without the rule packs.
- ``fleet`` and ``fleet_plain``: ten such services in one app, with every rule pack on: the
  library's on one shared load balancer, the plain ones each with its own (``fleet.py``).
- the footprint: resources one more service adds to a stack, KMS keys, how many services
  one stack holds under CloudFormation's 500-resource limit, and 100 services across stacks.
- the test suite: one ``pytest`` run, wall time.

Every synthesis runs in a fresh Python process, so each pays the same interpreter and jsii
start-up. Three phases are timed apart: start-up (importing aws-cdk-lib, which starts the
jsii Node.js process), the first synthesis of a one-resource app (aws-cdk-lib loading most
of its JavaScript, a fixed cost of every ``cdk synth``), then the case: building its
constructs and ``app.synth()``. Synthesis time is the last two together: everything after
start-up, what ``cdk synth`` spends on the app. The two web service cases alternate in one
run; figures are medians of the repetitions. The budget compares synthesis times (start-up
counted apart, the fixed first-synthesis cost on both sides equally): the library's stack
may take at most 1.3x the plain one. The case-alone ratio (fixed cost left out, the
strictest view of what the hardening costs) and whole-process times are recorded too.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402 - the clock starts before any import
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
README = ROOT / "README.md"
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"

RATIO_BUDGET = 1.3
"""The library's web service stack synthesizes in at most 1.3x the plain aws_ecs_patterns time."""
TEST_SUITE_BUDGET_S = 60.0
"""The whole test suite, after set-up, on a 2-core machine."""

REGION = "ap-northeast-2"
IMAGE = "public.ecr.aws/nginx/nginx@sha256:" + "0" * 64
CERTIFICATE_ARN = (
    "arn:aws:acm:ap-northeast-2:111122223333:certificate/11111111-2222-3333-4444-555555555555"
)
CONTAINER_PORT = 8080

PAIRS = (("web_service", "web_service_plain"), ("fleet", "fleet_plain"))
"""Each pair alternates in one run: the library's case, then the plain one (or the reverse)."""
CASES = (*(case for pair in PAIRS for case in pair), "example_app")
FLEET_SIZE = 10
FLEET_RATIO_BUDGET = 1.3
"""Ten web services with every rule pack: at most 1.3x the plain aws_ecs_patterns time."""
SERVICE_RESOURCE_BUDGET = 16
"""A hardened web service on a shared load balancer adds at most 16 resources and no KMS key."""
SERVICES_PER_STACK_BUDGET = 25
"""One stack holds at least 25 such services (with its VPC, cluster and load balancer)."""
SUITE_CASES = ("scenarios_bare", "scenarios_cdk_nag", "scenarios_all_packs")
"""Where the test suite's time goes: every construct scenario in one app (the suite splits
them over parallel workers), with no rule packs, with cdk-nag's five packs, and with the
Control Tower guard rules as well."""


# --- Child process: build and synthesize one case -------------------------------------------


def _child(case: str, outdir: str) -> None:
    """Build ``case`` in a fresh app, synthesize it, print the phase times as JSON."""
    sys.path.insert(0, str(ROOT))
    if case == "footprint":
        import fleet

        print(json.dumps(fleet.footprint()))
        return
    import aws_cdk as cdk

    imported = time.perf_counter()
    context = {
        **json.loads((ROOT / "cdk.json").read_text())["context"],
        "aws:cdk:version-reporting": False,
    }
    # The first synthesis in a process loads most of aws-cdk-lib's JavaScript (about 4 s
    # whatever the app): time it on a one-resource app, apart from the case.
    warmup = cdk.App(outdir=str(Path(outdir) / "warmup"), context=context)
    cdk.CfnResource(cdk.Stack(warmup, "Warmup"), "Topic", type="AWS::SNS::Topic")
    warmup.synth()
    warmed = time.perf_counter()
    app = cdk.App(outdir=outdir, context=context)
    result: dict[str, Any] = {}
    try:
        BUILDERS[case](app)
        built = time.perf_counter()
        try:
            app.synth()
        except RuntimeError as error:  # rule-pack findings: the templates are still written
            result["findings"] = str(error).splitlines()[0]
        synthesized = time.perf_counter()
    except Exception as error:  # the case cannot be built with the library as it stands
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
        print(json.dumps(result))
        return
    from tests.synth import stack_files  # every stack, the stages' included

    templates = list(stack_files(Path(outdir)).values())
    result.update(
        startup_s=imported - STARTED,
        warmup_s=warmed - imported,
        build_s=built - warmed,
        synth_s=synthesized - built,
        construct_and_synth_s=synthesized - warmed,
        synthesis_s=synthesized - imported,
        resources=sum(len(json.loads(p.read_text())["Resources"]) for p in templates),
    )
    print(json.dumps(result))


def _example_app(app: Any) -> None:
    from stacks.app import build_app

    build_app(app)


def web_service(app: Any) -> Any:
    """Build the library's web service stack in ``app``; returns the AlbFargateService."""
    import aws_cdk as cdk
    from aws_cdk import aws_certificatemanager as acm
    from aws_cdk import aws_ecs as ecs

    from ecs_patterns_plus import AlbFargateService, HardenedCluster, SecureLoadBalancer, SecureVpc
    from ecs_patterns_plus.task_definition import HardenedTaskDefinition

    stack = cdk.Stack(app, "WebService", env=cdk.Environment(region=REGION))
    network = SecureVpc(stack, "Network")
    platform = HardenedCluster(stack, "Platform", vpc=network.vpc)
    task = HardenedTaskDefinition(
        stack,
        "Task",
        image=ecs.ContainerImage.from_registry(IMAGE),
        container_port=CONTAINER_PORT,
    )
    load_balancer = SecureLoadBalancer(
        stack,
        "LoadBalancer",
        vpc=network.vpc,
        certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN),
        internet_facing=True,
    )
    return AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=task,
        load_balancer=load_balancer,
        endpoints=network.endpoints,
    )


def web_service_plain(app: Any) -> None:
    """Build the same web service with plain aws_ecs_patterns in ``app``."""
    import aws_cdk as cdk
    from aws_cdk import aws_certificatemanager as acm
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_ecs_patterns as ecs_patterns
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2

    from ecs_patterns_plus import defaults

    stack = cdk.Stack(app, "WebServicePlain", env=cdk.Environment(region=REGION))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2)
    cluster = ecs.Cluster(stack, "Cluster", vpc=vpc)
    ecs_patterns.ApplicationLoadBalancedFargateService(
        stack,
        "Web",
        cluster=cluster,
        cpu=defaults.TASK_CPU,
        memory_limit_mib=defaults.TASK_MEMORY_MIB,
        desired_count=defaults.DESIRED_COUNT,
        task_image_options=ecs_patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_registry(IMAGE), container_port=CONTAINER_PORT
        ),
        certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN),
        protocol=elbv2.ApplicationProtocol.HTTPS,
        public_load_balancer=True,
        min_healthy_percent=100,
    )


def _scenarios(packs: str) -> Callable[[Any], None]:
    def build(app: Any) -> None:
        import tests.scenarios as scenarios
        from ecs_patterns_plus import compliance

        def checks(app: Any) -> None:
            if packs != "none":
                compliance.enable_compliance_checks(app, control_tower=packs == "all")

        scenarios.enable_compliance_checks = checks
        scenarios.build_scenario_app(app)

    return build


def _fleet(plain: bool) -> Callable[[Any], None]:
    def build(app: Any) -> None:
        import fleet

        from ecs_patterns_plus import enable_compliance_checks

        enable_compliance_checks(app)
        (fleet.fleet_plain if plain else fleet.fleet)(app, FLEET_SIZE)

    return build


BUILDERS: dict[str, Callable[[Any], object]] = {
    "example_app": _example_app,
    "web_service": web_service,
    "web_service_plain": web_service_plain,
    "fleet": _fleet(plain=False),
    "fleet_plain": _fleet(plain=True),
    "scenarios_bare": _scenarios("none"),
    "scenarios_cdk_nag": _scenarios("cdk_nag"),
    "scenarios_all_packs": _scenarios("all"),
}


# --- Parent: run the cases, the test suite, write the results --------------------------------


def _run_case(case: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{case}-") as outdir:
        start = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, __file__, "--child", case, outdir],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"},
            check=False,
        )
        wall = time.perf_counter() - start
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        tail = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {completed.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_s"] = wall
    return result


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = [run for run in runs if "error" not in run]
    if not good:
        return {"available": False, "error": runs[0]["error"] if runs else "not run"}
    keys = (
        "startup_s",
        "warmup_s",
        "build_s",
        "synth_s",
        "construct_and_synth_s",
        "synthesis_s",
        "process_s",
    )
    summary: dict[str, Any] = {
        "available": True,
        "runs": len(good),
        "median": {key: round(statistics.median(run[key] for run in good), 3) for key in keys},
        "resources": good[0]["resources"],
    }
    if any("findings" in run for run in good):
        summary["findings"] = next(run["findings"] for run in good if "findings" in run)
    return summary


def _test_suite() -> dict[str, Any]:
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - start
    counts = re.findall(r"^=*\s*(\d+ (?:passed|failed|error).*?)\s*=*$", completed.stdout, re.M)
    summary = counts[-1] if counts else f"exit status {completed.returncode}"
    return {
        "wall_s": round(wall, 1),
        "budget_s": TEST_SUITE_BUDGET_S,
        "within_budget": wall <= TEST_SUITE_BUDGET_S,
        "passed": completed.returncode == 0,
        "summary": summary,
    }


def _versions() -> dict[str, str]:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "node": node.stdout.strip(),
        "aws-cdk-lib": version("aws-cdk-lib"),
        "cpus": str(os.cpu_count()),
        "machine": platform.machine(),
    }


def measure(repeat: int, fleet_repeat: int, example_repeat: int, tests: bool) -> dict[str, Any]:
    """Run every case (each pair alternating), the footprint and, if ``tests``, the test suite
    and its breakdown (the scenario app with and without the rule packs, once each)."""
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
    for pair, times in zip(PAIRS, (repeat, fleet_repeat), strict=True):
        for index in range(times):
            for case in pair if index % 2 == 0 else pair[::-1]:
                runs[case].append(_run_case(case))
                print(f"  {case} #{index + 1}: {_brief(runs[case][-1])}", file=sys.stderr)
    for index in range(example_repeat):
        runs["example_app"].append(_run_case("example_app"))
        print(f"  example_app #{index + 1}: {_brief(runs['example_app'][-1])}", file=sys.stderr)
    cases = {case: _summarise(items) for case, items in runs.items()}
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "environment": _versions(),
        "repetitions": {
            "web_service_pair": repeat,
            "fleet_pair": fleet_repeat,
            "example_app": example_repeat,
        },
        "cases": cases,
    }
    for (ours, plain), budget in zip(PAIRS, (RATIO_BUDGET, FLEET_RATIO_BUDGET), strict=True):
        ratio = _ratio(cases[ours], cases[plain], budget)
        if ratio:
            results[f"{ours}_ratio"] = ratio
    print("  footprint ...", file=sys.stderr)
    results["footprint"] = _footprint()
    if tests:
        measure_test_suite(results)
    # Other work on the machine slows every case alike; the load says how quiet it was.
    results["environment"]["load_average_1m"] = [
        round(load_before, 2),
        round(os.getloadavg()[0], 2),
    ]
    return results


def _ratio(ours: dict[str, Any], plain: dict[str, Any], budget: float) -> dict[str, Any] | None:
    if not (ours["available"] and plain["available"]):
        return None

    def ratio(key: str) -> float:
        return round(ours["median"][key] / plain["median"][key], 2)

    return {
        "synthesis": ratio("synthesis_s"),
        "construct_and_synth": ratio("construct_and_synth_s"),
        "process": ratio("process_s"),
        "budget": budget,
        "within_budget": ratio("synthesis_s") <= budget,
    }


def _footprint() -> dict[str, Any]:
    """Resources per service and per stack (``fleet.footprint`` in a child), against budgets."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child", "footprint", "-"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"},
        check=False,
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        tail = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {completed.returncode}: {tail}", "within_budget": False}
    result: dict[str, Any] = json.loads(lines[-1])
    across = result["across_stacks"]["resources"].values()
    result["budget"] = {
        "further_service_resources": SERVICE_RESOURCE_BUDGET,
        "keys_per_service": 0,
        "services_per_stack": SERVICES_PER_STACK_BUDGET,
    }
    result["within_budget"] = (
        result["further_service_resources"] <= SERVICE_RESOURCE_BUDGET
        and result["keys_per_service"] == 0
        and result["max_services_per_stack"] >= SERVICES_PER_STACK_BUDGET
        and "resources" in result["one_stack"]
        and all(count <= 500 for count in across)
    )
    return result


def measure_test_suite(results: dict[str, Any]) -> None:
    """Time the test suite and its breakdown into ``results``."""
    print("  test suite ...", file=sys.stderr)
    results["test_suite"] = _test_suite()
    print(f"  test suite: {results['test_suite']}", file=sys.stderr)
    for case in SUITE_CASES:
        run = _run_case(case)
        print(f"  {case}: {_brief(run)}", file=sys.stderr)
        results["cases"][case] = _summarise([run])


def _brief(run: dict[str, Any]) -> str:
    if "error" in run:
        return run["error"]
    return (
        f"{run['synthesis_s']:.2f} s synthesis ({run['construct_and_synth_s']:.2f} s beyond the "
        f"fixed first-synth cost), {run['process_s']:.2f} s process"
    )


# --- README table ----------------------------------------------------------------------------


def readme_table(results: dict[str, Any]) -> str:
    """The Markdown between the README's bench markers."""
    env = results["environment"]
    lines = [
        f"Measured {results['measured_at'][:10]} on {env['cpus']} CPUs ({env['machine']}), "
        f"Python {env['python']}, Node.js {env['node']}, aws-cdk-lib {env['aws-cdk-lib']}"
        + (
            f", 1-minute load average {load[0]:g} before and {load[1]:g} after"
            if (load := env.get("load_average_1m"))
            else ""
        )
        + "; medians of fresh processes (`make bench`, raw figures in `bench/results.json`).",
        "",
        "| What | Resources | Start-up (s) | Synthesis (s) | of which fixed (s) "
        "| of which the case (s) | Process (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "web_service": "Web service stack, this library",
        "web_service_plain": "Web service stack, plain `aws_ecs_patterns`",
        "fleet": f"{FLEET_SIZE} web services, this library (rule packs on)",
        "fleet_plain": f"{FLEET_SIZE} web services, plain `aws_ecs_patterns` (rule packs on)",
        "example_app": "Example app (3 stages and the pipeline, rule packs on)",
    }
    for case, label in labels.items():
        item = results["cases"].get(case, {})
        if not item.get("available"):
            lines.append(f"| {label} | — | — | not available | — | — | — |")
            continue
        median = item["median"]
        lines.append(
            f"| {label} | {item['resources']} | {median['startup_s']:.2f} | "
            f"{median['synthesis_s']:.2f} | {median['warmup_s']:.2f} | "
            f"{median['construct_and_synth_s']:.2f} | {median['process_s']:.2f} |"
        )
    lines.append("")
    for key, what in (
        ("web_service_ratio", "Web service"),
        ("fleet_ratio", f"{FLEET_SIZE} web services with every rule pack"),
    ):
        ratio = results.get(key)
        if ratio:
            verdict = "within" if ratio["within_budget"] else "**over**"
            lines.append(
                f"- {what}, library / plain: **{ratio['synthesis']:.2f}x** synthesis time "
                f"(budget {ratio['budget']}x: {verdict}); {ratio['construct_and_synth']:.2f}x "
                "for the case alone, fixed first-synth cost left out; "
                f"{ratio['process']:.2f}x whole process."
            )
    lines.extend(_footprint_lines(results.get("footprint")))
    suite = results.get("test_suite")
    if suite:
        verdict = "within" if suite["within_budget"] else "**over**"
        load = suite.get("load_average_1m")
        when = f", measured apart at load {load[0]:g}-{load[1]:g}" if load else ""
        lines.append(
            f"- Test suite (`pytest`, after set-up): **{suite['wall_s']:.1f} s** wall "
            f"({suite['summary']}{when}); budget {suite['budget_s']:.0f} s: {verdict}."
        )
        parts = {case: results["cases"].get(case, {}) for case in SUITE_CASES}
        if all(part.get("available") for part in parts.values()):
            bare, nag, every = (
                parts[case]["median"]["construct_and_synth_s"] for case in SUITE_CASES
            )
            lines.append(
                "- Where it goes: all construct scenarios in one app (the suite splits them over "
                f"parallel workers; {parts['scenarios_bare']['resources']} resources) take "
                f"{bare:.1f} s to build and synthesize without "
                f"rule packs, {nag:.1f} s with cdk-nag's five packs and {every:.1f} s with the "
                "Control Tower guard rules too (cfn-guard screening every template on every core)."
            )
    return "\n".join(lines) + "\n"


def _footprint_lines(footprint: dict[str, Any] | None) -> list[str]:
    if not footprint:
        return []
    if "error" in footprint:
        return [f"- Footprint: **not measured** ({footprint['error']})."]
    verdict = "within" if footprint["within_budget"] else "**over**"
    one = footprint["one_stack"]
    one_stack = (
        f"{one['resources']} resources"
        if "resources" in one
        else f"refused by CDK ({one['error']})"
    )
    across = footprint["across_stacks"]
    stacks = ", ".join(f"{name} {count}" for name, count in across["resources"].items())
    keys = sum(across["keys"].values())
    return [
        f"- Footprint: each further web service on a shared load balancer adds "
        f"**{footprint['further_service_resources']} resources** "
        f"({footprint['keys_per_service']} KMS keys; the first adds "
        f"{footprint['first_service_resources']}, the platform itself "
        f"{footprint['platform_resources']}): one stack holds "
        f"**{footprint['max_services_per_stack']} services** under the 500-resource limit "
        f"({one['services']} services: {one_stack}). Budget {SERVICE_RESOURCE_BUDGET} "
        f"resources, no key, {SERVICES_PER_STACK_BUDGET} services per stack: {verdict}.",
        f"- {across['services']} services across stacks (resources per stack): {stacks}; "
        f"{keys} KMS keys in all.",
    ]


def replace_block(text: str, start_marker: str, end_marker: str, readme: Path = README) -> bool:
    """Put ``text`` between the two markers of ``readme``; whether it changed."""
    from ecs_patterns_plus.review.markdown import replace_block as replace  # not in start-up

    try:
        return replace(readme, start_marker, end_marker, text)
    except ValueError as error:
        raise SystemExit(str(error)) from None


def update_readme(results: dict[str, Any], readme: Path = README) -> bool:
    return replace_block(readme_table(results), README_START, README_END, readme)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--child", nargs=2, metavar=("CASE", "OUTDIR"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=5, help="web service pair runs (default 5)")
    parser.add_argument(
        "--fleet-repeat", type=int, default=3, help="ten-service fleet pair runs (default 3)"
    )
    parser.add_argument(
        "--example-repeat", type=int, default=3, help="example app runs (default 3)"
    )
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suite")
    parser.add_argument(
        "--tests-only",
        action="store_true",
        help="measure only the test suite (and its breakdown) into bench/results.json",
    )
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="rewrite the README table from bench/results.json without measuring",
    )
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    if args.readme_only:
        results = json.loads(RESULTS.read_text())
    elif args.tests_only:
        results = json.loads(RESULTS.read_text())
        load_before = os.getloadavg()[0]
        measure_test_suite(results)
        results["test_suite"]["measured_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        results["test_suite"]["load_average_1m"] = [
            round(load_before, 2),
            round(os.getloadavg()[0], 2),
        ]
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    else:
        results = measure(
            args.repeat, args.fleet_repeat, args.example_repeat, tests=not args.skip_tests
        )
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    update_readme(results)
    sys.stdout.write(readme_table(results))
    over = [
        name
        for name in ("web_service_ratio", "fleet_ratio", "footprint", "test_suite")
        if results.get(name, {}).get("within_budget") is False
    ]
    if over:
        print(f"over budget: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
