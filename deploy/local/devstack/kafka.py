"""Apache Kafka (KRaft, one node acting as broker and controller) as a local process.

The broker's runtime classpath is resolved from Maven Central with Maven into
``<cache>/kafka/<version>/libs``. Storage is formatted once under the state dir;
the broker listens on 127.0.0.1 only (pods of the real node reach it through the node's
forwarder). ``up`` waits until it serves metadata and
creates the service's topics.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from devstack import asyncs, cache, procs
from devstack.paths import StateLayout
from devstack.pins import KafkaPin

COMPONENT = "kafka"
TOPIC_ENV = {
    "DEVSESSIONS_INPUT_TOPIC": "devsessions.project-events.v1",
    "DEVSESSIONS_OUTPUT_TOPIC": "devsessions.session-events.v1",
    "DEVSESSIONS_DEAD_LETTER_TOPIC": "devsessions.project-events.dlq.v1",
}
PARTITIONS = 3

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>devsessions.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>{group}</groupId><artifactId>{artifact}</artifactId><version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

LOG4J2 = """status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = warn
"""


def topics(env: Mapping[str, str] | None = None) -> list[str]:
    """The service's three topics (names overridable by the service's settings)."""
    source = os.environ if env is None else env
    return [source.get(name, default) for name, default in TOPIC_ENV.items()]


def jar_name(pin: KafkaPin) -> str:
    return f"{pin.artifact}-{pin.version}.jar"


def ensure_jars(pin: KafkaPin, log: Path) -> tuple[Path, bool]:
    """The broker's runtime classpath: ``(<cache>/kafka/<version>/libs, built_now)``."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("Maven (mvn) is not installed: apt-get install maven")

    def build(out: Path) -> None:
        (out / "pom.xml").write_text(
            POM.format(group=pin.group, artifact=pin.artifact, version=pin.version, log4j=pin.log4j)
        )
        argv = [mvn, "-B", "-q", "-f", str(out / "pom.xml"), "dependency:copy-dependencies"]
        argv += [f"-DoutputDirectory={out / 'libs'}", "-DincludeScope=runtime"]
        procs.run_logged(argv, log)

    recipe = f"{pin.group}:{pin.artifact}:{pin.version} log4j {pin.log4j}"
    expected = ["pom.xml", f"libs/{jar_name(pin)}"]
    directory, built = cache.ensure(COMPONENT, pin.version, expected, build, recipe=recipe)
    return directory / "libs", built


def server_properties(
    data_dir: Path, port: int, controller_port: int, node_port: int, node_host: str
) -> str:
    """The broker's settings. ``NODE`` is the listener for pods of the real node: it binds
    loopback like the others and is advertised at ``node_host`` (the node's bridge), where
    the node forwards it (:mod:`devstack.node_access`)."""
    listeners = (
        f"PLAINTEXT://127.0.0.1:{port},NODE://127.0.0.1:{node_port},"
        f"CONTROLLER://127.0.0.1:{controller_port}"
    )
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": listeners,
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port},NODE://{node_host}:{node_port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,NODE:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": str(PARTITIONS),
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
    }
    return "".join(f"{k}={v}\n" for k, v in settings.items())


def new_cluster_id() -> str:
    """A random KRaft cluster id, as Kafka's ``Uuid.randomUuid`` makes them: base64url of
    16 random bytes, never starting with "-" (the storage tool would read an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def java() -> str:
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("Java (17+) is not installed: apt-get install openjdk-17-jre-headless")
    return found


def _java_argv(pin: KafkaPin, libs: Path, config_dir: Path, main: str) -> list[str]:
    return [
        java(),
        f"-Xmx{pin.heap}",
        "-Xms128m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={config_dir / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
        main,
    ]


def config_path(state: StateLayout) -> Path:
    return state.data(COMPONENT) / "server.properties"


def start(pin: KafkaPin, libs: Path, state: StateLayout, properties: str) -> procs.PidRecord:
    """Write the configuration, format storage on first use, start the broker."""
    home = state.data(COMPONENT)
    data_dir = home / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    config = config_path(state)
    config.write_text(properties)
    (home / "log4j2.properties").write_text(LOG4J2)
    log = state.log(COMPONENT)
    if not (data_dir / "meta.properties").exists():
        cluster_id = new_cluster_id()
        argv = _java_argv(pin, libs, home, "kafka.tools.StorageTool")
        procs.run_logged([*argv, "format", "-t", cluster_id, "-c", str(config)], log)
    argv = [*_java_argv(pin, libs, home, "kafka.Kafka"), str(config)]
    return procs.spawn(argv, log, state.pid(COMPONENT))


@contextlib.contextmanager
def _quiet_client_logs() -> Iterator[None]:
    """aiokafka logs every refused connection: noise while we poll a starting broker."""
    logger = logging.getLogger("aiokafka")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


async def _serves_metadata(bootstrap: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
        return bool(cluster.get("brokers"))
    except Exception:
        return False
    finally:
        await admin.close()


def healthy(bootstrap: str) -> bool:
    """True when the broker answers a metadata request."""
    with _quiet_client_logs():
        return asyncs.run(lambda: _serves_metadata(bootstrap))


def wait_ready(bootstrap: str, record: procs.PidRecord, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.is_alive(record):
            raise RuntimeError(f"Kafka exited during start-up (see {log})")
        if healthy(bootstrap):
            return
        time.sleep(1)
    raise RuntimeError(f"Kafka did not serve metadata within {timeout:.0f}s (see {log})")


async def _ensure_topics(bootstrap: str, names: list[str], wait_s: float) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [n for n in names if n not in existing]
        if missing:
            await admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in missing])
        deadline = time.monotonic() + wait_s
        while not set(names) <= set(await admin.list_topics()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"topics {names} not all created within {wait_s:.0f}s")
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


def ensure_topics(bootstrap: str, names: list[str], timeout: float = 30) -> None:
    """Create the topics that do not exist yet (``PARTITIONS`` partitions each)."""
    asyncs.run(lambda: _ensure_topics(bootstrap, names, timeout))
