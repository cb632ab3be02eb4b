export { scaleExtension, nodeAddresses, type ScaleExtensionOptions } from './extension.ts';
export { compileScaleConfig, scales, identityOf, Annotations, type ScaleConfig } from './config.ts';
export { ScaledContainer, type ScalePhase, type ScaleStats } from './scaled-container.ts';
export { parseGoDuration, formatDuration } from './duration.ts';
export { removeScaleLeftovers, removeLeftovers, leftoversOf, type Leftovers } from './leftovers.ts';
export { imageRootOf, WORK_ROOT } from './dirs.ts';
