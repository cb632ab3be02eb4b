export { closeEstablished } from './ss.ts';
