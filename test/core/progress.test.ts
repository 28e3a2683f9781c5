import cliProgress from 'cli-progress';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { itemProgress } from '../../core/progress.js';

describe('itemProgress', () => {
  const prototype = cliProgress.SingleBar.prototype;
  let bar: Record<'start' | 'update' | 'setTotal' | 'stop', MockInstance>;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    bar = {
      start: vi.spyOn(prototype, 'start').mockImplementation(() => {}),
      update: vi.spyOn(prototype, 'update').mockImplementation(() => {}),
      setTotal: vi.spyOn(prototype, 'setTotal').mockImplementation(() => {}),
      stop: vi.spyOn(prototype, 'stop').mockImplementation(() => {}),
    };
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('shows a bar once the work has run a second, with what was done by then; grows and stops it', () => {
    const progress = itemProgress('tuning (settings)', 5, true, 0);
    progress.advance(1);
    vi.advanceTimersByTime(400);
    progress.advance(1);
    expect(bar.start).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1100);
    progress.advance(1);
    expect(bar.start).toHaveBeenCalledWith(5, 3, { rate: '2.0' });
    progress.grow(4);
    expect(bar.setTotal).toHaveBeenCalledWith(9);
    progress.advance(2);
    expect(bar.update).toHaveBeenCalledWith(5, { rate: '3.3' });
    progress.stop();
    expect(bar.stop).toHaveBeenCalledTimes(1);
  });

  it('work that ends within the second, too few items, or no terminal: no bar at all', () => {
    const short = itemProgress('checking images', 5000, true);
    short.advance(5000);
    short.grow(10);
    short.stop();
    itemProgress('checking images', 999, true).advance(999);
    const notTerminal = itemProgress('checking images', 5000, false);
    vi.advanceTimersByTime(5000);
    notTerminal.advance(5000);
    for (const method of [bar.start, bar.update, bar.setTotal, bar.stop]) expect(method).not.toHaveBeenCalled();
  });
});
