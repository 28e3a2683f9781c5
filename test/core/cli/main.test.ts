import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simkitInProcess } from './in-process.js';

describe('--precision', () => {
  it('refuses bf16 on a backend other than native before any work, naming the backend', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'simkit-precision-'));
    const result = await simkitInProcess(
      ['--backend', 'cpu', '--precision', 'bf16', 'train', 'fashion-mnist', '--out', join(cwd, 'out')],
      { cwd },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--precision bf16 runs on the native backend only.*the backend is cpu/);
    expect(result.stderr).toMatch(/fix: pass --backend native/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('refuses an unknown precision with the choices', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'simkit-precision-'));
    const result = await simkitInProcess(['--precision', 'fp16', 'list', 'competitions'], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Allowed choices are f32, bf16/);
  });
});
