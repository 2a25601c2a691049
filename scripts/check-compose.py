#!/usr/bin/env python3
"""Checks docker-compose.yml, the Dockerfile and the env example by reading them (there is no
Docker engine where the tests run): the services, their order, the healthchecks (the database's,
and the scheduler's on its /healthz listener, with the tool it runs installed in the image), the
commented second worker, the image stages, and that no secret is written into the compose file.
Exits 1 with one line per problem."""
import os
import re
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyyaml  # noqa: E402  (beside this script)

yaml = pyyaml.load("check-compose")

problems = []
def need(cond, message):
    if not cond:
        problems.append(message)

with open(os.path.join(root, "docker-compose.yml")) as f:
    text = f.read()
try:
    compose = yaml.safe_load(text)
except yaml.YAMLError as error:
    print(f"check-compose: docker-compose.yml is not valid YAML: {error}")
    sys.exit(1)
if not isinstance(compose, dict):
    print("check-compose: docker-compose.yml is not a mapping")
    sys.exit(1)
services = compose.get("services", {})
need(set(services) >= {"db", "migrate", "mirror"}, "services db, migrate and mirror are required")
db = services.get("db", {})
need(re.match(r"postgres:\d+", str(db.get("image", ""))), "db must use an official postgres:<major> image")
need("healthcheck" in db and "pg_isready" in str(db["healthcheck"].get("test")), "db needs a pg_isready healthcheck")
need(any(str(v).endswith(":/var/lib/postgresql/data") for v in db.get("volumes", [])), "db needs a data volume")
need("pgdata" in (compose.get("volumes") or {}), "the pgdata volume must be declared")
migrate = services.get("migrate", {})
need(migrate.get("command") == ["migrate"], "migrate must run `migrate`")
need((migrate.get("depends_on") or {}).get("db", {}).get("condition") == "service_healthy", "migrate waits for a healthy db")
mirror = services.get("mirror", {})
command = mirror.get("command") or []
need(command[:1] == ["run"] and "--every" in command, "mirror must run the scheduler (`run --every D`)")
need("--listen" in command, "mirror must serve /healthz and /metrics (`run --listen ADDR`)")
listen = command[command.index("--listen") + 1] if "--listen" in command[:-1] else ""
need(listen.startswith("0.0.0.0:"), "mirror must listen on all interfaces of its container (--listen 0.0.0.0:PORT) for Prometheus")
health = (mirror.get("healthcheck") or {}).get("test") or []
need("/healthz" in " ".join(map(str, health)), "mirror needs a healthcheck on /healthz")
need(listen.split(":")[-1] in " ".join(map(str, health)), "mirror's healthcheck asks the port it listens on")
need(re.search(r"^\s*#\s*mirror-2:", text, re.M) is not None, "a commented second mirror replica (mirror-2) shows how to add a worker")
deps = mirror.get("depends_on") or {}
need(deps.get("db", {}).get("condition") == "service_healthy", "mirror waits for a healthy db")
need(deps.get("migrate", {}).get("condition") == "service_completed_successfully", "mirror starts after migrate")
need(mirror.get("image") == migrate.get("image") and "build" in migrate, "migrate builds the image mirror runs")
for name, service in services.items():
    need(service.get("env_file") == "podio-mirror.env", f"{name} reads podio-mirror.env")
    env = service.get("environment") or {}
    for key, value in env.items():
        need(not re.search(r"PASSWORD|SECRET|TOKEN", key) and ":" not in str(value).split("@")[0].split("//")[-1],
             f"{name}: no secrets inline in docker-compose.yml ({key})")

with open(os.path.join(root, "Dockerfile")) as f:
    dockerfile = f.read()
stages = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
need(len(stages) == 2 and stages[0].startswith("swift:"), "the Dockerfile builds in a swift image and runs in a second stage")
need("libpq5" in dockerfile and "libpq-dev" in dockerfile, "libpq-dev to build, libpq5 to run")
need(re.search(r"^ENTRYPOINT \[\"podio-mirror\"\]", dockerfile, re.M), "the image's entrypoint is podio-mirror")
health_tool = str(health[1]) if len(health) > 1 and health[0] == "CMD" else ""
runtime_stage = re.split(r"^FROM\s", dockerfile, flags=re.M)[-1]
need(not health_tool or re.search(rf"apt-get install[^\n]*\b{re.escape(health_tool)}\b", runtime_stage),
     f"the runtime image installs {health_tool}, which the healthcheck runs")

with open(os.path.join(root, "podio-mirror.env.example")) as f:
    example = f.read()
for line in example.splitlines():
    if re.match(r"^(PODIO_CLIENT_SECRET|PODIO_PASSWORD|PODIO_APP_AUTH)=.+", line):
        problems.append(f"the env example must not carry a secret: {line.split('=')[0]}")
for var in ["POSTGRES_PASSWORD", "PGPASSWORD", "PODIO_CLIENT_ID", "PODIO_CLIENT_SECRET"]:
    need(re.search(rf"^#?\s*{var}=", example, re.M), f"the env example names {var}")

if problems:
    for p in problems:
        print("check-compose: " + p)
    sys.exit(1)
print("check-compose: docker-compose.yml, Dockerfile and podio-mirror.env.example look right")
