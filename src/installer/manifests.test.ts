/**
 * config/ renders with kubectl's built-in kustomize, and each overlay changes what it should. Uses
 * the kubectl of the Kubernetes build cache (harness/k8s); skipped, saying so, where there is none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const CACHE = '/var/cache/zeropod-ts';
const kubectl = (existsSync(CACHE) ? readdirSync(CACHE) : [])
  .filter((d) => d.startsWith('k8s-'))
  .map((d) => path.join(CACHE, d, 'bin/kubectl'))
  .find((p) => existsSync(p));
const skip =
  kubectl === undefined ? `no kubectl in ${CACHE}/k8s-*/bin (the Kubernetes build has not run here)` : false;
const config = path.join(import.meta.dirname, '../../config');
const render = (overlay: string) =>
  execFileSync(kubectl ?? 'kubectl', ['kustomize', path.join(config, overlay)], { encoding: 'utf8' });
/** The init container's args, one per line as kustomize prints them. */
const installerArgs = (yaml: string) =>
  /- args:\n((?:\s+- .*\n)+)\s+command:\n\s+- node\n\s+- \/zeropod\/dist\/zeropod-installer\.mjs/
    .exec(yaml)?.[1]
    ?.split('\n')
    .map((l) => l.trim().replace(/^- /, ''))
    .filter(Boolean);

void test(
  'config/generic: namespace, RBAC, RuntimeClass and the DaemonSet on labelled nodes',
  { skip },
  () => {
    const y = render('generic');
    for (const kind of [
      'Namespace',
      'ServiceAccount',
      'ClusterRole',
      'ClusterRoleBinding',
      'RuntimeClass',
      'DaemonSet',
    ]) {
      assert.match(y, new RegExp(`^kind: ${kind}$`, 'm'), kind);
    }
    assert.match(y, /^handler: zeropod$/m);
    assert.match(y, /name: zeropod-node\n\s+namespace: zeropod-system/);
    assert.match(y, /nodeSelector:\n\s+zeropod\.ctrox\.dev\/node: "true"/);
    assert.match(y, /image: zeropod\.local\/zeropod-installer:dev/);
    assert.deepEqual(installerArgs(y), ['--host-root', '/host', '--flavor', 'containerd']);
    assert.match(y, /mountPath: \/host\/etc\/containerd/);
  },
);

void test(
  'overlays: k3s and rke2 point at their template dirs, production pins, uninstall uninstalls',
  { skip },
  () => {
    for (const flavor of ['k3s', 'rke2']) {
      const y = render(flavor);
      assert.deepEqual(installerArgs(y), ['--host-root', '/host', '--flavor', flavor]);
      assert.match(y, new RegExp(`mountPath: /host/var/lib/rancher/${flavor}/agent/etc/containerd`));
      assert.match(y, new RegExp(`path: /var/lib/rancher/${flavor}/agent/etc/containerd\\n`));
      assert.deepEqual(installerArgs(render(`uninstall/${flavor}`)), [
        '--host-root',
        '/host',
        '--flavor',
        flavor,
        '--uninstall',
      ]);
    }
    assert.match(render('rke2'), /mountPath: \/host\/var\/lib\/rancher\/rke2\/bin/);
    const prod = render('production');
    assert.match(prod, /image: zeropod\.local\/zeropod-installer:0\.1\.0/);
    assert.match(prod, /priorityClassName: system-node-critical/);
    assert.deepEqual(installerArgs(render('uninstall')), [
      '--host-root',
      '/host',
      '--flavor',
      'containerd',
      '--uninstall',
    ]);
  },
);
