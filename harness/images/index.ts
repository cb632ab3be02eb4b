/**
 * Test images for the node environment, built without Docker or a registry: OCI layout tarballs made
 * from a Debian root filesystem's packages, cached by content, importable with
 * `ctr -n k8s.io images import <tarball>` (the name comes from the index's `io.containerd.image.name`).
 */
export { buildImages, type BuildImagesOptions, type ImageRef } from './build.ts';
export {
  BUSYBOX_IMAGE,
  COUNTER_APP,
  IMAGES,
  MARKERS,
  NGINX_IMAGE,
  NGINX_WWW_DATA_CONF,
  NODE_APP_IMAGE,
  PAUSE_IMAGE,
  POSTGRES_IMAGE,
  REDIS_IMAGE,
  SPECS,
  type ImageSpec,
} from './specs.ts';
export { PGDATA, POSTGRES_SOCKET_DIR, POSTGRES_UID, postgresVersion } from './postgres-spec.ts';
export { MediaType, sha256File, type Descriptor, type RuntimeConfig } from './oci.ts';
