#!/usr/bin/env python3
"""Checks the deployment files by reading them (no systemd, Docker or Kubernetes is needed):

- podio-mirror.env.example: plain NAME=value lines that a shell (`set -a; . FILE`), docker
  compose (`env_file`) and systemd (`EnvironmentFile=`) all read alike: no `export`, no quotes,
  no spaces, no comment after a value; bash reads exactly the values this parse reads.
- deploy/systemd/*: every unit parses, runs /usr/local/bin/podio-mirror with a known command,
  reads /etc/podio-mirror.env; one-shot runs count exit 75 (deferred) as success; each timer has
  its service. `systemd-analyze verify` runs too where it is installed.
- deploy/kubernetes/podio-mirror.yaml: a migrate init container before the worker, liveness on
  /livez and readiness on /readyz at the port `run --listen` serves, no secret in the ConfigMap.
Exits 1 with one line per problem."""
import configparser
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
problems = []


def need(cond, message):
    if not cond:
        problems.append(message)


SECRET = re.compile(r"PASSWORD|SECRET|TOKEN|APP_AUTH")

# The env example.
example_path = os.path.join(root, "podio-mirror.env.example")
parsed = {}
with open(example_path) as f:
    for number, line in enumerate(f.read().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=([^\s'\"`$\\#]*)", line)
        need(m is not None, f"podio-mirror.env.example:{number}: not a plain NAME=value line (no export, "
                            f"quotes, spaces, $ or trailing comment): {line.split('=')[0]}")
        if m:
            parsed[m.group(1)] = m.group(2)
for name in ("PODIO_CLIENT_SECRET", "PODIO_PASSWORD"):
    need(parsed.get(name, "") == "", f"podio-mirror.env.example carries a value for {name}")
if shutil.which("bash"):
    script = 'set -a; . "$1"; set +a; for n in "${@:2}"; do printf "%s=%s\\0" "$n" "${!n-<unset>}"; done'
    out = subprocess.run(["bash", "-c", script, "bash", example_path, *parsed], capture_output=True,
                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    need(out.returncode == 0, f"bash cannot source podio-mirror.env.example: {out.stderr.decode().strip()}")
    seen = dict(item.split("=", 1) for item in out.stdout.decode().split("\0") if item)
    for name, value in parsed.items():
        need(seen.get(name) == value, f"bash reads {name} from podio-mirror.env.example as {seen.get(name)!r}, not {value!r}")

try:  # python-dotenv reads env files as docker compose does; checked where it is installed
    from dotenv import dotenv_values
except ImportError:
    dotenv_values = None
if dotenv_values:
    read = dotenv_values(example_path)
    for name, value in parsed.items():
        need(read.get(name) == value, f"a dotenv reader takes {name} from podio-mirror.env.example as {read.get(name)!r}, not {value!r}")
    need(set(read) == set(parsed), f"a dotenv reader finds other names: {sorted(set(read) ^ set(parsed))}")

# systemd units.
commands = {"run", "sync", "resync", "migrate"}
units = sorted(glob.glob(os.path.join(root, "deploy", "systemd", "*")))
need(any(u.endswith("podio-mirror.service") for u in units), "deploy/systemd/podio-mirror.service is missing")
for path in units:
    name = os.path.basename(path)
    unit = configparser.ConfigParser(strict=True, interpolation=None, comment_prefixes=("#", ";"))
    unit.optionxform = str
    try:
        unit.read(path)
    except configparser.Error as error:
        problems.append(f"{name}: does not parse: {error}")
        continue
    need(unit.has_section("Unit") and unit["Unit"].get("Description"), f"{name}: needs [Unit] Description=")
    if name.endswith(".service"):
        service = unit["Service"] if unit.has_section("Service") else {}
        exec_start = service.get("ExecStart", "").split()
        need(exec_start[:1] == ["/usr/local/bin/podio-mirror"] and exec_start[1:2] and exec_start[1] in commands,
             f"{name}: ExecStart must run /usr/local/bin/podio-mirror with one of {sorted(commands)}")
        need(service.get("EnvironmentFile") == "/etc/podio-mirror.env", f"{name}: reads EnvironmentFile=/etc/podio-mirror.env")
        need(not any(SECRET.search(word) for word in exec_start), f"{name}: no secret on the command line")
        if service.get("Type") == "oneshot":
            need("75" in service.get("SuccessExitStatus", "").split(), f"{name}: exit 75 (deferred) must count as success")
        if exec_start[1:2] == ["run"]:
            need("--listen" in exec_start and "--every" in exec_start, f"{name}: the worker runs `run --every D --listen ADDR`")
            need(service.get("KillSignal", "SIGTERM") == "SIGTERM", f"{name}: the worker stops on SIGTERM")
    elif name.endswith(".timer"):
        need(unit.has_section("Timer") and unit["Timer"].get("OnCalendar"), f"{name}: needs [Timer] OnCalendar=")
        target = unit["Timer"].get("Unit", name[:-len(".timer")] + ".service") if unit.has_section("Timer") else ""
        need(os.path.exists(os.path.join(root, "deploy", "systemd", target)), f"{name}: its service {target} is missing")
    else:
        problems.append(f"deploy/systemd/{name}: not a .service or .timer")
if units and shutil.which("systemd-analyze"):
    # The binary is not installed where the tests run: verify copies that run /bin/true instead.
    with tempfile.TemporaryDirectory() as tmp:
        for path in units:
            with open(path) as f:
                text = f.read().replace("/usr/local/bin/podio-mirror", "/bin/true")
            text = text.replace("EnvironmentFile=/etc/", "EnvironmentFile=-/etc/")
            with open(os.path.join(tmp, os.path.basename(path)), "w") as f:
                f.write(text)
        out = subprocess.run(["systemd-analyze", "verify", *sorted(glob.glob(os.path.join(tmp, "*")))],
                             capture_output=True, text=True, cwd=tmp)
        for line in (out.stdout + out.stderr).splitlines():
            if tmp in line:  # lines about our files; the host's own units are not ours to judge
                problems.append("systemd-analyze: " + line.replace(tmp + "/", ""))

# Kubernetes.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyyaml  # noqa: E402  (beside this script)

yaml = pyyaml.load("check-deploy")
k8s_path = os.path.join(root, "deploy", "kubernetes", "podio-mirror.yaml")
with open(k8s_path) as f:
    docs = [d for d in yaml.safe_load_all(f) if d]
kinds = {d.get("kind"): d for d in docs}
need({"Deployment", "ConfigMap", "Service"} <= set(kinds), "the manifest has a Deployment, a ConfigMap and a Service")
config = (kinds.get("ConfigMap") or {}).get("data") or {}
for key, value in config.items():
    need(not SECRET.search(key), f"kubernetes: {key} is a secret and belongs in the Secret, not the ConfigMap")
    need(":" not in str(value).split("@")[0].split("//")[-1] if key == "DATABASE_URL" else True,
         "kubernetes: DATABASE_URL in the ConfigMap carries a password")
pod = (((kinds.get("Deployment") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}
inits = pod.get("initContainers") or []
need(any((c.get("args") or [])[:1] == ["migrate"] for c in inits), "kubernetes: an init container runs `migrate`")
containers = pod.get("containers") or []
need(len(containers) == 1, "kubernetes: one worker container")
if containers:
    c = containers[0]
    args = c.get("args") or []
    need(args[:1] == ["run"] and "--every" in args and "--listen" in args, "kubernetes: the worker runs `run --every D --listen ADDR`")
    listen = args[args.index("--listen") + 1] if "--listen" in args[:-1] else ""
    need(listen.startswith("0.0.0.0:"), "kubernetes: --listen 0.0.0.0:PORT, so the kubelet reaches the probes")
    port = listen.rsplit(":", 1)[-1]
    ports = {str(p.get("name")): str(p.get("containerPort")) for p in c.get("ports") or []}

    def probe(kind, path):
        get = (c.get(kind) or {}).get("httpGet") or {}
        need(get.get("path") == path, f"kubernetes: {kind} asks {path}")
        target = str(get.get("port"))
        need(ports.get(target, target) == port, f"kubernetes: {kind} asks the port --listen serves ({port})")

    probe("livenessProbe", "/livez")
    probe("readinessProbe", "/readyz")
    need(pod.get("terminationGracePeriodSeconds", 30) >= 60, "kubernetes: a grace period for the page in flight (>= 60 s)")
    need(((pod.get("securityContext") or {}).get("runAsNonRoot")) is True, "kubernetes: runs as non-root")
    for ref in c.get("envFrom") or []:
        need("secretRef" in ref or "configMapRef" in ref, "kubernetes: settings from the ConfigMap and the Secret")
    env_keys = [e.get("name", "") for e in c.get("env") or [] if "value" in e]
    need(not any(SECRET.search(k) for k in env_keys), "kubernetes: no secret as a plain env value")

if problems:
    for p in problems:
        print("check-deploy: " + p)
    sys.exit(1)
print("check-deploy: podio-mirror.env.example, deploy/systemd and deploy/kubernetes look right")
