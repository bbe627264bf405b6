import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkDigest, formatManifest, parseManifest } from '../../../src-core/appliance/manifest.ts';
import { fixture } from './fixtures.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

describe('manifest', () => {
  it('writes SHA256(file)= hex and reads it back', () => {
    const text = formatManifest([{ file: 'a.ovf', sha256: sha256('x').toUpperCase() }]);
    expect(text).toBe(`SHA256(a.ovf)= ${sha256('x')}\n`);
    expect(parseManifest(text, 'a.mf').get('a.ovf')).toEqual({ algorithm: 'sha256', file: 'a.ovf', digest: sha256('x') });
  });

  it('reads VirtualBox style, upper-case hex, SHA1 and CRLF lines', () => {
    const m = parseManifest(`SHA256 (disk 1.vmdk) = ${sha256('d').toUpperCase()}\r\nSHA1(a.ovf)=${sha1('o')}\r\n`, 'a.mf');
    expect(m.get('disk 1.vmdk')!.digest).toBe(sha256('d'));
    expect(m.get('a.ovf')!.algorithm).toBe('sha1');
    expect(() => checkDigest(m.get('a.ovf'), sha1('o').toUpperCase(), 'a.mf')).not.toThrow();
  });

  it('verifies the real Ubuntu OVF 2.0 manifest against its descriptor', () => {
    const m = parseManifest(fixture('ubuntu.2.0.mf'), 'ubuntu.2.0.mf');
    expect(() => checkDigest(m.get('ubuntu.2.0.ovf'), sha256(fixture('ubuntu.2.0.ovf')), 'ubuntu.2.0.mf')).not.toThrow();
    expect(() => checkDigest(m.get('ubuntu.2.0.ovf'), sha256(fixture('ubuntu.2.0.ovf') + ' '), 'ubuntu.2.0.mf')).toThrow(/^ubuntu\.2\.0\.ovf: SHA256 digest does not match ubuntu\.2\.0\.mf/);
  });

  it('refuses malformed lines, wrong digest lengths and duplicates', () => {
    expect(() => parseManifest('MD5(a)= 00', 'x.mf')).toThrow(/x\.mf line 1: not a manifest line/);
    expect(() => parseManifest('SHA256(a)= abcd', 'x.mf')).toThrow(/has 4 hex digits, expected 64/);
    expect(() => parseManifest(`SHA1(a)= ${sha1('')}\nSHA1(a)= ${sha1('')}`, 'x.mf')).toThrow(/line 2: a is listed twice/);
  });
});
