"""The deployment files in deploy/ against the code they start: commands, settings, routes, ports and names.

No container engine runs on the development machine, so the Dockerfile, the compose file and the Kubernetes
manifests are never run here. These tests parse them and check what a deployment relies on, so that a renamed
command, setting, route or object fails here instead of in a county's server room.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_origin

import pytest
import yaml
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from app.adapters.events.relay import Relay
from app.cli import parser
from app.config import Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"

APP_DEPLOYMENT = "spojnia-app"
RELAY_DEPLOYMENT = "spojnia-relay"
MIGRATE_JOB = "spojnia-migrate"
JOBS_CRONJOB = "spojnia-jobs"
CONFIG_MAP = "spojnia-config"
ENV_SECRET = "spojnia-env"
KEYS_SECRET = "spojnia-keys"
# The services of compose.yaml that must not start before the schema is migrated.
AFTER_MIGRATION = ("app", "relay", "jobs")
SPOJNIA_VARIABLE = re.compile(r"\bSPOJNIA_[A-Z0-9_]+")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}: compose's interpolation.
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<operator>:?[-?])(?P<argument>[^}]*))?\}")
KEY_FILES = ("pesel.key_file", "audit.signing_key_file", "local_issuer.key_file")


# --- reading the files ------------------------------------------------------------------------------------------


def yaml_files() -> list[Path]:
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def kubernetes_objects() -> list[dict[str, Any]]:
    return [
        document
        for path in sorted(KUBERNETES.glob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if document is not None
    ]


def kubernetes_object(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in kubernetes_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"deploy/kubernetes/ should hold exactly one {kind} named {name}, holds {len(found)}"
    return found[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod template's spec of a Deployment, Job or CronJob."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


def workloads() -> list[dict[str, Any]]:
    return [o for o in kubernetes_objects() if o["kind"] in {"Deployment", "Job", "CronJob"}]


def only_container(workload: dict[str, Any]) -> dict[str, Any]:
    [container] = pod_spec(workload)["containers"]
    return container


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return document


def spojnia_services() -> dict[str, dict[str, Any]]:
    """The compose services that run the Spójnia image (all but PostgreSQL)."""
    return {name: s for name, s in compose()["services"].items() if "build" in s}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined and comments left out."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in joined.splitlines()]
    return [
        (keyword.upper(), rest.strip())
        for keyword, _, rest in (line.partition(" ") for line in lines if line and not line.startswith("#"))
    ]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def exec_form(keyword: str) -> list[str]:
    """The JSON (exec) form of the final stage's ENTRYPOINT or CMD: the shell form would hide signals from it."""
    [arguments] = [rest for k, rest in final_stage() if k == keyword]
    value = json.loads(arguments)
    assert isinstance(value, list), f"{keyword} should be in exec form (a JSON array): {arguments}"
    return [str(v) for v in value]


def spojnia_commands() -> Iterator[tuple[str, list[str]]]:
    """Every command line that starts `spojnia`, with where it is written."""
    yield "deploy/Dockerfile CMD", exec_form("CMD")
    for name, service in spojnia_services().items():
        command = service["command"]
        yield f"compose service {name}", shlex.split(command) if isinstance(command, str) else command
    for workload in workloads():
        container = only_container(workload)
        where = f"{workload['kind']} {workload['metadata']['name']}"
        yield where, [*container.get("command", []), *container.get("args", [])]


def interpolated(value: str) -> str:
    """A compose value as compose would fill it in, with made-up values for what deploy/.env must give."""

    def fill(match: re.Match[str]) -> str:
        if match["operator"] in {"-", ":-"}:
            return match["argument"]
        return f"given-{match['name'].lower()}"

    return INTERPOLATION.sub(fill, value)


def settings_from(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings a process started with exactly this environment reads (nothing from the test's own)."""
    for name in [n for n in os.environ if n.startswith("SPOJNIA_")]:
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return Settings()


def setting_of(settings: Settings, dotted: str) -> Any:
    value: Any = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def names_a_setting(variable: str) -> bool:
    """Whether SPOJNIA_A__B__C reaches a field of Settings, through nested models ("__"); a dict takes any key."""
    parts = variable.removeprefix("SPOJNIA_").lower().rstrip("_").split("__")
    model: type[BaseModel] = Settings
    for depth, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
            continue
        return depth == len(parts) - 1 or get_origin(annotation) is dict
    return True


def resolve_port(container: dict[str, Any], port: int | str) -> int:
    """A port by number or by the name the container gives it."""
    if isinstance(port, int):
        return port
    [number] = [p["containerPort"] for p in container["ports"] if p.get("name") == port]
    return int(number)


def serve_options(argv: list[str]) -> argparse.Namespace:
    options = parser().parse_args(argv[1:])
    assert options.command == "serve", f"expected `spojnia serve`, found {argv}"
    return options


# --- the files parse, and start real commands ---------------------------------------------------------------------


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_file_under_deploy_parses(path: Path) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]

    assert documents, f"{path} holds no YAML document"
    assert all(isinstance(d, dict) for d in documents)


def test_the_files_the_checks_read_are_there() -> None:
    # Guards the tests below against passing on nothing: a moved file would otherwise leave them empty.
    kinds = {o["kind"] for o in kubernetes_objects()}

    assert DOCKERFILE.is_file()
    assert COMPOSE.is_file()
    assert {"Deployment", "Service", "HorizontalPodAutoscaler", "Job", "CronJob", "ConfigMap", "Secret"} <= kinds


@pytest.mark.parametrize(("where", "argv"), [pytest.param(w, a, id=w) for w, a in spojnia_commands()])
def test_every_spojnia_command_is_one_the_command_line_accepts(
    where: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert argv[:1] == ["spojnia"], f"{where} should run `spojnia ...`, runs {argv}"
    try:
        parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"{where}: `{shlex.join(argv)}` is refused by app.cli: {capsys.readouterr().err.strip()}")


def test_the_image_installs_the_package_without_dev_extras_and_runs_it_as_a_user_without_privileges() -> None:
    stage = final_stage()
    installs = [rest for keyword, rest in dockerfile_instructions() if keyword == "RUN" and "pip install" in rest]
    [user] = [rest for keyword, rest in stage if keyword == "USER"]

    assert stage[0] == ("FROM", "python:3.11-slim")
    assert any(re.search(r"pip install \.(\s|$)", run) for run in installs), "the package itself is installed"
    assert not any("[dev]" in run or " -e " in run for run in installs), "no dev extras, no editable install"
    assert user.split(":")[0] not in {"root", "0"}


def test_the_image_serves_with_several_workers_on_the_port_it_exposes() -> None:
    options = serve_options(exec_form("CMD"))
    [exposed] = [rest for keyword, rest in final_stage() if keyword == "EXPOSE"]

    assert options.host == "0.0.0.0"  # noqa: S104 - inside a container the API must listen beyond loopback
    assert options.workers >= 2
    assert int(exposed) == options.port


def test_the_dockerfile_copies_what_the_package_is_built_from_and_its_ignore_file_lets_it_through() -> None:
    copied = [
        source
        for keyword, rest in dockerfile_instructions()
        if keyword == "COPY" and not rest.startswith("--from")
        for source in rest.split()[:-1]
    ]
    reincluded = {
        line.removeprefix("!").rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    }

    assert {"pyproject.toml", "app"} <= set(copied)
    for source in copied:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which the repository does not have"
        assert source.rstrip("/") in reincluded, f"deploy/Dockerfile.dockerignore keeps {source} out of the context"


def test_kubernetes_containers_keep_the_images_init_process() -> None:
    # `command` would replace the image's ENTRYPOINT (tini), leaving spojnia as PID 1 deaf to SIGTERM.
    assert exec_form("ENTRYPOINT")[0].endswith("tini")
    for workload in workloads():
        assert "command" not in only_container(workload), f"{workload['metadata']['name']} should use args"


# --- settings -----------------------------------------------------------------------------------------------------


def variables_named_in_deploy() -> list[tuple[str, str]]:
    texts = [COMPOSE, *sorted(KUBERNETES.glob("*.yaml")), DOCKERFILE]
    return sorted(
        {
            (str(path.relative_to(DEPLOY)), variable)
            for path in texts
            for variable in SPOJNIA_VARIABLE.findall(path.read_text(encoding="utf-8"))
        }
    )


@pytest.mark.parametrize(("path", "variable"), variables_named_in_deploy())
def test_every_spojnia_variable_in_the_deployment_files_names_a_real_setting(path: str, variable: str) -> None:
    assert names_a_setting(variable), f"{path} names {variable}, which no field of app.config.Settings reads"


def test_the_deployment_files_name_the_settings_a_production_start_needs() -> None:
    named = {variable for _, variable in variables_named_in_deploy()}

    assert {"SPOJNIA_DATABASE_URL", "SPOJNIA_ENVIRONMENT"} <= named
    assert {"SPOJNIA_PESEL__KEY_FILE", "SPOJNIA_AUDIT__SIGNING_KEY_FILE", "SPOJNIA_LOCAL_ISSUER__KEY_FILE"} <= named


@pytest.mark.parametrize("service", sorted(spojnia_services()))
def test_compose_settings_are_production_on_postgresql_with_every_key_file_mounted(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spojnia_services()[service]
    environment = {name: interpolated(str(value)) for name, value in spec["environment"].items()}
    mounted = {s["target"] if s["target"].startswith("/") else f"/run/secrets/{s['target']}" for s in spec["secrets"]}
    declared_secrets = set(compose()["secrets"])
    postgres = compose()["services"]["postgres"]["environment"]

    settings = settings_from(environment, monkeypatch)
    url = make_url(settings.database_url)

    assert settings.environment == "production"
    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "postgres"
    assert (url.username, url.database) == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])
    for key in KEY_FILES:
        assert str(setting_of(settings, key)) in mounted, f"{service}: {key} is not a mounted secret"
    assert {s["source"] for s in spec["secrets"]} <= declared_secrets


@pytest.mark.parametrize("workload", workloads(), ids=lambda w: w["metadata"]["name"])
def test_kubernetes_settings_are_production_on_postgresql_with_every_key_file_mounted(
    workload: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    container = only_container(workload)
    config = kubernetes_object("ConfigMap", CONFIG_MAP)["data"]
    env_secret = kubernetes_object("Secret", ENV_SECRET)["stringData"]
    keys_secret = kubernetes_object("Secret", KEYS_SECRET)["stringData"]
    sources = {next(iter(s.values()))["name"] for s in container["envFrom"]}
    volumes = {v["name"]: v for v in pod_spec(workload)["volumes"]}
    [keys_mount] = [m for m in container["volumeMounts"] if volumes[m["name"]].get("secret")]
    environment = {**config, **env_secret, **{e["name"]: e["value"] for e in container.get("env", [])}}

    settings = settings_from(environment, monkeypatch)

    assert sources == {CONFIG_MAP, ENV_SECRET}
    assert volumes[keys_mount["name"]]["secret"]["secretName"] == KEYS_SECRET
    assert settings.environment == "production"
    assert make_url(settings.database_url).drivername == "postgresql+asyncpg"
    for key in KEY_FILES:
        path = Path(setting_of(settings, key))
        assert str(path.parent) == keys_mount["mountPath"], f"{key} is outside the mounted Secret"
        assert path.name in keys_secret, f"{key} names {path.name}, which the Secret {KEYS_SECRET} does not hold"


def test_the_secret_examples_hold_placeholders_not_keys() -> None:
    for secret in (o for o in kubernetes_objects() if o["kind"] == "Secret"):
        for name, value in secret.get("stringData", {}).items():
            assert "PRIVATE KEY" not in value, f"{secret['metadata']['name']}.{name} looks like a real key"
            assert "REPLACE" in value, f"{secret['metadata']['name']}.{name} should be an obvious placeholder"


# --- the API: probes, ports, scaling --------------------------------------------------------------------------------


def app_routes() -> set[str]:
    return {str(route.path) for route in iter_route_contexts(create_app().routes)}


def test_the_app_deployments_probes_ask_routes_the_app_serves_on_the_port_it_serves() -> None:
    container = only_container(kubernetes_object("Deployment", APP_DEPLOYMENT))
    options = serve_options(container["args"])
    readiness, liveness = container["readinessProbe"]["httpGet"], container["livenessProbe"]["httpGet"]
    routes = app_routes()

    assert readiness["path"] == "/health/ready"
    assert liveness["path"] == "/health/live"
    assert {readiness["path"], liveness["path"]} <= routes
    assert resolve_port(container, readiness["port"]) == options.port
    assert resolve_port(container, liveness["port"]) == options.port
    assert options.workers >= 2


def test_the_service_sends_traffic_to_the_port_the_app_serves_on_and_selects_its_pods() -> None:
    deployment = kubernetes_object("Deployment", APP_DEPLOYMENT)
    container = only_container(deployment)
    service = kubernetes_object("Service", APP_DEPLOYMENT)
    [port] = service["spec"]["ports"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]

    assert resolve_port(container, port["targetPort"]) == serve_options(container["args"]).port
    assert [p["containerPort"] for p in container["ports"]] == [serve_options(container["args"]).port]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_the_autoscaler_scales_the_app_deployment_on_cpu_it_requests() -> None:
    hpa = kubernetes_object("HorizontalPodAutoscaler", APP_DEPLOYMENT)
    target = hpa["spec"]["scaleTargetRef"]
    [metric] = hpa["spec"]["metrics"]
    resources = only_container(kubernetes_object("Deployment", APP_DEPLOYMENT))["resources"]

    assert hpa["apiVersion"] == "autoscaling/v2"
    assert (target["apiVersion"], target["kind"], target["name"]) == ("apps/v1", "Deployment", APP_DEPLOYMENT)
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    # Utilisation is a share of the request: without one the autoscaler has nothing to divide by.
    assert "cpu" in resources["requests"]
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize("workload", workloads(), ids=lambda w: w["metadata"]["name"])
def test_every_container_has_a_memory_limit(workload: dict[str, Any]) -> None:
    limit = only_container(workload)["resources"]["limits"]["memory"]

    assert re.fullmatch(r"\d+Mi", limit), f"{workload['metadata']['name']}: {limit}"
    assert 128 <= int(limit.removesuffix("Mi")) <= 1024


def test_every_workload_runs_the_same_image_as_the_app() -> None:
    image = only_container(kubernetes_object("Deployment", APP_DEPLOYMENT))["image"]

    assert only_container(kubernetes_object("Job", MIGRATE_JOB))["image"] == image
    assert only_container(kubernetes_object("CronJob", JOBS_CRONJOB))["image"] == image
    assert {only_container(w)["image"] for w in workloads()} == {image}


def test_several_relays_run_because_delivery_claims_rows_with_skip_locked() -> None:
    relay = kubernetes_object("Deployment", RELAY_DEPLOYMENT)

    assert only_container(relay)["args"] == ["spojnia", "relay"]
    assert relay["spec"]["replicas"] >= 2
    # The manifests' comments say why several are safe; this keeps that true of the code.
    assert "skip_locked=True" in inspect.getsource(Relay.deliver)
    assert "pg_advisory_xact_lock" in inspect.getsource(Relay.publish)


def test_the_jobs_cronjob_runs_one_round_at_a_time_without_the_purge() -> None:
    cronjob = kubernetes_object("CronJob", JOBS_CRONJOB)
    container = only_container(cronjob)
    overrides = {e["name"]: e["value"] for e in container.get("env", [])}

    # Without --once the first run would never end and, with Forbid, no later one would start.
    assert container["args"] == ["spojnia", "jobs", "--once"]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert overrides.get("SPOJNIA_RETENTION__ENABLED") == "false", "--once would purge on every run"
    purges = [w for w in workloads() if only_container(w)["args"][1:3] == ["retention", "purge"]]
    assert [w["kind"] for w in purges] == ["CronJob"], "the purge runs on its own schedule"


def test_the_migration_job_runs_migrate_once() -> None:
    job = kubernetes_object("Job", MIGRATE_JOB)

    assert only_container(job)["args"] == ["spojnia", "migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"


# --- compose ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", AFTER_MIGRATION)
def test_compose_starts_the_service_only_after_the_migration_completed(service: str) -> None:
    depends_on = compose()["services"][service]["depends_on"]

    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_compose_migrates_once_after_postgresql_is_healthy() -> None:
    services = compose()["services"]
    migrate, postgres = services["migrate"], services["postgres"]

    assert migrate["command"] == ["spojnia", "migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert postgres["image"] == "postgres:15"
    assert "healthcheck" in postgres
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])


def test_compose_serves_with_several_workers_checked_on_the_ready_route_of_the_port_it_publishes() -> None:
    app = compose()["services"]["app"]
    options = serve_options(app["command"])
    health = " ".join(app["healthcheck"]["test"])

    assert options.workers >= 2
    assert all(str(mapping).rsplit(":", 1)[-1] == str(options.port) for mapping in app["ports"])
    assert f"127.0.0.1:{options.port}/health/ready" in health
    assert "/health/ready" in app_routes()


def test_compose_builds_one_image_from_the_dockerfile_for_every_spojnia_service() -> None:
    services = spojnia_services()

    assert set(AFTER_MIGRATION) | {"migrate"} <= set(services)
    assert len({s["image"] for s in services.values()}) == 1
    for service in services.values():
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == DOCKERFILE
    assert compose()["services"]["relay"]["command"] == ["spojnia", "relay"]
    assert compose()["services"]["jobs"]["command"] == ["spojnia", "jobs"]


def test_compose_volumes_of_spojnia_services_are_directories_the_image_gives_its_user() -> None:
    # A new named volume takes the owner of the image's directory it is mounted on: root's would refuse the user.
    [user] = [rest for keyword, rest in final_stage() if keyword == "USER"]
    uid = user.split(":")[0]
    runs = [rest for keyword, rest in final_stage() if keyword == "RUN"]
    mounted = [
        (name, str(volume).split(":")[1])
        for name, service in spojnia_services().items()
        for volume in service.get("volumes", [])
    ]

    assert mounted, "compose.yaml mounts no volume into a Spójnia service: the anchor file's is gone"
    for name, target in mounted:
        assert any(target in run and (f"--owner={uid}" in run or f"chown {uid}" in run) for run in runs), (
            f"{name} mounts a volume at {target}, which deploy/Dockerfile does not make for user {uid}"
        )
