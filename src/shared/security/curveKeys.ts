import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as zmq from 'zeromq';
import { ConfigError } from '../errors.js';
import { isZ85Key } from './z85.js';

export interface KeyPair {
  publicKey: string;
  secretKey: string;
}

/** What a process needs for CURVE: its own pair, and the coordinator's public key or the allow-list. */
export interface CurveSetup {
  own: KeyPair;
  /** Workers: the coordinator's public key. */
  coordinatorPublicKey?: string;
  /** Coordinator: public keys of the workers it admits. */
  authorized?: Set<string>;
}

export const AUTHORIZED = 'authorized';

export function readKey(file: string): string {
  if (!existsSync(file)) throw new ConfigError(`CURVE key ${file} does not exist (make it with trainer keygen)`);
  const text = readFileSync(file, 'utf8').trim();
  if (!isZ85Key(text)) throw new ConfigError(`CURVE key ${file} is not a 40-character Z85 key`);
  return text;
}

export function readKeyPair(dir: string, name: string): KeyPair {
  return { publicKey: readKey(path.join(dir, `${name}.pub`)), secretKey: readKey(path.join(dir, `${name}.key`)) };
}

/** DIR/authorized/*.pub: the workers the coordinator admits. */
export function readAuthorized(dir: string): Set<string> {
  const folder = path.join(dir, AUTHORIZED);
  if (!existsSync(folder)) throw new ConfigError(`${folder} does not exist: put the public keys of admitted workers there (trainer keygen --name NAME does)`);
  const keys = readdirSync(folder).filter((f) => f.endsWith('.pub')).map((f) => readKey(path.join(folder, f)));
  if (keys.length === 0) throw new ConfigError(`${folder} holds no .pub keys: no worker could join`);
  return new Set(keys);
}

/**
 * Writes DIR/NAME.pub and DIR/NAME.key (readable by the owner only). A worker's
 * public key is also copied to DIR/authorized/, the coordinator's allow-list.
 * Refuses to overwrite an existing pair.
 */
export function generateKeyPair(dir: string, name: string): { publicFile: string; secretFile: string } {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ConfigError(`--name must be letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`);
  const publicFile = path.join(dir, `${name}.pub`);
  const secretFile = path.join(dir, `${name}.key`);
  if (existsSync(publicFile) || existsSync(secretFile)) throw new ConfigError(`${name} keys already exist in ${dir}; remove them first to replace them`);
  mkdirSync(dir, { recursive: true });
  const pair = zmq.curveKeyPair();
  writeFileSync(secretFile, `${pair.secretKey}\n`, { mode: 0o600 });
  chmodSync(secretFile, 0o600);
  writeFileSync(publicFile, `${pair.publicKey}\n`);
  if (name !== 'coordinator') {
    mkdirSync(path.join(dir, AUTHORIZED), { recursive: true });
    copyFileSync(publicFile, path.join(dir, AUTHORIZED, `${name}.pub`));
  }
  return { publicFile, secretFile };
}

/** A CURVE client's keys: its own pair and the server's public key. */
export interface CurveClient {
  own: KeyPair;
  serverPublicKey: string;
}

/** Socket options for a CURVE client; none without keys. */
export function curveClientOptions(curve: CurveClient | undefined): { curveServerKey?: string; curvePublicKey?: string; curveSecretKey?: string } {
  return curve ? { curveServerKey: curve.serverPublicKey, curvePublicKey: curve.own.publicKey, curveSecretKey: curve.own.secretKey } : {};
}
