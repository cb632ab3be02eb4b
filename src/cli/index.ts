/** The `zeropod` command line: one subcommand per folder. */
export {
  compileDoctorOptions,
  runDoctor,
  realDoctorDeps,
  renderFindings,
  type Finding,
} from './doctor/index.ts';
