/**
 * OCI image-layout tarballs from a staged directory, with nothing but GNU tar, sha256 and JSON.
 *
 *   <name>.tar
 *   ├── oci-layout          {"imageLayoutVersion":"1.0.0"}
 *   ├── index.json          -> manifest (platform linux/amd64, annotations carry the image name)
 *   └── blobs/sha256/
 *       ├── <manifest>      -> config + one layer
 *       ├── <config>        architecture, os, config (Cmd, Env, ...), rootfs.diff_ids = [layer]
 *       └── <layer>         uncompressed tar: sorted, mtime 0, numeric owners as staged (so digests
 *                           are reproducible: the builder stages as root, and a spec chowns on purpose)
 *
 * index.json comes first in the tarball so its digest can be read back without scanning the blobs.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exec } from './exec.ts';

export const MediaType = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar',
} as const;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface RuntimeConfig {
  entrypoint?: string[];
  cmd?: string[];
  env: string[];
  workingDir?: string;
  exposedPorts?: number[];
  /** The image's default user (`User`), a name from its /etc/passwd or `uid[:gid]`. */
  user?: string;
}

/** Options every tar we write shares: reproducible bytes for identical inputs. */
export const DETERMINISTIC_TAR = [
  '--sort=name',
  '--mtime=@0',
  '--owner=0',
  '--group=0',
  '--numeric-owner',
  '--format=gnu',
];

/**
 * The layer keeps the staged owners (numeric), unlike the layout around it: everything is root's
 * unless a spec chowns it, as postgres' data directory must be owned by the user that runs it.
 */
const LAYER_TAR = DETERMINISTIC_TAR.filter((o) => o !== '--owner=0' && o !== '--group=0');

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface Layout {
  /** Digest of the image manifest (what containerd records as the image's target). */
  digest: string;
  layerBytes: number;
}

/** Writes an OCI layout for `stageDir` as one layer into `layoutDir`, then tars it to `outFile`. */
export async function writeImageTarball(
  stageDir: string,
  layoutDir: string,
  outFile: string,
  name: string,
  runtime: RuntimeConfig,
): Promise<Layout> {
  const blobs = path.join(layoutDir, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });
  const putJson = async (mediaType: string, value: unknown): Promise<Descriptor> => {
    const bytes = Buffer.from(JSON.stringify(value));
    const hex = createHash('sha256').update(bytes).digest('hex');
    await writeFile(path.join(blobs, hex), bytes, { mode: 0o644 });
    return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
  };

  const layerTmp = path.join(blobs, 'layer.tmp');
  const top = (await readdir(stageDir)).sort();
  await exec('tar', [...LAYER_TAR, '-C', stageDir, '-cf', layerTmp, '--', ...top]);
  const layerHex = await sha256File(layerTmp);
  await rename(layerTmp, path.join(blobs, layerHex));
  const layerBytes = (await stat(path.join(blobs, layerHex))).size;
  const layer: Descriptor = { mediaType: MediaType.layer, digest: `sha256:${layerHex}`, size: layerBytes };

  const epoch = '1970-01-01T00:00:00Z';
  const config = await putJson(MediaType.config, {
    created: epoch,
    architecture: 'amd64',
    os: 'linux',
    config: {
      ...(runtime.exposedPorts && {
        ExposedPorts: Object.fromEntries(runtime.exposedPorts.map((p) => [`${p}/tcp`, {}])),
      }),
      Env: runtime.env,
      ...(runtime.entrypoint && { Entrypoint: runtime.entrypoint }),
      ...(runtime.cmd && { Cmd: runtime.cmd }),
      ...(runtime.workingDir !== undefined && { WorkingDir: runtime.workingDir }),
      ...(runtime.user !== undefined && { User: runtime.user }),
    },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
    history: [{ created: epoch, created_by: 'zeropod-ts harness/images' }],
  });
  const manifest = await putJson(MediaType.manifest, {
    schemaVersion: 2,
    mediaType: MediaType.manifest,
    config,
    layers: [layer],
  });
  const index = {
    schemaVersion: 2,
    mediaType: MediaType.index,
    manifests: [
      {
        ...manifest,
        platform: { architecture: 'amd64', os: 'linux' },
        annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': name },
      },
    ],
  };
  await writeFile(path.join(layoutDir, 'index.json'), JSON.stringify(index), { mode: 0o644 });
  await writeFile(path.join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }), {
    mode: 0o644,
  });
  for (const d of [layoutDir, path.join(layoutDir, 'blobs'), blobs]) await chmod(d, 0o755);
  await exec('tar', [
    ...DETERMINISTIC_TAR,
    '-C',
    layoutDir,
    '-cf',
    outFile,
    'index.json',
    'oci-layout',
    'blobs',
  ]);
  return { digest: manifest.digest, layerBytes };
}

/** The manifest digest recorded in a layout tarball's index.json (read without unpacking the blobs). */
export async function readTarballDigest(tarball: string): Promise<string | undefined> {
  try {
    const raw = await exec('tar', ['-xOf', tarball, '--occurrence=1', 'index.json']);
    const index = JSON.parse(raw) as { manifests?: { digest?: unknown }[] };
    const digest = index.manifests?.[0]?.digest;
    return typeof digest === 'string' ? digest : undefined;
  } catch {
    return undefined;
  }
}
