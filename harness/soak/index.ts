export { runSoak, SOAK_SCALEDOWN, type SoakResult } from './soak.ts';
export { parseSoakArgs, SoakUsageError, SOAK_USAGE, SOAK_DEFAULTS, type SoakOptions } from './options.ts';
export { inventoryChanges, formatInventory, type Inventory } from './inventory.ts';
