/** The installer: puts zeropod's runtime on a node and into containerd's config, and takes it out. */
export { compileOptions, USAGE, type InstallerOptions } from './options.ts';
export { runInstaller, type InstallerDeps, type InstallerReport } from './installer.ts';
export { runTool, type RunTool, type ToolResult } from './restart.ts';
export {
  compileContainerdConfig,
  parseToml,
  CRI_RUNTIME_PLUGIN,
  type ContainerdConfig,
} from './containerd-config.ts';
export { flavorLayout, FLAVORS, type Flavor, type FlavorLayout } from './flavor.ts';
export { HostFiles } from './host-files.ts';
export { IMPORT_FILE, RECORD_FILE } from './configure.ts';
export { RUNTIME_NAME, RUNTIME_TYPE, SHIM_BINARY } from './runtime-config.ts';
