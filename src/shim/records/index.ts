export { RecordStore, type LoadedRecords } from './record-store.ts';
export {
  parseRecord,
  RECORD_VERSION,
  type ContainerRecord,
  type ExecRecord,
  type ScaleRecord,
  type RecordedScalePhase,
} from './record.ts';
