/** The `zeropod` command line: one subcommand per folder. */
export {
  compileDoctorOptions,
  DOCTOR_USAGE,
  runDoctor,
  realDoctorDeps,
  renderFindings,
  type Finding,
} from './doctor/index.ts';
