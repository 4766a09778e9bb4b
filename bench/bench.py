"""Benchmarks: synthesis times and the test suite's wall time (``make bench``; not part of ``make test``).

Measured:

- ``example_app``: the example app of app.py with the rule packs on, as ``cdk synth`` runs it.
- ``web_service``: one web service stack built from this library (SecureVpc, HardenedCluster,
  HardenedTaskDefinition, SecureLoadBalancer, AlbFargateService), without the rule packs.
- ``web_service_plain``: the same service built with plain ``aws_cdk.aws_ecs_patterns``
  (``ec2.Vpc``, ``ecs.Cluster``, ``ApplicationLoadBalancedFargateService``: same image, CPU,
  memory, port, HTTPS certificate and task count), without the rule packs.
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

CASES = ("web_service", "web_service_plain", "example_app")
SUITE_CASES = ("scenarios_bare", "scenarios_cdk_nag", "scenarios_all_packs")
"""Where the test suite's time goes: every construct scenario in one app (the suite splits
them over parallel workers), with no rule packs, with cdk-nag's five packs, and with the
Control Tower guard rules as well."""


# --- Child process: build and synthesize one case -------------------------------------------


def _child(case: str, outdir: str) -> None:
    """Build ``case`` in a fresh app, synthesize it, print the phase times as JSON."""
    sys.path.insert(0, str(ROOT))
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
    templates = list(Path(outdir).glob("*.template.json"))
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
    from stacks import build_app

    build_app(app)


def _web_service(app: Any) -> None:
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
    AlbFargateService(
        stack,
        "Web",
        cluster=platform.cluster,
        task_definition=task,
        load_balancer=load_balancer,
        endpoints=network.endpoints,
    )


def _web_service_plain(app: Any) -> None:
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


BUILDERS: dict[str, Callable[[Any], None]] = {
    "example_app": _example_app,
    "web_service": _web_service,
    "web_service_plain": _web_service_plain,
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


def measure(repeat: int, example_repeat: int, tests: bool) -> dict[str, Any]:
    """Run every case (the web service pair alternating) and, if ``tests``, the test suite
    and its breakdown (the scenario app with and without the rule packs, once each)."""
    load_before = os.getloadavg()[0]
    runs: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
    for index in range(repeat):
        pair = ("web_service", "web_service_plain")
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
        "repetitions": {"web_service_pair": repeat, "example_app": example_repeat},
        "cases": cases,
    }
    ours, plain = cases["web_service"], cases["web_service_plain"]
    if ours["available"] and plain["available"]:

        def ratio(key: str) -> float:
            return round(ours["median"][key] / plain["median"][key], 2)

        results["web_service_ratio"] = {
            "synthesis": ratio("synthesis_s"),
            "construct_and_synth": ratio("construct_and_synth_s"),
            "process": ratio("process_s"),
            "budget": RATIO_BUDGET,
            "within_budget": ratio("synthesis_s") <= RATIO_BUDGET,
        }
    if tests:
        measure_test_suite(results)
    # Other work on the machine slows every case alike; the load says how quiet it was.
    results["environment"]["load_average_1m"] = [
        round(load_before, 2),
        round(os.getloadavg()[0], 2),
    ]
    return results


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
        "example_app": "Example app (all stacks, rule packs on)",
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
    ratio = results.get("web_service_ratio")
    if ratio:
        verdict = "within" if ratio["within_budget"] else "**over**"
        lines.append(
            f"- Web service, library / plain: **{ratio['synthesis']:.2f}x** synthesis time "
            f"(budget {ratio['budget']}x: {verdict}); {ratio['construct_and_synth']:.2f}x for "
            f"the case alone, fixed first-synth cost left out; {ratio['process']:.2f}x whole process."
        )
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
                "Control Tower guard rules too (cfn-guard runs once per stack)."
            )
    return "\n".join(lines) + "\n"


def update_readme(results: dict[str, Any], readme: Path = README) -> bool:
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme.name}: no {README_START} ... {README_END} block")
    updated = text[: start + len(README_START)] + "\n" + readme_table(results) + text[end:]
    if updated != text:
        readme.write_text(updated, encoding="utf-8")
    return updated != text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--child", nargs=2, metavar=("CASE", "OUTDIR"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=5, help="web service pair runs (default 5)")
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
        results = measure(args.repeat, args.example_repeat, tests=not args.skip_tests)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    update_readme(results)
    sys.stdout.write(readme_table(results))
    over = [
        name
        for name in ("web_service_ratio", "test_suite")
        if results.get(name, {}).get("within_budget") is False
    ]
    if over:
        print(f"over budget: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
