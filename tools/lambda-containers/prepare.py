"""Prepare this machine to run the functions in Lambda runtime containers (`sam local`).

Three parts, each checked first and done only when missing, each timed:

1. the container engine: Docker answering (on Debian as root: installed and started);
2. the Lambda base image SAM asks for (template.yaml's runtime and architecture):
   pulled where a registry answers, else a stand-in built offline (see build_stand_in);
3. the AWS SDK for pandas layer in SAM's layer cache: SAM downloads a layer only when its
   folder is missing, and downloading needs AWS credentials; the stand-in holds the packages
   of layers/managed-pandas-layer.toml, from PyPI.

On a machine with Docker and a registry it pulls (or finds) the real image and does nothing
else. `--check` changes nothing and exits 1 if a part is missing. Why and how it differs from
AWS: docs/adr/0014-functions-in-lambda-runtime-containers.md.

Runs on the machine's Python (3.11 or newer, the standard library only).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TEMPLATE = ROOT / "template.yaml"
MANAGED_LAYER = ROOT / "layers" / "managed-pandas-layer.toml"
STATE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "csvflow-lambda-containers"
# SAM's default --layer-cache-basedir (samcli/commands/local/cli_common/options.py).
SAM_LAYER_CACHE = Path.home() / ".aws-sam" / "layers-pkg"

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
# What CPython's extension modules link to (ssl, sqlite3, ctypes, lzma, bz2, readline, ...).
DEBIAN_LIBRARIES = (
    "ca-certificates libbz2-1.0 libexpat1 libffi8 liblzma5 libncursesw6 libnsl2 "
    "libreadline8 libsqlite3-0 libssl3 libtirpc3 libuuid1 zlib1g"
).split()
# The runtime interface client AWS's Python images run, and the SDK they carry in
# /var/runtime (the functions import boto3 from there: no layer of ours ships it).
RUNTIME_PACKAGES = ("awslambdaric==4.2.2", "boto3==1.40.4")
IMPORTS_TO_CHECK = "ssl, sqlite3, ctypes, lzma, bz2, zlib, uuid, decimal, json, awslambdaric, boto3"
STAND_IN_LABEL = "csvflow.lambda-stand-in"


class PrepareFailed(Exception):
    """A part could not be prepared; the message says what to do."""


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, text=True, capture_output=True, check=False, **kwargs)


def must(command: list[str], **kwargs) -> str:
    result = run(command, **kwargs)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise PrepareFailed(f"`{' '.join(command[:4])} ...` failed:\n{output}")
    return result.stdout


# --- 1. The engine --------------------------------------------------------------------


def engine_answers() -> bool:
    return shutil.which("docker") is not None and run(["docker", "info"]).returncode == 0


def ensure_engine(check: bool) -> str:
    if engine_answers():
        return "Docker answers"
    if check:
        raise PrepareFailed("Docker does not answer")
    if os.geteuid() != 0:
        raise PrepareFailed("Docker does not answer: install and start it (or run this as root)")
    installed = ""
    if shutil.which("dockerd") is None:
        if shutil.which("apt-get") is None:
            raise PrepareFailed("no dockerd and no apt-get: install Docker")
        apt_install("docker.io")
        installed = "installed docker.io, "
    STATE.mkdir(parents=True, exist_ok=True)
    log = STATE / "dockerd.log"
    with log.open("ab") as out:
        subprocess.Popen(  # noqa: S603 - a fixed command; it outlives this script on purpose
            ["dockerd"], stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if engine_answers():
            return f"{installed}started dockerd (log: {log})"
        time.sleep(0.5)
    raise PrepareFailed(f"dockerd did not answer within 60 s: see {log}")


def apt_install(package: str) -> None:
    # (the package lists of a fresh machine may be missing or old: read them first)
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    must(["apt-get", "update", "-q"], env=environment)
    must(["apt-get", "install", "-y", "-q", package], env=environment)


# --- 2. The base image ----------------------------------------------------------------


def runtime_of_template() -> tuple[str, str]:
    """The functions' Python version and architecture, as template.yaml's Globals say."""
    text = TEMPLATE.read_text(encoding="utf-8")
    runtime = re.search(r"^\s+Runtime:\s*python(\d+\.\d+)\s*$", text, re.MULTILINE)
    architecture = re.search(r"^\s+Architectures:\s*\[(\w+)\]", text, re.MULTILINE)
    if not runtime or not architecture:
        raise PrepareFailed(f"{TEMPLATE.name}: no Globals Runtime: pythonX.Y / Architectures: [..]")
    return runtime.group(1), architecture.group(1)


def base_image_tag(python_version: str, architecture: str) -> str:
    # The tag SAM asks for (samcli/local/docker/lambda_image.py: public.ecr.aws/lambda/
    # <runtime>:<version>-<architecture>); with --skip-pull-image it takes a local one.
    return f"public.ecr.aws/lambda/python:{python_version}-{architecture}"


def recipe_digest(python_version: str) -> str:
    """What the stand-in is built from: a changed recipe builds it again."""
    digest = hashlib.sha256()
    for part in (python_version, DEBIAN_SUITE, *DEBIAN_LIBRARIES, *RUNTIME_PACKAGES):
        digest.update(part.encode() + b"\0")
    for file in sorted((HERE / "base-image").iterdir()):
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def image_labels(tag: str) -> dict[str, str] | None:
    result = run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", tag])
    if result.returncode != 0:
        return None
    import json

    return json.loads(result.stdout) or {}


def ensure_base_image(check: bool) -> str:
    python_version, architecture = runtime_of_template()
    if architecture != "x86_64" or os.uname().machine != "x86_64":
        raise PrepareFailed("the stand-in image is built for x86_64 functions on x86_64 machines")
    tag = base_image_tag(python_version, architecture)
    digest = recipe_digest(python_version)
    labels = image_labels(tag)
    if labels is not None and STAND_IN_LABEL not in labels:
        return f"{tag}: AWS's image is here"
    if labels is not None and labels[STAND_IN_LABEL] == digest:
        return f"{tag}: the stand-in is built (recipe {digest})"
    if check:
        raise PrepareFailed(f"{tag} is missing or its stand-in is out of date")
    if labels is None:
        pulled = run(["docker", "pull", tag], timeout=600)
        if pulled.returncode == 0:
            return f"{tag}: pulled AWS's image"
    build_stand_in(tag, python_version, digest)
    return f"{tag}: built the stand-in (recipe {digest})"


def find_python(version: str) -> Path:
    """A CPython of the runtime's version on this machine: on PATH, else pyenv's newest."""
    found = shutil.which(f"python{version}")
    candidates = [Path(found)] if found else []
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True)
    for candidate in candidates:
        probe = run([str(candidate), "-c", "import sys; print(sys.base_prefix)"])
        if probe.returncode == 0:
            return Path(probe.stdout.strip())
    raise PrepareFailed(
        f"no Python {version} on this machine to put in the stand-in image "
        f"(python{version} on PATH, or pyenv install {version})"
    )


def build_stand_in(tag: str, python_version: str, digest: str) -> None:
    """AWS's image, as far as a function can tell, built from Debian and this machine's
    CPython: Debian's packages have no Python 3.12 (bookworm has 3.11, trixie 3.13) and
    neither CPython's sources nor prebuilt builds can be fetched here, only registries."""
    if os.geteuid() != 0:
        raise PrepareFailed("building the stand-in image needs root (debootstrap, chroot)")
    if shutil.which("debootstrap") is None:
        apt_install("debootstrap")
    prefix = find_python(python_version)
    with tempfile.TemporaryDirectory(prefix="lambda-rootfs-", dir=_scratch()) as scratch:
        rootfs = Path(scratch, "rootfs")
        must(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(DEBIAN_LIBRARIES)}",
                DEBIAN_SUITE,
                str(rootfs),
                DEBIAN_MIRROR,
            ]
        )
        lang = rootfs / "var" / "lang"
        shutil.copytree(
            prefix,
            lang,
            symlinks=True,
            ignore=shutil.ignore_patterns("site-packages", "test", "__pycache__", "idlelib"),
        )
        (lang / "lib" / f"python{python_version}" / "site-packages").mkdir()
        runtime_dir = rootfs / "var" / "runtime"
        must(
            [
                str(prefix / "bin" / f"python{python_version}"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--only-binary=:all:",
                "--target",
                str(runtime_dir),
                *RUNTIME_PACKAGES,
            ]
        )
        for folder in ("var/task", "opt", "tmp"):
            (rootfs / folder).mkdir(parents=True, exist_ok=True)
        for name, target in (
            ("lambda-entrypoint.sh", rootfs / "lambda-entrypoint.sh"),
            ("bootstrap", runtime_dir / "bootstrap"),
        ):
            text = (HERE / "base-image" / name).read_text(encoding="utf-8")
            target.write_text(text.replace("@PYTHON_VERSION@", python_version), encoding="utf-8")
            target.chmod(0o755)
        _add_emulator(rootfs)
        for clutter in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
        ):
            shutil.rmtree(rootfs / clutter, ignore_errors=True)
        check = must(
            [
                "chroot",
                str(rootfs),
                "/usr/bin/env",
                "LD_LIBRARY_PATH=/var/lang/lib",
                "PYTHONPATH=/var/runtime",
                f"/var/lang/bin/python{python_version}",
                "-c",
                f"import {IMPORTS_TO_CHECK}, sys; print(sys.version.split()[0])",
            ]
        )
        print(f"  stand-in: CPython {check.strip()} from {prefix}, Debian {DEBIAN_SUITE}")
        changes = [
            "ENV LANG=en_US.UTF-8",
            "ENV TZ=:/etc/localtime",
            "ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
            "ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib"
            ":/var/task:/var/task/lib:/opt/lib",
            "ENV LAMBDA_TASK_ROOT=/var/task",
            "ENV LAMBDA_RUNTIME_DIR=/var/runtime",
            "WORKDIR /var/task",
            'ENTRYPOINT ["/lambda-entrypoint.sh"]',
            f"LABEL {STAND_IN_LABEL}={digest}",
        ]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        arguments = [item for change in changes for item in ("--change", change)]
        imported = run(["docker", "import", *arguments, "-", tag], stdin=tar.stdout)
        tar.wait()
        if imported.returncode != 0 or tar.returncode != 0:
            raise PrepareFailed(f"docker import failed: {imported.stderr.strip()[-2000:]}")


def _scratch() -> str | None:
    """A folder on a file system that keeps device files and ownership (debootstrap's)."""
    return os.environ.get("TMPDIR")


def _add_emulator(rootfs: Path) -> None:
    """AWS's images carry the runtime interface emulator too (to run without SAM); SAM
    ships the same program, so the stand-in takes it from there when SAM is installed."""
    sam = shutil.which("sam") or str(Path(sys.executable).parent / "sam")
    if not Path(sam).exists():
        return
    probe = run(
        [sam_python(sam), "-c", "import samcli, os; print(os.path.dirname(samcli.__file__))"]
    )
    if probe.returncode != 0:
        return
    emulator = Path(probe.stdout.strip(), "local", "rapid", "aws-lambda-rie-x86_64")
    if emulator.is_file():
        target = rootfs / "usr" / "local" / "bin" / "aws-lambda-rie"
        shutil.copy2(emulator, target)
        target.chmod(0o755)


def sam_python(sam: str) -> str:
    first = Path(sam).read_bytes()[:200].split(b"\n", 1)[0]
    return first[2:].decode().strip() if first.startswith(b"#!") else sys.executable


# --- 3. The AWS SDK for pandas layer ----------------------------------------------------


def managed_layer() -> tuple[str, str, dict[str, str]]:
    """The layer's ARN, SAM's cache folder name for it, and the packages it holds."""
    recorded = tomllib.loads(MANAGED_LAYER.read_text(encoding="utf-8"))
    layer = recorded["layer"]
    arn = (
        f"arn:aws:lambda:{layer['region']}:{layer['account']}:layer:"
        f"{layer['name']}:{layer['version']}"
    )
    # samcli/local/layers/layer_downloader.py and lib/providers/provider.py (LayerVersion):
    # <name>-<version>-<the first 10 hex digits of the ARN's SHA-256>.
    folder = f"{layer['name']}-{layer['version']}-{hashlib.sha256(arn.encode()).hexdigest()[:10]}"
    return arn, folder, dict(recorded["packages"])


def ensure_pandas_layer(check: bool) -> str:
    python_version, architecture = runtime_of_template()
    arn, folder, packages = managed_layer()
    target = SAM_LAYER_CACHE / folder
    pins = sorted(f"{name}=={version}" for name, version in packages.items())
    marker = target / ".csvflow-stand-in"
    if target.is_dir() and not marker.exists():
        return f"{folder}: the layer SAM downloaded is cached"
    if marker.is_file() and marker.read_text(encoding="utf-8").split() == pins:
        return f"{folder}: the stand-in is cached ({', '.join(pins)})"
    if check:
        raise PrepareFailed(f"{target} is missing or out of date")
    SAM_LAYER_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=SAM_LAYER_CACHE, prefix=".filling-") as scratch:
        python = Path(scratch, "python")
        must(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "--python-version",
                python_version,
                "--platform",
                f"manylinux2014_{architecture}",
                "--target",
                str(python),
                *pins,
            ]
        )
        Path(scratch, ".csvflow-stand-in").write_text("\n".join(pins) + "\n", encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        Path(scratch).rename(target)
        Path(scratch).mkdir()  # for TemporaryDirectory's cleanup
    return f"{folder}: filled from PyPI ({', '.join(pins)}) for {arn}"


# --- Main ------------------------------------------------------------------------------

PARTS: tuple[tuple[str, Callable[[bool], str]], ...] = (
    ("engine", ensure_engine),
    ("base image", ensure_base_image),
    ("pandas layer", ensure_pandas_layer),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if not ready")
    args = parser.parse_args(argv)
    started = time.monotonic()
    for name, part in PARTS:
        began = time.monotonic()
        try:
            outcome = part(args.check)
        except (PrepareFailed, subprocess.TimeoutExpired) as error:
            print(f"lambda containers: {name}: {error}", file=sys.stderr)
            return 1
        print(f"lambda containers: {name}: {outcome} ({time.monotonic() - began:.1f} s)")
    print(f"lambda containers: ready ({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
