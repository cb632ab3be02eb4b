export { listenInNetns, type NetnsListenOptions } from './listen.ts';
export { dialInNetns, type NetnsDialOptions } from './dial.ts';
export { dialApp, type AppDialOptions } from './dial-app.ts';
export { joinSockets } from './proxy.ts';
