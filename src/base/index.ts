export * from './errors.ts';
export * from './logger.ts';
export * from './disposables.ts';
export * from './queue.ts';
export * from './state-machine.ts';
