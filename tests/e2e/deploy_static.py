#!/usr/bin/env python3
"""Static checks of the deployment files (no docker daemon or cluster needed):

- every YAML file under docker/ parses;
- every image the compose file and the Kubernetes manifests run is built by a Dockerfile here, and
  every Dockerfile starts from Debian 12 and installs through scripts/install-deps.sh;
- every REEL_* variable they set is one reel reads (named in src/ or in `reel help`);
- ports agree: listen address, containerPort, Service targetPort, compose ports, KEDA's URL, Redis;
- the GPU workers request nvidia.com/gpu, select and tolerate the GPU pool, and drain gracefully;
- Redis runs with AOF on a persistent volume;
- KEDA scales the worker Deployment on the queue's backlog as src/queue/keys.h stores it.

Usage: deploy_static.py SOURCE_DIR [PATH/TO/reel]
"""

import glob
import json
import os
import re
import subprocess
import sys

try:
    import yaml
except ImportError:
    print("FAIL: python3 yaml module missing (Debian package python3-yaml, in "
          "scripts/install-deps.sh)")
    sys.exit(1)

SRC = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
REEL = sys.argv[2] if len(sys.argv) > 2 else None
problems = []


def bad(msg):
    problems.append(msg)


def rel(path):
    return os.path.relpath(path, SRC)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---- YAML parses ----
docs = {}  # path -> list of documents
for path in sorted(glob.glob(f"{SRC}/docker/**/*.y*ml", recursive=True)):
    try:
        docs[path] = [d for d in yaml.safe_load_all(read(path)) if d is not None]
    except yaml.YAMLError as e:
        bad(f"{rel(path)}: YAML does not parse: {e}")
compose_path = f"{SRC}/docker/compose.yaml"
if compose_path not in docs:
    bad("docker/compose.yaml missing")
    compose = {"services": {}}
else:
    compose = docs[compose_path][0]
k8s = [(p, d) for p, ds in docs.items() if "/k8s/" in p for d in ds if "kind" in d]
if not k8s:
    bad("no Kubernetes manifests under docker/k8s")


def objects(kind):
    return [(p, d) for p, d in k8s if d["kind"] == kind]


def one(kind, name):
    found = [d for _, d in objects(kind) if d["metadata"]["name"] == name]
    if len(found) != 1:
        bad(f"expected one {kind} named {name}, found {len(found)}")
        return None
    return found[0]


# ---- kustomization lists every manifest ----
kust = [d for p, ds in docs.items() if p.endswith("kustomization.yaml") for d in ds]
if kust:
    listed = set(kust[0].get("resources", []))
    for p, ds in docs.items():
        if "/k8s/" in p and not p.endswith("kustomization.yaml") and any("kind" in d for d in ds):
            if os.path.basename(p) not in listed:
                bad(f"{rel(p)} is not listed in docker/k8s/kustomization.yaml")
else:
    bad("docker/k8s/kustomization.yaml missing")

# ---- Dockerfiles ----
dockerfiles = {}
for path in sorted(glob.glob(f"{SRC}/docker/Dockerfile.*")):
    text = read(path)
    dockerfiles[rel(path)] = text
    for base in re.findall(r"^FROM\s+(\S+)", text, re.M):
        if base not in ("debian:12", "debian:12-slim"):
            bad(f"{rel(path)}: FROM {base}: images start from Debian 12")
    for src in re.findall(r"^COPY\s+(?!--)(\S+)\s+\S+", text, re.M):
        if src != "." and not os.path.exists(f"{SRC}/{src}"):
            bad(f"{rel(path)}: COPY {src}: no such file in the repository")
for name in ("docker/Dockerfile.cpu", "docker/Dockerfile.nvidia"):
    text = dockerfiles.get(name)
    if text is None:
        bad(f"{name} missing")
        continue
    if "scripts/install-deps.sh" not in text or "scripts/build.sh" not in text:
        bad(f"{name}: must install through scripts/install-deps.sh and build with scripts/build.sh")
nv = dockerfiles.get("docker/Dockerfile.nvidia", "")
caps = re.search(r"NVIDIA_DRIVER_CAPABILITIES=(\S+)", nv)
if not caps or not {"graphics", "video", "compute", "utility"} <= set(caps.group(1).split(",")):
    bad("Dockerfile.nvidia: NVIDIA_DRIVER_CAPABILITIES must include graphics,video,compute,utility")
vendor = re.search(r"^COPY\s+(\S+)\s+/usr/share/glvnd/egl_vendor\.d/\S+\.json", nv, re.M)
if not vendor:
    bad("Dockerfile.nvidia: no GLVND EGL vendor file copied to /usr/share/glvnd/egl_vendor.d")
elif os.path.exists(f"{SRC}/{vendor.group(1)}"):
    icd = json.loads(read(f"{SRC}/{vendor.group(1)}")).get("ICD", {})
    if icd.get("library_path") != "libEGL_nvidia.so.0":
        bad(f"{vendor.group(1)}: ICD library_path must be libEGL_nvidia.so.0")
deps = read(f"{SRC}/scripts/install-deps.sh")
for pkg in ("redis-server", "python3-yaml", "curl", "ffmpeg"):
    if not re.search(rf"(^|\s){re.escape(pkg)}(\s|$)", deps, re.M):
        bad(f"scripts/install-deps.sh does not install {pkg}")

# ---- images: every one run is built here ----
built = {}  # image -> Dockerfile
for name, svc in compose.get("services", {}).items():
    b = svc.get("build")
    if b:
        df = os.path.normpath(os.path.join("docker", b.get("context", "."), b.get("dockerfile",
                                                                               "Dockerfile")))
        if df not in dockerfiles:
            bad(f"compose service {name}: builds {df}, which does not exist")
        if "image" not in svc:
            bad(f"compose service {name}: build without an image name")
        elif built.setdefault(svc["image"], df) != df:
            bad(f"image {svc['image']} is built from two Dockerfiles")
for df in dockerfiles:
    if df not in built.values():
        bad(f"{df} is not built by any compose service")
used = [(f"compose service {n}", s.get("image")) for n, s in compose.get("services", {}).items()]


def pod_spec(obj):
    spec = obj.get("spec", {})
    return spec.get("template", {}).get("spec") if "template" in spec else None


def containers(obj):
    ps = pod_spec(obj) or {}
    return ps.get("containers", []) + ps.get("initContainers", [])


for p, d in k8s:
    for c in containers(d):
        used.append((f"{rel(p)} {d['kind']}/{d['metadata']['name']}", c.get("image")))
for where, image in used:
    if image not in built:
        bad(f"{where}: image {image!r} is not built by a Dockerfile here ({sorted(built)})")

# ---- environment variables exist in reel ----
known = set()
for path in glob.glob(f"{SRC}/src/**/*.[ch]", recursive=True):
    known |= set(re.findall(r"\bREEL_[A-Z0-9_]+\b", read(path)))
help_text = ""
if REEL and not os.access(REEL, os.X_OK):
    bad(f"{REEL} is not an executable reel")
    REEL = None
if REEL:
    for args in (["help"], ["serve", "--help"], ["worker", "--help"]):
        r = subprocess.run([REEL, *args], capture_output=True, text=True, timeout=30)
        help_text += r.stdout + r.stderr
    known |= set(re.findall(r"\bREEL_[A-Z0-9_]+\b", help_text))
deploy_text = {rel(p): read(p) for p in glob.glob(f"{SRC}/docker/**/*", recursive=True)
               if os.path.isfile(p)}
for path, text in deploy_text.items():
    for var in sorted(set(re.findall(r"\bREEL_[A-Z0-9_]+\b", text))):
        if var not in known:
            bad(f"{path}: {var} is not read by reel (not in src/ nor in `reel help`)")


def env_of(c):
    return {e["name"]: e.get("value") for e in c.get("env", [])}


# Each container's REEL_* variables must be read by the command it runs (serve or worker).
per_cmd = {}
if REEL:
    for cmd in ("serve", "worker"):
        r = subprocess.run([REEL, cmd, "--help"], capture_output=True, text=True, timeout=30)
        per_cmd[cmd] = set(re.findall(r"\bREEL_[A-Z0-9_]+\b", r.stdout + r.stderr))


def check_cmd_env(where, args, names):
    cmd = str((args or ["serve"])[0])
    if cmd not in per_cmd:
        return
    for var in sorted(n for n in names if n.startswith("REEL_")):
        if var not in per_cmd[cmd]:
            bad(f"{where}: {var} is not an option of `reel {cmd}` (see reel {cmd} --help)")


for name, svc in compose.get("services", {}).items():
    if str(svc.get("image", "")).startswith("reel:"):
        env = svc.get("environment", {})
        check_cmd_env(f"compose service {name}", svc.get("command"),
                      env.keys() if isinstance(env, dict) else [])
for p, d in k8s:
    for c in containers(d):
        if str(c.get("image", "")).startswith("reel:"):
            check_cmd_env(f"{rel(p)} {d['metadata']['name']}", c.get("args"), env_of(c).keys())


# ---- ports ----
def listen_port(args, env):
    args = [str(a) for a in args or []]
    listen = env.get("REEL_LISTEN")
    if "--listen" in args:
        listen = args[args.index("--listen") + 1]
    if listen is None:
        m = re.search(r"REEL_LISTEN=(\S+)", dockerfiles.get("docker/Dockerfile.cpu", ""))
        listen = m.group(1) if m else "127.0.0.1:8080"
    host, _, port = listen.rpartition(":")
    return host, int(port)


api_svc = compose.get("services", {}).get("api", {})
host, port = listen_port(api_svc.get("command"), api_svc.get("environment", {}))
if host in ("127.0.0.1", "localhost"):
    bad("compose api listens on loopback: unreachable from outside its container")
if not any(str(p).split(":")[-1] == str(port) for p in api_svc.get("ports", [])):
    bad(f"compose api listens on {port} but publishes {api_svc.get('ports')}")
if "redis" not in compose.get("services", {}):
    bad("compose has no redis service")
for name, svc in compose.get("services", {}).items():
    r = svc.get("environment", {}).get("REEL_REDIS") if isinstance(svc.get("environment"),
                                                                    dict) else None
    if name != "redis" and svc.get("image", "").startswith("reel:") and r != "redis://redis:6379":
        bad(f"compose service {name}: REEL_REDIS {r!r}, expected redis://redis:6379")
workers = [s for n, s in compose.get("services", {}).items()
           if "worker" in [str(a) for a in s.get("command", [])] and not s.get("profiles")]
if sum(s.get("deploy", {}).get("replicas", 1) for s in workers) < 2:
    bad("compose runs fewer than 2 workers")
for s in [api_svc, *workers]:
    if not any(str(v).endswith(":/var/lib/reel/output") for v in s.get("volumes", [])):
        bad("compose api and workers must share the output volume at /var/lib/reel/output")

api = one("Deployment", "reel-api")
svc = one("Service", "reel-api")
redis_sts = one("StatefulSet", "redis")
redis_svc = one("Service", "redis")
worker = one("Deployment", "reel-worker")
if api and svc:
    c = containers(api)[0]
    _, port = listen_port(c.get("args"), env_of(c))
    cports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    if port not in cports.values():
        bad(f"reel-api listens on {port} but declares containerPorts {cports}")
    for sp in svc["spec"]["ports"]:
        t = sp.get("targetPort", sp["port"])
        if cports.get(t, t) != port:
            bad(f"Service reel-api targetPort {t} does not reach the API's port {port}")
    for probe in ("readinessProbe", "livenessProbe"):
        pp = c.get(probe, {}).get("httpGet", {}).get("port")
        if cports.get(pp, pp) != port:
            bad(f"reel-api {probe} port {pp} is not the API's port {port}")
    if svc["spec"]["selector"] != api["spec"]["template"]["metadata"]["labels"]:
        bad("Service reel-api selector does not match the API pods' labels")
if redis_sts and redis_svc:
    rport = containers(redis_sts)[0]["ports"][0]["containerPort"]
    if redis_svc["spec"]["ports"][0]["port"] != rport:
        bad("Service redis port differs from the Redis container port")
    for dep in (api, worker):
        for c in containers(dep) if dep else []:
            want = f"redis://{redis_svc['metadata']['name']}:{redis_svc['spec']['ports'][0]['port']}"
            if env_of(c).get("REEL_REDIS") != want:
                bad(f"{dep['metadata']['name']}: REEL_REDIS {env_of(c).get('REEL_REDIS')!r}, "
                    f"expected {want}")

# ---- GPU workers ----
if worker:
    ps = pod_spec(worker)
    c = containers(worker)[0]
    gpus = c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
    if not gpus or int(gpus) < 1:
        bad("reel-worker does not request nvidia.com/gpu in its limits")
    if not ps.get("nodeSelector"):
        bad("reel-worker has no nodeSelector for the GPU node pool")
    if not any(t.get("key") == "nvidia.com/gpu" for t in ps.get("tolerations", [])):
        bad("reel-worker does not tolerate the nvidia.com/gpu taint")
    grace = ps.get("terminationGracePeriodSeconds", 30)
    drain = int(env_of(c).get("REEL_DRAIN_TIMEOUT") or 60)
    if grace < 120 or grace <= drain:
        bad(f"reel-worker terminationGracePeriodSeconds {grace} too short to drain running jobs "
            f"(drain timeout {drain} s)")
    if c.get("image") != "reel:nvidia":
        bad(f"reel-worker runs {c.get('image')}, expected the NVIDIA image reel:nvidia")
    if "worker" not in [str(a) for a in c.get("args", [])]:
        bad("reel-worker does not run `reel worker`")

# ---- shared output volume ----
pvcs = {d["metadata"]["name"]: d for _, d in objects("PersistentVolumeClaim")}
for dep in (api, worker):
    if not dep:
        continue
    vols = {v["name"]: v for v in pod_spec(dep).get("volumes", [])}
    c = containers(dep)[0]
    out = env_of(c).get("REEL_OUTPUT_DIR")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    claim = vols.get(mounts.get(out), {}).get("persistentVolumeClaim", {}).get("claimName")
    if claim not in pvcs:
        bad(f"{dep['metadata']['name']}: REEL_OUTPUT_DIR {out} is not on a PersistentVolumeClaim")
    elif "ReadWriteMany" not in pvcs[claim]["spec"]["accessModes"]:
        bad(f"PVC {claim} must be ReadWriteMany: API and workers on different nodes share it")

# ---- Redis with AOF ----
conf = read(f"{SRC}/docker/redis.conf") if os.path.exists(f"{SRC}/docker/redis.conf") else ""
if not re.search(r"^appendonly\s+yes\s*$", conf, re.M):
    bad("docker/redis.conf: appendonly yes missing")
data_dir = (re.search(r"^dir\s+(\S+)", conf, re.M) or [None, None])[1]
if "docker/redis.conf" not in dockerfiles.get("docker/Dockerfile.redis", ""):
    bad("Dockerfile.redis does not install docker/redis.conf")


def aof_on(args):
    args = [str(a) for a in args or []]
    return ("--appendonly" in args and args[args.index("--appendonly") + 1] == "yes") or \
        any(a.endswith("reel.conf") for a in args)


rsvc = compose.get("services", {}).get("redis", {})
if not aof_on(rsvc.get("command")):
    bad("compose redis does not run with AOF")
if not any(str(v).endswith(f":{data_dir}") for v in rsvc.get("volumes", [])):
    bad(f"compose redis keeps its data dir {data_dir} on no volume")
if redis_sts:
    c = containers(redis_sts)[0]
    if not aof_on(c.get("args")):
        bad("Redis StatefulSet does not run with AOF")
    claims = {t["metadata"]["name"] for t in redis_sts["spec"].get("volumeClaimTemplates", [])}
    if not any(m["name"] in claims and m["mountPath"] == data_dir
               for m in c.get("volumeMounts", [])):
        bad(f"Redis StatefulSet: its data dir {data_dir} is not on a volumeClaimTemplate")

# ---- KEDA on the backlog as keys.h stores it ----
keys = read(f"{SRC}/src/queue/keys.h") if os.path.exists(f"{SRC}/src/queue/keys.h") else ""
m = re.search(r'#define\s+REEL_KEY_READY\s+"([^"]+)"\s*/\*\s*(\w+)', keys)
scaled = objects("ScaledObject")
if not m:
    bad("src/queue/keys.h: REEL_KEY_READY (the backlog key and its type) not found")
elif len(scaled) != 1:
    bad(f"expected one KEDA ScaledObject, found {len(scaled)}")
else:
    key_fmt, key_type = m.group(1), m.group(2).lower()
    so = scaled[0][1]
    if worker and so["spec"]["scaleTargetRef"]["name"] != worker["metadata"]["name"]:
        bad("ScaledObject does not target the worker Deployment")
    trig = so["spec"]["triggers"]
    types = [t["type"] for t in trig]
    if key_type == "list":
        names = {t["metadata"].get("listName") for t in trig if t["type"] == "redis"}
        if not any(re.fullmatch(re.escape(key_fmt).replace("%s", ".+"), n or "")
                   for n in names):
            bad(f"backlog is the list {key_fmt}: expected a redis trigger with that listName")
    elif key_type == "stream":
        if "redis-streams" not in types:
            bad(f"backlog is the stream {key_fmt}: expected a redis-streams trigger")
    elif key_type in ("zset", "hash", "set"):
        # No KEDA Redis scaler reads a sorted set: the figure must come from reel's own metric.
        t = next((t for t in trig if t["type"] in ("metrics-api", "prometheus")), None)
        if not t:
            bad(f"backlog is a {key_type} ({key_fmt}), which KEDA's Redis scalers cannot count: "
                f"expected a metrics-api or prometheus trigger, found {types}")
        else:
            md = t["metadata"]
            metric = md.get("valueLocation") or md.get("query", "")
            metric = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.sub(r"^\w+\(", "", metric)).group(0)
            api_src = "".join(read(p) for p in glob.glob(f"{SRC}/src/api/*.c"))
            if metric not in api_src:
                bad(f"KEDA reads metric {metric}, which src/api does not export")
            if t["type"] == "metrics-api":
                if md.get("format") != "prometheus":
                    bad("metrics-api trigger on /metrics needs format: prometheus")
                u = re.match(r"http://([^:/]+)(?::(\d+))?(/\S*)", md.get("url", ""))
                if not u or not svc or u.group(1).split(".")[0] != svc["metadata"]["name"] or \
                        int(u.group(2) or 80) != svc["spec"]["ports"][0]["port"] or \
                        u.group(3) != "/metrics":
                    bad(f"metrics-api url {md.get('url')} is not the reel-api Service's /metrics")
    else:
        bad(f"REEL_KEY_READY has an unknown type {key_type!r}")

if problems:
    for p in problems:
        print(f"FAIL: {p}")
    sys.exit(1)
print(f"deploy files OK: {len(docs)} YAML files, {len(dockerfiles)} Dockerfiles, "
      f"{len(k8s)} Kubernetes objects, images {sorted(built)}")
