import { parse, quote } from 'shell-quote';
import { ConfigError } from '../shared/errors.js';

export interface SshTarget {
  /** The ssh client and its options, as a user would type them: `ssh -i key -o X=Y`. */
  sshCommand: string;
  user?: string;
  port?: number;
  host: string;
  /** How to run trainer on the host, shell words: `trainer`, `npx trainer`, `/opt/trainer/bin/trainer`. */
  remoteTrainer: string;
}

/** Plain words only: a pipe or a redirection in these flags is a mistake, not a feature. */
function words(flag: string, text: string): string[] {
  const parsed = parse(text);
  if (parsed.length === 0 || parsed.some((w) => typeof w !== 'string')) {
    throw new ConfigError(`--${flag} must be a command and its arguments (no pipes, redirections or globs), got ${JSON.stringify(text)}`);
  }
  return parsed as string[];
}

/** Checks --ssh-command and --remote-trainer once, before anything starts. */
export function checkSshFlags(sshCommand: string, remoteTrainer: string): void {
  words('ssh-command', sshCommand);
  words('remote-trainer', remoteTrainer);
}

/**
 * The local argv that runs `trainer <args>` on a host over ssh. The remote
 * side gets one shell command line, every argument quoted, and `exec`, so the
 * worker is the session's process and goes when the session does. BatchMode:
 * a launcher must fail on a missing key, not wait at a password prompt
 * (an `-o BatchMode=no` in --ssh-command comes first and wins).
 */
export function sshArgv(target: SshTarget, trainerArgs: readonly string[]): { file: string; args: string[] } {
  const [file, ...opts] = words('ssh-command', target.sshCommand);
  const remote = `exec ${quote(words('remote-trainer', target.remoteTrainer))} ${quote([...trainerArgs])}`;
  return {
    file: file!,
    args: [
      ...opts, '-o', 'BatchMode=yes',
      ...(target.port === undefined ? [] : ['-p', String(target.port)]),
      ...(target.user === undefined ? [] : ['-l', target.user]),
      // A host name that starts with '-' would be an option; parseHosts refuses those, and '--' makes sure.
      '--', target.host, remote,
    ],
  };
}
