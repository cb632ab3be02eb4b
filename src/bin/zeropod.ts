/** zeropod: the command line (`zeropod doctor`: is this node ready, and how to fix what is not). */
import { codeOf, describeError, ErrorCode, invalidArgument } from '../base/index.ts';
import {
  compileDoctorOptions,
  DOCTOR_USAGE,
  realDoctorDeps,
  renderFindings,
  runDoctor,
} from '../cli/index.ts';

async function main(): Promise<number> {
  const [command, ...rest] = process.argv.slice(2);
  if (command !== 'doctor')
    throw invalidArgument(
      `unknown command ${JSON.stringify(command ?? '')}; expected: zeropod doctor (zeropod doctor --help)`,
    );
  if (rest.includes('--help')) {
    process.stdout.write(DOCTOR_USAGE + '\n');
    return 0;
  }
  const options = compileDoctorOptions(rest);
  const findings = await runDoctor(options, realDoctorDeps(AbortSignal.timeout(60_000)));
  process.stdout.write(options.json ? JSON.stringify(findings, null, 2) + '\n' : renderFindings(findings));
  return findings.some((f) => f.status === 'fail') ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`zeropod: ${describeError(err)}\n`);
    process.exit(codeOf(err) === ErrorCode.InvalidArgument ? 2 : 1);
  },
);
