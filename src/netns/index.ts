export { listenInNetns, type NetnsListenOptions } from './listen.ts';
export { dialInNetns, type NetnsDialOptions } from './dial.ts';
