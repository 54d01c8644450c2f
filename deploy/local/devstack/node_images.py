"""Images for the real node without a registry: the pause image, and import into containerd.

The pause image is a static C binary (``gcc -static``) in an image built ``FROM
scratch`` by podman, tagged by a content key (source, tag), so a changed source builds
a new image and an unchanged one is reused (tests build small probe images the same
way, :func:`ensure_static_image`). podman runs with ``--runtime runc`` (crun
refuses cgroup v1 hybrid mode) and explicit ulimits (root here lacks
``CAP_SYS_RESOURCE``, podman's defaults fail).

:func:`import_image` moves any podman image (by tag) into the node's containerd
(namespace ``k8s.io``, where the CRI looks): ``podman save`` to an OCI archive and
``ctr images import``; the podman image id is stored as a containerd label, so a second
call for the same image does nothing. Pods use such images with
``imagePullPolicy: Never``.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

from devstack import paths, procs

PODMAN_FLAGS = ("--runtime", "runc")
ULIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024")
NAMESPACE = "k8s.io"
ID_LABEL = "devsessions.io/podman-id"
PAUSE_REPOSITORY = "localhost/pause"

PAUSE_C = r"""/* pause: the sandbox's first process. Sleeps until SIGINT/SIGTERM, reaps zombies. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, NULL, WNOHANG) > 0) {} }

int main(void) {
    struct sigaction a = {0}, r = {0};
    a.sa_handler = stop;
    sigaction(SIGINT, &a, NULL);
    sigaction(SIGTERM, &a, NULL);
    r.sa_handler = reap;
    r.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &r, NULL);
    for (;;) pause();
    return 0;
}
"""
CONTAINERFILE = 'FROM scratch\nCOPY app /app\nUSER {user}\nENTRYPOINT ["/app"]\n'


def podman(*args: str) -> list[str]:
    return ["podman", *PODMAN_FLAGS, *args]


def _exists(tag: str) -> bool:
    done = subprocess.run(
        podman("image", "exists", tag), capture_output=True, check=False, timeout=60
    )
    return done.returncode == 0


def static_tag(repository: str, base_tag: str, source: str, user: str) -> str:
    """``repository:<base_tag>-<content key>``: a changed source is a new tag."""
    key = hashlib.sha256(f"{source}\n{CONTAINERFILE}\n{user}".encode()).hexdigest()[:12]
    return f"{repository}:{base_tag}-{key}"


def ensure_static_image(
    repository: str, base_tag: str, source: str, log: Path, *, user: str = "65535:65535"
) -> tuple[str, bool]:
    """An image of one static C program (``/app``) ``FROM scratch``, built unless podman
    has it; return ``(tag, built_now)``."""
    tag = static_tag(repository, base_tag, source, user)
    if _exists(tag):
        return tag, False
    paths.cache_root().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="devstack-image-", dir=paths.cache_root()) as tmp:
        context = Path(tmp)
        (context / "app.c").write_text(source)
        (context / "Containerfile").write_text(CONTAINERFILE.format(user=user))
        procs.run_logged(
            ["gcc", "-static", "-Os", "-s", "-o", str(context / "app"), str(context / "app.c")],
            log,
        )
        procs.run_logged(
            podman("build", *ULIMITS, "-t", tag, "-f", str(context / "Containerfile"), tmp),
            log,
            timeout=300,
        )
    return tag, True


def pause_tag(base_tag: str) -> str:
    return static_tag(PAUSE_REPOSITORY, base_tag, PAUSE_C, "65535:65535")


def ensure_pause(base_tag: str, log: Path) -> tuple[str, bool]:
    """Build the pause image unless podman has it; return ``(tag, built_now)``."""
    return ensure_static_image(PAUSE_REPOSITORY, base_tag, PAUSE_C, log)


def _ctr(socket: Path, *args: str) -> list[str]:
    return ["ctr", f"--address={socket}", "-n", NAMESPACE, *args]


def _podman_id(tag: str, log: Path) -> str:
    return procs.run_logged(podman("image", "inspect", "--format", "{{.Id}}", tag), log).strip()


def _imported_id(socket: Path, ref: str) -> str | None:
    done = subprocess.run(
        _ctr(socket, "images", "ls", f"name=={ref}"),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    for line in done.stdout.splitlines()[1:]:
        for label in line.split()[-1].split(","):
            key, _, value = label.partition("=")
            if key == ID_LABEL:
                return value
    return None


def normalized(tag: str) -> str:
    """The reference containerd and the CRI use for a podman tag (``localhost/x:y``)."""
    name = tag if "/" in tag.split(":", 1)[0] else f"localhost/{tag}"
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


def import_image(tag: str, *, socket: Path, log: Path) -> bool:
    """Import podman image ``tag`` into the node's containerd; False when already there.

    Idempotent: the podman image id is compared with the one recorded at the last
    import, so an image rebuilt under the same tag is imported again.
    """
    ref = normalized(tag)
    image_id = _podman_id(tag, log)
    if _imported_id(socket, ref) == image_id:
        return False
    with tempfile.TemporaryDirectory(prefix="devstack-image-", dir=paths.cache_root()) as tmp:
        archive = Path(tmp) / "image.tar"
        procs.run_logged(
            podman("save", "--format", "docker-archive", "-o", str(archive), tag),
            log,
            timeout=600,
        )
        procs.run_logged(_ctr(socket, "images", "import", str(archive)), log, timeout=600)
    procs.run_logged(_ctr(socket, "images", "label", ref, f"{ID_LABEL}={image_id}"), log)
    return True
