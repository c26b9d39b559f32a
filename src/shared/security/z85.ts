const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

/** Z85 (ZeroMQ RFC 32): 4 bytes to 5 printable characters; how CURVE keys are written down. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError(`z85: length ${bytes.length} is not a multiple of 4`);
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i]! << 24) >>> 0) + (bytes[i + 1]! << 16) + (bytes[i + 2]! << 8) + bytes[i + 3]!;
    const chunk: string[] = [];
    for (let j = 0; j < 5; j++) {
      chunk.unshift(ALPHABET[value % 85]!);
      value = Math.floor(value / 85);
    }
    out += chunk.join('');
  }
  return out;
}

/** A CURVE key as Z85: 40 characters of the alphabet. */
export function isZ85Key(text: string): boolean {
  return text.length === 40 && [...text].every((c) => ALPHABET.includes(c));
}
