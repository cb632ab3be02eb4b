/** `zeropod doctor`: is this node ready for zeropod, and how to fix what is not. */
export {
  compileDoctorOptions,
  DOCTOR_USAGE,
  runDoctor,
  realDoctorDeps,
  type DoctorOptions,
  type DoctorDeps,
} from './doctor.ts';
export { renderFindings, type Finding } from './finding.ts';
