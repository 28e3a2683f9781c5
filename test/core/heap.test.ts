import { setFlagsFromString } from 'node:v8';
import { describe, expect, it, vi } from 'vitest';
import { HEAP_GROWTH_PERCENT, limitHeapGrowth } from '../../core/heap.js';

// The flags given to V8 are recorded, not set: the test process keeps its own heap settings.
vi.mock('node:v8', async (importOriginal) => ({
  ...(await importOriginal<typeof import('node:v8')>()),
  setFlagsFromString: vi.fn(),
}));

describe('limitHeapGrowth', () => {
  it("holds V8's old-generation growth, unless node was given its own", () => {
    const flags = vi.mocked(setFlagsFromString);
    expect(limitHeapGrowth([], '')).toBe(true);
    expect(flags.mock.calls).toEqual([[`--heap-growing-percent=${HEAP_GROWTH_PERCENT}`]]);
    flags.mockClear();
    expect(limitHeapGrowth(['--heap-growing-percent=0'], '')).toBe(false);
    expect(limitHeapGrowth([], '--max-old-space-size=4096 --heap-growing-percent=80')).toBe(false);
    expect(flags).not.toHaveBeenCalled();
  });
});
