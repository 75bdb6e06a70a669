"""Static checks of deploy/, run by deploy/check.sh; no container engine or
cluster needed, and no network.

- The Helm chart is linted and rendered by Helm's own Go template engine
  (helm-python-sdk binds to Helm's Go SDK; it renders offline), with
  several sets of values. Every rendered manifest is validated against the
  Kubernetes JSON schemas that kubernetes-validate ships (strict: an unknown
  field fails), for the oldest and the newest Kubernetes the chart accepts.
  The ServiceMonitor is a Prometheus Operator resource with no schema there:
  it is checked by the assertions below only.
- Assertions on the rendered objects hold the chart to what it promises
  (replicas, probes, security context, the Secret wiring, selectors that
  match), and wrong values must stop the render with a message naming them.
- compose.yaml and nginx.conf are parsed and checked for their structure.
- The Dockerfile builds with the Rust version rust-toolchain.toml pins.

Prints one line per check; exits 1 on the first failure, naming it.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import helm_python as helm
import kubernetes_validate
import yaml

DEPLOY = Path(__file__).resolve().parent
ROOT = DEPLOY.parent
CHART = DEPLOY / "helm" / "handoff"
# The chart's kubeVersion floor, and the newest schemas kubernetes-validate has.
KUBE_VERSIONS = ["1.25.0", kubernetes_validate.latest_version()]

BASE = {
    "store": {"url": "redis://redis.handoff.svc:6379/0"},
    "serverKey": {"value": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
}
FULL = {
    "replicaCount": 3,
    "publicUrl": "https://handoff.example.com",
    "store": {"existingSecret": "handoff-redis", "existingSecretKey": "url"},
    "serverKey": {"existingSecret": "handoff-keys", "existingSecretKey": "server"},
    "metrics": {
        "token": {"existingSecret": "handoff-keys", "existingSecretKey": "metrics"},
        "serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}},
    },
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "1m"},
        "tls": [{"secretName": "handoff-tls", "hosts": ["handoff.example.com"]}],
    },
    "env": [{"name": "HANDOFF_TRUSTED_PROXIES", "value": "10.0.0.0/8"}],
    "extraVolumes": [{"name": "bao", "secret": {"secretName": "bao-approle"}}],
    "extraVolumeMounts": [{"name": "bao", "mountPath": "/run/secrets/bao", "readOnly": True}],
    "settings": 'vendor_name = "Fabrikam"\n\n[staff.alice]\ntoken_sha256 = "00"\n',
}
# Values that must stop the render, and a word its message must contain.
WRONG = [
    ({"serverKey": BASE["serverKey"]}, "store.url"),
    ({**BASE, "store": {"url": "memory"}}, "redis://"),
    ({**BASE, "store": {"url": "/data"}}, "redis://"),
    ({"store": BASE["store"]}, "serverKey"),
    ({**BASE, "publicUrl": ""}, "publicUrl"),
    ({**BASE, "metrics": {"serviceMonitor": {"enabled": True}}}, "metrics.token"),
]


class CheckFailed(Exception):
    pass


def check(condition: bool, what: str) -> None:
    if not condition:
        raise CheckFailed(what)


def ok(what: str) -> None:
    print(f"deploy: ok: {what}")


def render(values: dict) -> list[dict]:
    chart = helm.Chart.load(CHART)
    manifests = chart.render(values, name="handoff", namespace="handoff", is_install=True)
    objects = []
    for path, text in sorted(manifests.items()):
        if not path.endswith(".yaml"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects.append(document)
    return objects


def by_kind(objects: list[dict]) -> dict[str, dict]:
    kinds: dict[str, dict] = {}
    for obj in objects:
        check(obj["kind"] not in kinds, f"one {obj['kind']} only")
        kinds[obj["kind"]] = obj
    return kinds


def validate(objects: list[dict], label: str) -> None:
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue
        for version in KUBE_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(p) for p in error.path)
                raise CheckFailed(f"{label}: {name} against Kubernetes {version}: {path}: {error.message}")
    ok(f"{label}: {len(objects)} manifests valid against Kubernetes {' and '.join(KUBE_VERSIONS)} (strict)")


def check_chart_objects(kinds: dict[str, dict], replicas: int) -> None:
    deployment = kinds["Deployment"]
    spec = deployment["spec"]
    pod = spec["template"]["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    check(spec["replicas"] == replicas, f"Deployment has {replicas} replicas")
    check(spec["selector"]["matchLabels"].items() <= pod_labels.items(), "Deployment selects its pods")
    check(pod["securityContext"]["runAsNonRoot"] is True, "pod runAsNonRoot")
    check(pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", "pod seccomp RuntimeDefault")
    check(pod["automountServiceAccountToken"] is False, "no service account token")
    (container,) = pod["containers"]
    sc = container["securityContext"]
    check(sc["readOnlyRootFilesystem"] is True, "read-only root file system")
    check(sc["allowPrivilegeEscalation"] is False, "no privilege escalation")
    check(sc["capabilities"]["drop"] == ["ALL"], "all capabilities dropped")
    check(sc["seccompProfile"]["type"] == "RuntimeDefault", "container seccomp RuntimeDefault")
    check(container["livenessProbe"]["httpGet"]["path"] == "/healthz", "liveness on /healthz")
    check(container["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness on /readyz")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    check(container["livenessProbe"]["httpGet"]["port"] in ports, "probes use a named container port")
    check({"requests", "limits"} <= container["resources"].keys(), "resource requests and limits")
    env = {e["name"]: e for e in container["env"]}
    check(env["HANDOFF_LISTEN"]["value"] == f"0.0.0.0:{ports['http']}", "listens on the container port")
    check("HANDOFF_SERVER_KEY" not in env, "the server key is never in the environment")
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    check(env["HANDOFF_CONFIG"]["value"] == mounts["settings"] + "/handoff.toml", "settings file mounted where HANDOFF_CONFIG points")
    check(volumes["settings"]["configMap"]["name"] == kinds["ConfigMap"]["metadata"]["name"], "settings from the ConfigMap")
    check("handoff.toml" in kinds["ConfigMap"]["data"], "ConfigMap holds handoff.toml")
    key_dir = mounts["keys"]
    check(env["HANDOFF_SERVER_KEY_FILE"]["value"] == key_dir + "/server-key", "server key file in the keys volume")
    sources = volumes["keys"]["projected"]["sources"]
    projected = {item["path"]: (s["secret"]["name"], item["key"]) for s in sources for item in s["secret"]["items"]}
    check("server-key" in projected, "server key projected from a Secret")
    if "HANDOFF_METRICS_TOKEN_FILE" in env:
        check(env["HANDOFF_METRICS_TOKEN_FILE"]["value"] == key_dir + "/metrics-token", "metrics token file in the keys volume")
        check("metrics-token" in projected, "metrics token projected from a Secret")
    if "Secret" in kinds:
        secret = kinds["Secret"]
        for path, (name, key) in projected.items():
            if name == secret["metadata"]["name"]:
                check(key in secret["data"], f"the chart's Secret has {key}")
    else:
        check(all(name != deployment["metadata"]["name"] for name, _ in projected.values()), "no Secret of the chart's is referenced when it makes none")
    service = kinds["Service"]
    check(service["spec"]["selector"].items() <= pod_labels.items(), "Service selects the pods")
    check(service["spec"]["ports"][0]["targetPort"] == "http", "Service targets the http port")
    if "PodDisruptionBudget" in kinds:
        pdb = kinds["PodDisruptionBudget"]
        check(pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items(), "PodDisruptionBudget selects the pods")
    if "Ingress" in kinds:
        for rule in kinds["Ingress"]["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                check(backend["name"] == service["metadata"]["name"], "Ingress routes to the Service")
                check(backend["port"]["name"] == "http", "Ingress uses the Service's http port")
    if "ServiceMonitor" in kinds:
        monitor = kinds["ServiceMonitor"]
        check(monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items(), "ServiceMonitor selects the Service")
        (endpoint,) = monitor["spec"]["endpoints"]
        check(endpoint["port"] == service["spec"]["ports"][0]["name"], "ServiceMonitor scrapes the Service's port")
        check(endpoint["path"] == "/metrics", "ServiceMonitor scrapes /metrics")
        credentials = endpoint["authorization"]["credentials"]
        check((credentials["name"], credentials["key"]) == projected["metrics-token"], "ServiceMonitor sends the token the pods read")


def check_chart() -> None:
    report = helm.lint(CHART, BASE, strict=True, kube_version="v1.25.0")
    problems = [m for m in report["messages"] if m["severity"] >= 2] + [
        {"error": e} for e in report.get("errors") or []
    ]
    check(not problems, f"helm lint --strict: {problems}")
    ok("helm lint --strict")

    objects = render(BASE)
    kinds = by_kind(objects)
    check(set(kinds) == {"ConfigMap", "Secret", "Deployment", "Service", "PodDisruptionBudget"}, f"default values render the expected kinds, not {sorted(kinds)}")
    validate(objects, "chart, default values")
    check_chart_objects(kinds, replicas=2)
    ok("chart, default values: replicas, probes, security context, settings and server key wiring")

    objects = render(FULL)
    kinds = by_kind(objects)
    check(set(kinds) == {"ConfigMap", "Deployment", "Service", "PodDisruptionBudget", "Ingress", "ServiceMonitor"}, f"all options render the expected kinds, not {sorted(kinds)}")
    validate(objects, "chart, every option on")
    check_chart_objects(kinds, replicas=3)
    env = {e["name"]: e for e in kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    check(env["HANDOFF_STORE"]["valueFrom"]["secretKeyRef"] == {"name": "handoff-redis", "key": "url"}, "store URL from an existing Secret")
    ok("chart, every option on: Ingress, ServiceMonitor with the metrics token, existing Secrets")

    for values, word in WRONG:
        try:
            render(values)
        except helm.HelmError as error:
            check(word in str(error), f"wrong values {values} stop the render naming {word!r}, not: {error}")
        else:
            raise CheckFailed(f"wrong values {values} rendered")
    ok(f"chart: {len(WRONG)} sets of wrong values stop the render with a message naming them")


def check_compose() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    check(set(services) == {"redis", "handoff-1", "handoff-2", "proxy"}, f"compose services: {sorted(services)}")
    redis = services["redis"]
    command = redis["command"]
    check(command[0] == "redis-server" and "--appendonly" in command and command[command.index("--appendonly") + 1] == "yes", "Redis runs with AOF on")
    check("test" in redis["healthcheck"], "Redis has a healthcheck")
    instances = ["handoff-1", "handoff-2"]
    proxy = services["proxy"]
    proxy_ip = proxy["networks"]["frontend"]["ipv4_address"]
    subnet = compose["networks"]["frontend"]["ipam"]["config"][0]["subnet"]
    check(proxy_ip.rsplit(".", 1)[0] == subnet.rsplit(".", 1)[0], "the proxy's address is in its network's subnet")
    for name in [*instances, "redis", "proxy"]:
        service = services[name]
        check(service.get("read_only") is True, f"{name}: read-only root file system")
        check(service.get("cap_drop") == ["ALL"], f"{name}: all capabilities dropped")
        check("no-new-privileges:true" in service.get("security_opt", []), f"{name}: no new privileges")
        check("test" in service.get("healthcheck", {}), f"{name}: healthcheck")
    for name in instances:
        service = services[name]
        env = service["environment"]
        check(service["build"]["dockerfile"] == "deploy/Dockerfile" and (DEPLOY / service["build"]["context"] / "deploy/Dockerfile").is_file(), f"{name}: built from deploy/Dockerfile")
        check(env["HANDOFF_STORE"] == "redis://redis:6379/0", f"{name}: shares the Redis service")
        check("HANDOFF_SERVER_KEY" not in env, f"{name}: the server key is not inline")
        check(service["secrets"] == ["handoff_server_key"] and env["HANDOFF_SERVER_KEY_FILE"] == "/run/secrets/handoff_server_key", f"{name}: server key from the compose secret")
        check(env["HANDOFF_TRUSTED_PROXIES"] == proxy_ip, f"{name}: trusts the proxy's address only")
        check(service["depends_on"]["redis"]["condition"] == "service_healthy", f"{name}: waits for Redis")
        check(service["healthcheck"]["test"] == ["CMD", "/usr/local/bin/handoff", "healthcheck"], f"{name}: healthcheck is the binary's own")
    check(services["handoff-1"] == services["handoff-2"], "the two instances are configured alike")
    check("ports" not in redis and all("ports" not in services[n] for n in instances), "only the proxy publishes a port")
    check(len(proxy["ports"]) == 1 and proxy["ports"][0].endswith(":8080"), "the proxy publishes one port")
    check(compose["networks"]["backend"].get("internal") is True and redis["networks"] == ["backend"], "Redis is on an internal network only")
    check(compose["secrets"]["handoff_server_key"]["file"] == "./secrets/handoff-server-key", "the key comes from deploy/secrets/")
    mounted = [v.split(":")[0] for v in proxy["volumes"]]
    check(mounted == ["./nginx.conf"], "the proxy mounts deploy/nginx.conf")
    nginx = (DEPLOY / "nginx.conf").read_text()
    upstream = re.search(r"upstream handoff \{(.*?)\}", nginx, re.S)
    check(upstream is not None, "nginx.conf has an upstream")
    servers = re.findall(r"server ([\w-]+):8080", upstream.group(1))
    check(servers == instances, f"nginx balances over both instances, not {servers}")
    check(re.search(r"listen 8080;", nginx) is not None and "proxy_pass http://handoff;" in nginx, "nginx listens on 8080 and proxies to them")
    check("$proxy_add_x_forwarded_for" in nginx, "nginx passes X-Forwarded-For")
    check(nginx.count("{") == nginx.count("}"), "nginx.conf braces balance")
    ok("compose.yaml and nginx.conf: Redis with AOF, two instances behind one port, hardening, healthchecks, key from a secret")


def check_dockerfile() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    toolchain = tomllib.loads((ROOT / "rust-toolchain.toml").read_text())["toolchain"]["channel"]
    pinned = re.search(r"^ARG RUST_VERSION=(\S+)$", dockerfile, re.M)
    check(pinned is not None and pinned.group(1) == toolchain, f"Dockerfile's RUST_VERSION is rust-toolchain.toml's {toolchain}")
    check("cargo build --release --locked" in dockerfile, "Dockerfile builds --release --locked")
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.M)
    check(len(stages) == 2 and stages[-1].startswith("gcr.io/distroless/cc-"), "two stages, the last distroless")
    user = re.findall(r"^USER (\d+)(?::\d+)?$", dockerfile, re.M)
    check(user != [] and user[-1] != "0", "runs as a numeric non-root user")
    check(re.search(r"^HEALTHCHECK .*\n?.*handoff\", \"healthcheck\"", dockerfile, re.M) is not None, "HEALTHCHECK runs handoff healthcheck")
    check(re.search(r"^EXPOSE 8080$", dockerfile, re.M) is not None, "EXPOSE 8080")
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    copied = re.findall(r"^COPY (?!--from)(.+?) \S+$", dockerfile, re.M)
    for sources in copied:
        for source in sources.split():
            check(f"!{source}" in ignore or f"!{source}/" in ignore, f"Dockerfile.dockerignore lets {source} into the context")
    ok(f"Dockerfile: Rust {toolchain}, --locked, distroless final stage, non-root, HEALTHCHECK")


def main() -> int:
    try:
        check_dockerfile()
        check_compose()
        check_chart()
    except CheckFailed as failure:
        print(f"deploy: FAILED: {failure}", file=sys.stderr)
        return 1
    except helm.HelmError as error:
        print(f"deploy: FAILED: the chart does not render: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
