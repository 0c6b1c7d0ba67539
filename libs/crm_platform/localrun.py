"""Starts and stops the six services as local processes: for `make up` and the tests.

python -m crm_platform.localrun start|stop|status [service ...]
python -m crm_platform.localrun info
python -m crm_platform.localrun token ROLE
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crm_platform.auth import issue_token
from crm_platform.settings import ServiceSettings

GRPC_PORTS = {
    "partners": 50051,
    "deals": 50052,
    "interactions": 50053,
    "claims": 50054,
    "pricing": 50055,
    "notifications": 50056,
}
HTTP_PORTS = {name: 8080 + i for i, name in enumerate(GRPC_PORTS, start=1)}
# Listeners a service has besides gRPC and HTTP: (host variable, port variable) -> local port.
OTHER_LISTENERS = {"notifications": ("CRM_NOTIFY_BOUNCE_HOST", "CRM_NOTIFY_BOUNCE_PORT", 2525)}
PG = "postgresql+asyncpg://crm:crm@127.0.0.1:{port}/{db}"
STATE = Path(os.environ.get("CRM_STATE_DIR", Path.cwd() / ".local"))


@dataclass
class ServiceProcess:
    """One service run as `python -m <name> --migrate` with its own environment."""

    name: str
    grpc_port: int
    http_port: int
    database: str
    log_path: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    peers: dict[str, int] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def environment(self) -> dict[str, str]:
        pg_port = os.environ.get("CRM_PG_PORT", "55432")
        env = dict(os.environ)
        env.update(
            {
                "CRM_SERVICE": self.name,
                "CRM_DATABASE_URL": PG.format(port=pg_port, db=self.database),
                "CRM_KAFKA_BOOTSTRAP": f"127.0.0.1:{os.environ.get('CRM_KAFKA_PORT', '19092')}",
                "CRM_REDIS_URL": f"redis://127.0.0.1:{os.environ.get('CRM_REDIS_PORT', '56379')}/0",
                "CRM_GRPC_PORT": str(self.grpc_port),
                "CRM_HTTP_PORT": str(self.http_port),
                "PYTHONUNBUFFERED": "1",
            }
        )
        for peer, port in self.peers.items():
            env[f"CRM_{peer.upper()}_ADDR"] = f"127.0.0.1:{port}"
        env.update(self.env_overrides)
        return env

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.name, "--migrate"],
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def wait_serving(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}:\n{self.log_tail()}"
                )
            if is_serving(self.address):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not SERVING after {timeout}s; see {self.log_path}:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def is_serving(address: str, timeout: float = 1.0) -> bool:
    async def check() -> bool:
        async with grpc.aio.insecure_channel(address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
            except grpc.aio.AioRpcError:
                return False
            return reply.status == health_pb2.HealthCheckResponse.SERVING

    return asyncio.run(check())


def local_process(name: str) -> ServiceProcess:
    return ServiceProcess(
        name=name,
        grpc_port=GRPC_PORTS[name],
        http_port=HTTP_PORTS[name],
        database=f"crm_{name}",
        log_path=STATE / "logs" / f"{name}.log",
        peers=dict(GRPC_PORTS),
        env_overrides=other_listeners(name, lambda default: default),
    )


def other_listeners(name: str, port: Callable[[int], int]) -> dict[str, str]:
    """The service's other listeners on loopback; port(default) picks each one's port."""
    if name not in OTHER_LISTENERS:
        return {}
    host_variable, port_variable, default = OTHER_LISTENERS[name]
    return {host_variable: "127.0.0.1", port_variable: str(port(default))}


def _pid_file(name: str) -> Path:
    return STATE / "run" / f"{name}.pid"


def _running_pid(name: str) -> int | None:
    try:
        pid = int(_pid_file(name).read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _createdb(name: str) -> None:
    subprocess.run([str(Path("deploy/local/postgres.sh")), "createdb", name], check=True, stdout=subprocess.DEVNULL)


def start(names: list[str]) -> None:
    (STATE / "run").mkdir(parents=True, exist_ok=True)
    started: list[ServiceProcess] = []
    for name in names:
        if _running_pid(name):
            print(f"{name}: already running")
            continue
        _createdb(f"crm_{name}")
        proc = local_process(name)
        proc.start()
        assert proc.process is not None
        _pid_file(name).write_text(str(proc.process.pid))
        started.append(proc)
    for proc in started:
        proc.wait_serving()
        print(f"{proc.name}: serving on {proc.address} (log {proc.log_path})")


def stop(names: list[str]) -> None:
    for name in names:
        pid = _running_pid(name)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _running_pid(name):
            time.sleep(0.2)
        if _running_pid(name):
            os.kill(pid, signal.SIGKILL)
        _pid_file(name).unlink(missing_ok=True)
        print(f"{name}: stopped")


def status(names: list[str]) -> int:
    down = 0
    for name in names:
        pid = _running_pid(name)
        serving = pid is not None and is_serving(f"127.0.0.1:{GRPC_PORTS[name]}")
        print(f"{name}: {'SERVING' if serving else 'running, not serving' if pid else 'stopped'}")
        down += not serving
    return 1 if down else 0


def dev_token(role: str) -> str:
    settings = ServiceSettings(service="cli")
    return issue_token(
        settings.jwt_secret.get_secret_value(), f"dev-{role}", [role], issuer=settings.jwt_issuer, name=f"Dev {role}"
    )


def info() -> None:
    print("\nThe CRM platform is up. gRPC services (reflection on, plaintext):")
    for name, port in GRPC_PORTS.items():
        print(f"  {name:<14} 127.0.0.1:{port}   metrics http://127.0.0.1:{HTTP_PORTS[name]}/metrics")
    grpcurl = STATE / "bin" / "grpcurl"
    print("\nTry it:")
    print("  TOKEN=$(make -s token ROLE=manager)")
    print(
        f'  {grpcurl if grpcurl.exists() else "grpcurl"} -plaintext -H "authorization: Bearer $TOKEN" '
        '-d \'{"page": {"page_size": 5}}\' 127.0.0.1:50051 crm.partners.v1.PartnersService/ListPartners'
    )
    print("\nStop everything with: make down\n")


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command, names = argv[0], argv[1:] or list(GRPC_PORTS)
    if command == "start":
        start(names)
    elif command == "stop":
        stop(names)
    elif command == "status":
        return status(names)
    elif command == "info":
        info()
    elif command == "token":
        print(dev_token(names[0] if argv[1:] else "manager"))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
