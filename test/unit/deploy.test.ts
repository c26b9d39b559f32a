import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { Options } from 'yargs';
import { COMMAND_OPTIONS, WORKER_METRICS_PORTS } from '../../src/cli/options.js';
import {
  DEPLOY_DIR, REPO_ROOT, bindMount, composeEnv, containerPort, dockerInstructions, envOf, envValue, finalStage, globalArgs,
  loadOneYaml, loadYaml, readRepoFile, stages, yamlFiles,
} from '../fixtures/deployFiles.js';
import type { ComposeFile, ComposeService, DockerInstruction, K8sContainer, K8sObject, K8sPort } from '../fixtures/deployFiles.js';

// The container images, Compose file and Kubernetes manifests under deploy/ cannot be built or
// run here: these tests hold them to the CLI's option table, package.json and one another.

const pkg = JSON.parse(readRepoFile('package.json')) as { version: string; bin: { trainer: string }; optionalDependencies: Record<string, string> };
const IMAGE = `trainer-gpu:${pkg.version}`;
const CLI_IN_IMAGE = `/app/${pkg.bin.trainer}`;
type Command = 'coordinator' | 'worker';
const DEFAULT = {
  controlPort: COMMAND_OPTIONS.coordinator.port.default,
  coordinatorMetrics: COMMAND_OPTIONS.coordinator['metrics-port'].default,
  workerMetrics: WORKER_METRICS_PORTS.first,
};
/** The ring data port pinned in containers (the code's default, 0, picks any free port). */
const DATA_PORT = 5600;
const COMPOSE = 'deploy/docker-compose.yml';
const K8S_DIR = 'deploy/k8s';

const ascending = (a: number, b: number): number => a - b;

/** TRAINER_METRICS_PORT → metrics-port. */
function flagOfEnv(name: string): string {
  return name.slice('TRAINER_'.length).toLowerCase().replace(/_/g, '-');
}

/** Every TRAINER_* variable names a flag of `command` (or is TRAINER_CONFIG), with a value the flag accepts. */
function assertTrainerEnv(command: Command, env: Map<string, string | undefined>, where: string): void {
  const table: Record<string, Options> = COMMAND_OPTIONS[command];
  for (const [name, value] of env) {
    if (!name.startsWith('TRAINER_')) continue;
    const flag = flagOfEnv(name);
    assert.ok(Object.hasOwn(table, flag), `${where}: ${name} is not an option of trainer ${command} (no --${flag})`);
    if (value === undefined) continue; // set from the downward API
    const option = table[flag]!;
    if (option.choices) assert.ok((option.choices as readonly unknown[]).includes(value), `${where}: ${name}=${value} is one of ${String(option.choices)}`);
    if (option.type === 'number') assert.ok(value.trim() !== '' && Number.isFinite(Number(value)), `${where}: ${name}=${value} is a number`);
    if (option.type === 'boolean') assert.ok(value === 'true' || value === 'false', `${where}: ${name}=${value} is true or false`);
  }
}

/** The trainer command(s) a container's command line runs: `worker`, or `node …/cli.js coordinator …` inside `sh -c`. */
function trainerCommand(argv: string[], where: string): Command {
  const first = argv[0];
  if (first === 'coordinator' || first === 'worker') return first;
  const script = argv.join(' ');
  const runs = [...script.matchAll(/node (\S+) (\w+)/g)];
  assert.ok(runs.length > 0, `${where}: runs the trainer (${script})`);
  for (const run of runs) {
    assert.equal(run[1], CLI_IN_IMAGE, `${where}: runs the image's CLI (package.json bin)`);
    assert.ok(run[2] === 'coordinator' || run[2] === 'worker', `${where}: a coordinator or worker (${run[2]})`);
    assert.equal(run[2], runs[0]![2], `${where}: one command in every branch`);
  }
  const command = runs[0]![2] as Command;
  for (const flag of script.matchAll(/ --([a-z][a-z-]*)/g)) {
    assert.ok(Object.hasOwn(COMMAND_OPTIONS[command], flag[1]!), `${where}: --${flag[1]} is an option of trainer ${command}`);
  }
  return command;
}

/** The shell script of a restartable coordinator: resume from the run's checkpoints when there are any, else start it. */
function assertResumesRun(script: string, where: string): void {
  assert.match(script, /if .*\/runs\/mnist\/checkpoints.*then .*coordinator --resume \/runs\/mnist.*else .*coordinator --out \/runs\/mnist/s, `${where}: resumes or starts /runs/mnist`);
}

/**
 * The port a flag takes in a container: its TRAINER_* variable, else the code's default (a
 * worker's metrics port: the first of its range, which is free in a container of its own).
 */
function effectivePort(command: Command, flag: 'port' | 'metrics-port' | 'data-port', env: Map<string, string | undefined>): number {
  const fromEnv = env.get(`TRAINER_${flag.toUpperCase().replace(/-/g, '_')}`);
  if (fromEnv !== undefined) return Number(fromEnv);
  if (command === 'worker' && flag === 'metrics-port') return WORKER_METRICS_PORTS.first;
  const table: Record<string, Options> = COMMAND_OPTIONS[command];
  return Number(table[flag]?.default);
}

interface PrometheusConfig {
  global: { scrape_interval: string };
  scrape_configs: Array<{ job_name: string; honor_labels?: boolean; static_configs?: unknown; http_sd_configs?: Array<{ url: string; refresh_interval?: string }> }>;
}

// ---- every YAML file ---------------------------------------------------------------------------

test('every YAML file under deploy/ parses', () => {
  const files = yamlFiles(DEPLOY_DIR);
  for (const expected of [COMPOSE, 'deploy/prometheus/prometheus.yml', `${K8S_DIR}/coordinator.yaml`, `${K8S_DIR}/workers.yaml`,
    `${K8S_DIR}/scrapeconfig.yaml`, `${K8S_DIR}/kustomization.yaml`]) {
    assert.ok(files.includes(expected), `${expected} exists`);
  }
  for (const file of files) loadYaml(file);
});

// ---- Docker Compose ------------------------------------------------------------------------------

const compose = loadOneYaml<ComposeFile>(COMPOSE);
const trainerServices = (): Array<[string, ComposeService, Command]> => Object.entries(compose.services)
  .filter(([, s]) => s.image?.startsWith('trainer'))
  .map(([name, s]) => {
    const argv = [...[s.entrypoint ?? []].flat(), ...[s.command ?? []].flat()].filter((w) => w !== 'sh' && w !== '-c');
    return [name, s, trainerCommand(argv, `compose ${name}`)];
  });

test('compose: a coordinator and one worker per rank, each with one GPU of its own', () => {
  const services = trainerServices();
  const coordinators = services.filter(([, , c]) => c === 'coordinator');
  const workers = services.filter(([, , c]) => c === 'worker');
  assert.deepEqual(coordinators.map(([n]) => n), ['coordinator']);
  const coordinator = compose.services.coordinator!;
  const world = Number(composeEnv(coordinator).get('TRAINER_WORKERS'));
  assert.equal(workers.length, world, `TRAINER_WORKERS=${world} workers`);
  assert.equal(composeEnv(coordinator).get('TRAINER_OUT'), '/runs/mnist');
  assert.ok(coordinator.volumes?.some((v) => v.startsWith('runs:/runs')), 'the run directory is the named volume `runs`');
  assert.ok(compose.volumes && 'runs' in compose.volumes);
  assertResumesRun([coordinator.command ?? []].flat().join(' '), 'compose coordinator');
  assert.equal(coordinator.deploy?.resources?.reservations?.devices, undefined, 'the coordinator reserves no GPU');

  const ranks = new Set<string>();
  const gpus = new Set<string>();
  for (const [name, service] of workers) {
    const env = composeEnv(service);
    assert.match(name, /^worker-\d+$/);
    assert.equal(env.get('TRAINER_RANK'), name.slice('worker-'.length), `${name} asks for its own rank`);
    ranks.add(env.get('TRAINER_RANK')!);
    assert.equal(env.get('TRAINER_ADVERTISE'), name, `${name} advertises its service name`);
    assert.equal(env.get('TRAINER_COORDINATOR'), `tcp://coordinator:${effectivePort('coordinator', 'port', composeEnv(coordinator))}`);
    assert.equal(service.restart, 'on-failure', `${name} is restarted after exit 3`);
    const devices = service.deploy?.resources?.reservations?.devices ?? [];
    assert.equal(devices.length, 1, `${name} reserves one device request`);
    const [device] = devices;
    assert.equal(device!.driver, 'nvidia');
    assert.deepEqual(device!.capabilities, ['gpu']);
    assert.equal(device!.count, undefined, 'device_ids, not count');
    assert.equal(device!.device_ids?.length, 1, `${name} reserves exactly one GPU`);
    gpus.add(device!.device_ids![0]!);
  }
  assert.deepEqual([...ranks].map(Number).sort(ascending), [...Array(world).keys()], 'ranks 0..N-1');
  assert.equal(gpus.size, world, 'a distinct GPU per worker');
});

test('compose: TRAINER_* variables are flags of the command each service runs, and ports are the defaults', () => {
  for (const [name, service, command] of trainerServices()) {
    const env = composeEnv(service);
    assertTrainerEnv(command, env, `compose ${name}`);
    assert.equal(service.image, IMAGE, `${name}'s image`);
    assert.equal(service.build?.context, '..', `${name} builds from the repository root`);
    assert.equal(service.build?.dockerfile, 'deploy/docker/Dockerfile.gpu');
    if (command === 'coordinator') {
      assert.equal(effectivePort(command, 'port', env), DEFAULT.controlPort);
      assert.equal(effectivePort(command, 'metrics-port', env), DEFAULT.coordinatorMetrics);
      assert.deepEqual((service.ports ?? []).map(containerPort).sort(ascending), [DEFAULT.controlPort, DEFAULT.coordinatorMetrics].sort(ascending), `${name} publishes its ports`);
      const probe = [service.healthcheck?.test ?? []].flat().join(' ');
      assert.match(probe, new RegExp(`:${DEFAULT.coordinatorMetrics}/healthz`), `${name}'s healthcheck asks /healthz`);
    } else {
      assert.equal(env.get('TRAINER_DATA_PORT'), String(DATA_PORT), `${name} pins its data port`);
      assert.equal(effectivePort(command, 'metrics-port', env), DEFAULT.workerMetrics);
      assert.deepEqual((service.expose ?? []).map(containerPort).sort(ascending), [DATA_PORT, DEFAULT.workerMetrics].sort(ascending), `${name} exposes its ports`);
    }
  }
});

test('compose: Prometheus scrapes exactly the trainer services, on their metrics ports', () => {
  const prometheus = compose.services.prometheus!;
  assert.match(prometheus.image ?? '', /^prom\/prometheus:/);
  const mounts = (prometheus.volumes ?? []).map((v) => bindMount('deploy', v)).filter((m) => m !== undefined);
  const configFlag = [prometheus.command ?? []].flat().find((w) => w.startsWith('--config.file='))?.split('=')[1] ?? '/etc/prometheus/prometheus.yml';
  assert.deepEqual(mounts.find(([, inside]) => inside === configFlag)?.[0], 'deploy/prometheus/prometheus.yml', 'the config Prometheus reads is deploy/prometheus/prometheus.yml');

  // Prometheus learns the targets from the coordinator's /sd: one job, pointed at the coordinator's service and metrics port.
  const config = loadOneYaml<PrometheusConfig>('deploy/prometheus/prometheus.yml');
  assert.equal(config.scrape_configs.length, 1, 'one scrape job');
  const [job] = config.scrape_configs;
  assert.equal(job!.static_configs, undefined, 'no static targets');
  assert.equal(job!.honor_labels, true, 'a worker\'s own rank label is kept');
  const coordinator = trainerServices().find(([, , c]) => c === 'coordinator')!;
  assert.deepEqual(job!.http_sd_configs?.map((c) => c.url), [`http://${coordinator[0]}:${effectivePort('coordinator', 'metrics-port', composeEnv(coordinator[1]))}/sd`]);
  // What /sd lists for each worker (its advertised address and metrics port) is a service Prometheus can reach on a port it exposes.
  for (const [name, service, command] of trainerServices().filter(([, , c]) => c === 'worker')) {
    const env = composeEnv(service);
    assert.ok(compose.services[env.get('TRAINER_ADVERTISE') ?? ''], `${name} advertises a compose service name`);
    assert.ok((service.expose ?? []).map(containerPort).includes(effectivePort(command, 'metrics-port', env)), `${name} exposes its metrics port`);
  }
});

test('compose: Grafana is provisioned with a Prometheus datasource and the dashboard file', () => {
  const grafana = compose.services.grafana!;
  assert.match(grafana.image ?? '', /^grafana\/grafana/);
  const mounts = (grafana.volumes ?? []).map((v) => bindMount('deploy', v)).filter((m) => m !== undefined);
  const mountedAt = (inside: string): string | undefined => mounts.find(([, i]) => i === inside)?.[0];

  const datasourceDir = mountedAt('/etc/grafana/provisioning/datasources');
  const dashboardDir = mountedAt('/etc/grafana/provisioning/dashboards');
  assert.ok(datasourceDir && statSync(path.join(REPO_ROOT, datasourceDir)).isDirectory(), 'a datasources provisioning folder is mounted');
  assert.ok(dashboardDir && statSync(path.join(REPO_ROOT, dashboardDir)).isDirectory(), 'a dashboards provisioning folder is mounted');

  const datasources = yamlFiles(path.join(REPO_ROOT, datasourceDir))
    .flatMap((f) => loadOneYaml<{ datasources?: Array<{ type: string; url: string; uid?: string }> }>(f).datasources ?? []);
  const dashboard = JSON.parse(readRepoFile('deploy/grafana/dashboard.json')) as { templating: { list: Array<{ name: string; type: string; query: string }> } };
  const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
  assert.ok(variable, 'the dashboard picks its datasource through a variable');
  const matching = datasources.filter((d) => d.type === variable.query);
  assert.equal(matching.length, 1, `one provisioned datasource of type ${variable.query}, the dashboard variable's query`);
  assert.equal(matching[0]!.url, `http://prometheus:9090`, 'it points at the compose Prometheus');
  // Every Prometheus query of the dashboard goes through that variable.
  const refs = [...readRepoFile('deploy/grafana/dashboard.json').matchAll(/"type":\s*"prometheus",\s*"uid":\s*"([^"]*)"/g)].map((m) => m[1]);
  assert.ok(refs.length > 0 && refs.every((uid) => uid === `\${${variable.name}}`), `panels use \${${variable.name}}`);

  const providers = yamlFiles(path.join(REPO_ROOT, dashboardDir))
    .flatMap((f) => loadOneYaml<{ providers?: Array<{ type: string; options: { path: string } }> }>(f).providers ?? []);
  assert.equal(providers.length, 1);
  assert.equal(providers[0]!.type, 'file');
  const dashboards = mounts.filter(([, inside]) => path.posix.dirname(inside) === providers[0]!.options.path);
  assert.deepEqual(dashboards.map(([host]) => host), ['deploy/grafana/dashboard.json'], 'the provider\'s folder holds deploy/grafana/dashboard.json');
});

test('promtool accepts deploy/prometheus/prometheus.yml', () => {
  // npm test installs Debian's prometheus package (scripts/testSetup.sh), which brings promtool.
  const check = spawnSync('promtool', ['check', 'config', path.join(REPO_ROOT, 'deploy/prometheus/prometheus.yml')], { encoding: 'utf8' });
  assert.equal(check.error, undefined, `promtool runs (Debian: apt-get install prometheus): ${String(check.error)}`);
  assert.equal(check.status, 0, `promtool check config:\n${check.stdout}${check.stderr}`);
});

// ---- Kubernetes -------------------------------------------------------------------------------------

const k8sObjects = (): Array<K8sObject & { file: string }> => yamlFiles(path.join(REPO_ROOT, K8S_DIR))
  .filter((f) => !f.endsWith('kustomization.yaml'))
  .flatMap((file) => (loadYaml(file) as K8sObject[]).map((o) => ({ ...o, file })));
const objectOf = (kind: string, name: string): K8sObject => {
  const found = k8sObjects().filter((o) => o.kind === kind && o.metadata?.name === name);
  assert.equal(found.length, 1, `one ${kind} ${name}`);
  return found[0]!;
};
const containerOf = (o: K8sObject): K8sContainer => {
  const containers = o.spec?.template?.spec.containers ?? [];
  assert.equal(containers.length, 1, `${o.kind} ${o.metadata?.name}: one container`);
  return containers[0]!;
};
const k8sEnv = (c: K8sContainer): Map<string, string | undefined> => new Map((c.env ?? []).map((e) => [e.name, e.value]));
const portsByName = (ports: K8sPort[] | undefined, field: 'port' | 'containerPort'): Record<string, number | undefined> =>
  Object.fromEntries((ports ?? []).map((p) => [p.name ?? '', p[field]]));

test('kubernetes: every object has apiVersion, kind and a name; kustomization lists every manifest', () => {
  const objects = k8sObjects();
  assert.ok(objects.length >= 6);
  for (const o of objects) {
    assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${o.file}: apiVersion, kind, metadata.name in ${JSON.stringify(o).slice(0, 120)}`);
  }
  const kustomization = loadOneYaml<K8sObject>(`${K8S_DIR}/kustomization.yaml`);
  assert.equal(kustomization.kind, 'Kustomization');
  const manifests = readdirSync(path.join(REPO_ROOT, K8S_DIR)).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
  assert.deepEqual([...(kustomization.resources ?? [])].sort(), manifests.sort());
});

test('kubernetes: an Indexed Job of TRAINER_WORKERS one-GPU workers, ranked by completion index', () => {
  const deployment = objectOf('Deployment', 'trainer-coordinator');
  const job = objectOf('Job', 'trainer-workers');
  const world = Number(envValue(containerOf(deployment), 'TRAINER_WORKERS'));
  assert.ok(world >= 1);
  assert.equal(job.spec?.completionMode, 'Indexed');
  assert.equal(job.spec?.completions, world, 'completions = the coordinator\'s TRAINER_WORKERS');
  assert.equal(job.spec?.parallelism, world, 'parallelism = the coordinator\'s TRAINER_WORKERS');

  const pod = job.spec!.template!;
  const worker = containerOf(job);
  assert.equal(Number(worker.resources?.limits?.['nvidia.com/gpu']), 1, 'one GPU per worker');
  const fieldPath = (name: string): string | undefined => worker.env?.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath;
  assert.equal(fieldPath('TRAINER_RANK'), "metadata.annotations['batch.kubernetes.io/job-completion-index']");
  assert.equal(fieldPath('TRAINER_ADVERTISE'), 'status.podIP');
  assert.equal(pod.spec.subdomain, 'trainer-workers');
  assert.equal(objectOf('Service', 'trainer-workers').spec?.clusterIP, 'None', 'the workers\' Service is headless');
  // A worker that exits 3 (its coordinator went silent) is run again.
  const restarts = pod.spec.restartPolicy === 'OnFailure'
    || (job.spec?.podFailurePolicy?.rules ?? []).some((r) => r.action === 'Ignore' && r.onExitCodes?.operator === 'In' && r.onExitCodes.values.includes(3));
  assert.ok(restarts, 'restartPolicy OnFailure, or a podFailurePolicy that retries exit 3');
});

test('kubernetes: env, ports, probes, labels and keys agree with the CLI and each other', () => {
  const deployment = objectOf('Deployment', 'trainer-coordinator');
  const job = objectOf('Job', 'trainer-workers');
  const coordinatorService = objectOf('Service', 'trainer-coordinator');
  const workerService = objectOf('Service', 'trainer-workers');
  const coordinator = containerOf(deployment);
  const worker = containerOf(job);

  assert.equal(deployment.spec?.replicas, 1);
  assert.equal(deployment.spec?.strategy?.type, 'Recreate');
  assertResumesRun([...coordinator.command ?? [], ...coordinator.args ?? []].join(' '), 'coordinator Deployment');

  const runs: Array<[K8sContainer, Command, K8sObject, K8sObject]> = [[coordinator, 'coordinator', deployment, coordinatorService], [worker, 'worker', job, workerService]];
  for (const [container, command, owner, service] of runs) {
    const where = `${owner.kind} ${owner.metadata?.name}`;
    assert.equal(trainerCommand([...container.command ?? [], ...container.args ?? []].filter((w) => w !== 'sh' && w !== '-c'), where), command);
    const env = k8sEnv(container);
    assertTrainerEnv(command, env, where);
    assert.equal(container.image, IMAGE, `${where}'s image`);

    // Ports: the Service's, the container's and the annotations' are the flags' values.
    const metrics = effectivePort(command, 'metrics-port', env);
    const expected: Record<string, number> = command === 'coordinator'
      ? { control: effectivePort(command, 'port', env), metrics }
      : { data: effectivePort(command, 'data-port', env), metrics };
    assert.deepEqual(expected, command === 'coordinator'
      ? { control: DEFAULT.controlPort, metrics: DEFAULT.coordinatorMetrics }
      : { data: DATA_PORT, metrics: DEFAULT.workerMetrics });
    assert.deepEqual(portsByName(container.ports, 'containerPort'), expected, `${where}'s container ports`);
    assert.deepEqual(portsByName(service.spec?.ports, 'port'), expected, `Service ${service.metadata?.name}'s ports`);
    for (const p of service.spec?.ports ?? []) assert.ok(p.targetPort === p.name || p.targetPort === p.port, `Service port ${p.name} targets the container's`);
    const annotations = owner.spec?.template?.metadata?.annotations ?? {};
    assert.deepEqual([annotations['prometheus.io/scrape'], annotations['prometheus.io/port'], annotations['prometheus.io/path']], ['true', String(metrics), '/metrics']);

    // The Service selects the pods.
    const labels = owner.spec?.template?.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(service.spec?.selector ?? {})) assert.equal(labels[k], v, `Service ${service.metadata?.name} selects ${where}'s pods (${k})`);

    // CURVE keys: the Secret's items give this side the files the CLI reads from TRAINER_CURVE_KEYS.
    const keysDir = env.get('TRAINER_CURVE_KEYS');
    const mount = container.volumeMounts?.find((m) => m.mountPath === keysDir);
    assert.ok(keysDir && mount?.readOnly, `${where} mounts its keys read-only at TRAINER_CURVE_KEYS`);
    const secret = owner.spec?.template?.spec.volumes?.find((v) => v.name === mount.name)?.secret;
    assert.ok(secret, `${where}: the keys are a Secret volume`);
    assert.equal(secret.secretName, 'trainer-curve-keys');
    const files = (secret.items ?? []).map((i) => i.path).sort();
    if (command === 'coordinator') {
      assert.deepEqual(files.filter((f) => !f.startsWith('authorized/')), ['coordinator.key', 'coordinator.pub']);
      assert.ok(files.some((f) => /^authorized\/[\w.-]+\.pub$/.test(f)), 'admitted workers\' public keys in authorized/');
      for (const item of secret.items ?? []) if (item.path.startsWith('authorized/')) assert.match(item.key, /\.pub$/);
    } else {
      const name = env.get('TRAINER_CURVE_NAME') ?? String(COMMAND_OPTIONS.worker['curve-name'].default);
      assert.deepEqual(files, ['coordinator.pub', `${name}.key`, `${name}.pub`].sort());
    }
  }

  // The workers reach the coordinator through its Service, on its control port.
  assert.equal(envValue(worker, 'TRAINER_COORDINATOR'), `tcp://${coordinatorService.metadata?.name}:${DEFAULT.controlPort}`);
  // Probes ask /healthz on the metrics port.
  for (const probe of [coordinator.readinessProbe, coordinator.livenessProbe]) {
    assert.ok(probe?.httpGet, 'the coordinator has HTTP readiness and liveness probes');
    assert.equal(probe.httpGet.path, '/healthz');
    const port = probe.httpGet.port;
    assert.equal(typeof port === 'string' ? portsByName(coordinator.ports, 'containerPort')[port] : port, DEFAULT.coordinatorMetrics);
  }
  // The run directory is a claim of these manifests, mounted at /runs.
  const claim = deployment.spec?.template?.spec.volumes?.find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
  assert.ok(claim);
  objectOf('PersistentVolumeClaim', claim);
  assert.ok(coordinator.volumeMounts?.some((m) => m.mountPath === '/runs'));
  assert.equal(envValue(coordinator, 'TRAINER_OUT'), '/runs/mnist');
});

test('kubernetes: Prometheus (operator) discovers the run at the coordinator Service\'s /sd, and nothing else scrapes it', () => {
  const monitors = k8sObjects().filter((o) => o.apiVersion?.startsWith('monitoring.coreos.com/'));
  assert.deepEqual(monitors.map((o) => o.kind), ['ScrapeConfig'], 'one ScrapeConfig, no ServiceMonitor (that would scrape the workers twice)');
  const scrape = monitors[0]!;
  assert.equal(scrape.apiVersion, 'monitoring.coreos.com/v1alpha1');
  assert.equal(scrape.spec?.honorLabels, true, 'a worker\'s own rank label is kept');
  const service = objectOf('Service', 'trainer-coordinator');
  const metricsPort = portsByName(service.spec?.ports, 'port').metrics;
  assert.equal(metricsPort, DEFAULT.coordinatorMetrics);
  // The manifests set no namespace: they land in `default`, and the URL names the Service there.
  assert.deepEqual(scrape.spec?.httpSDConfigs?.map((c) => c.url), [`http://${service.metadata?.name}.default.svc:${metricsPort}/sd`]);
  // /sd lists each worker at TRAINER_ADVERTISE (its pod IP, checked above) and the metrics port it serves.
  const worker = containerOf(objectOf('Job', 'trainer-workers'));
  assert.equal(portsByName(worker.ports, 'containerPort').metrics, effectivePort('worker', 'metrics-port', k8sEnv(worker)));
});

// ---- Dockerfiles and the build context ----------------------------------------------------------

const DOCKERFILES = ['deploy/docker/Dockerfile.gpu', 'deploy/docker/Dockerfile'];

function exposed(instructions: DockerInstruction[]): number[] {
  return instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0])).sort(ascending);
}

test('Dockerfiles: entrypoint is package.json\'s bin, ports are the defaults, the user is not root', () => {
  for (const file of DOCKERFILES) {
    const instructions = dockerInstructions(file);
    const runtime = finalStage(instructions);
    const entrypoints = runtime.filter((i) => i.keyword === 'ENTRYPOINT');
    assert.equal(entrypoints.length, 1, `${file}: one ENTRYPOINT`);
    assert.deepEqual(JSON.parse(entrypoints[0]!.args), ['node', CLI_IN_IMAGE], `${file}: ENTRYPOINT runs ${pkg.bin.trainer}`);
    assert.ok(runtime.some((i) => i.keyword === 'COPY' && /\/app\/dist\s+\.\/dist$/.test(i.args)), `${file}: the runtime stage has the build's dist/`);
    assert.deepEqual(exposed(runtime), [DEFAULT.controlPort, DATA_PORT, DEFAULT.coordinatorMetrics, DEFAULT.workerMetrics].sort(ascending), `${file}: EXPOSE`);
    const user = runtime.filter((i) => i.keyword === 'USER').pop()?.args;
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `${file}: runs as a non-root user (${user})`);
    assert.ok(stages(instructions).length >= 2, `${file}: multi-stage`);
    // TRAINER_* in the image apply to every command: they must be options of both.
    const env = envOf(runtime);
    assertTrainerEnv('coordinator', env, file);
    assertTrainerEnv('worker', env, file);
  }
});

test('Dockerfile.gpu: CUDA >= 11.2 with cuDNN 8, Node 20, the tfjs-node-gpu of package.json, backend tensorflow', () => {
  const file = 'deploy/docker/Dockerfile.gpu';
  const instructions = dockerInstructions(file);
  const all = stages(instructions);
  const base = all[all.length - 1]!.image;
  const cuda = /^nvidia\/cuda:(\d+)\.(\d+)(?:\.\d+)?-cudnn(\d+)-runtime-/.exec(base);
  assert.ok(cuda, `${file}: runtime base ${base} is an nvidia/cuda cuDNN runtime image`);
  const [major, minor, cudnn] = [Number(cuda[1]), Number(cuda[2]), Number(cuda[3])];
  assert.ok(major === 11 && minor >= 2, `CUDA ${major}.${minor}: libtensorflow 2.9.1 needs 11.x, at least 11.2`);
  assert.equal(cudnn, 8);
  assert.ok(all.slice(0, -1).every((s) => /^node:20(\.|-|$)/.test(s.image)), 'Node 20 in the other stages');
  const runtime = finalStage(instructions);
  assert.ok(runtime.some((i) => i.keyword === 'COPY' && /--from=\S+\s+\/usr\/local\/bin\/node\s/.test(i.args)), 'node is copied into the CUDA image');

  const version = pkg.optionalDependencies['@tensorflow/tfjs-node-gpu'];
  assert.ok(version);
  assert.equal(globalArgs(instructions).get('TFJS_NODE_GPU_VERSION'), version, 'the image installs package.json\'s tfjs-node-gpu');
  const build = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
  assert.match(build, /npm ci/);
  assert.match(build, /@tensorflow\/tfjs-node-gpu\/package\.json.*\$\{TFJS_NODE_GPU_VERSION\}/, 'the build checks the installed version');
  assert.match(build, /npm prune --omit=dev/);
  assert.equal(envOf(runtime).get('TRAINER_BACKEND'), 'tensorflow');
});

test('Dockerfile: Node 20 bookworm-slim with the Vulkan loader and Mesa drivers, backend auto, graphics capability', () => {
  const file = 'deploy/docker/Dockerfile';
  const instructions = dockerInstructions(file);
  for (const stage of stages(instructions)) assert.match(stage.image, /^node:20-bookworm-slim$/);
  const runtime = finalStage(instructions);
  const installs = runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
  assert.match(installs, /apt-get install[^\n]*\blibvulkan1\b/);
  assert.match(installs, /apt-get install[^\n]*\bmesa-vulkan-drivers\b/);
  const env = envOf(runtime);
  assert.equal(env.get('TRAINER_BACKEND'), 'auto');
  assert.ok((env.get('NVIDIA_DRIVER_CAPABILITIES') ?? '').split(',').includes('graphics'), 'graphics: the toolkit injects the NVIDIA Vulkan ICD');
});

test('.dockerignore keeps host builds out and everything the Dockerfiles copy in', () => {
  const patterns = readRepoFile('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const ignored = (name: string): boolean => patterns.some((p) => {
    const glob = p.replace(/^\/|\/$/g, '');
    return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`).test(name);
  });
  for (const name of ['node_modules', 'dist', 'runs', '.gpu', '.git']) assert.ok(ignored(name), `.dockerignore leaves out ${name}`);
  for (const file of DOCKERFILES) {
    for (const copy of dockerInstructions(file).filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        assert.ok(existsSync(path.join(REPO_ROOT, source)), `${file}: COPY ${source} exists`);
        assert.ok(!ignored(source.split('/')[0]!), `${file}: COPY ${source} is not left out by .dockerignore`);
      }
    }
  }
});

test('the deployment guide builds the image every file runs', () => {
  const guide = readRepoFile('deploy/README.md');
  assert.ok(guide.includes(`docker build -f deploy/docker/Dockerfile.gpu -t ${IMAGE} .`), `deploy/README.md builds ${IMAGE}`);
  assert.ok(guide.includes('kubectl apply -k deploy/k8s'));
  assert.ok(guide.includes('docker compose -f deploy/docker-compose.yml up'));
});
