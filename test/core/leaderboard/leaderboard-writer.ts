// A separate process that records `count` runs into the leaderboard at `path` as fast as it can.
import { Leaderboard } from '../../../core/leaderboard/leaderboard.js';

const [path, writer, count] = process.argv.slice(2);
for (let i = 0; i < Number(count); i++) {
  const leaderboard = Leaderboard.open(path);
  leaderboard.record({
    runId: `w${writer}-${i}`,
    competition: 'shopee-product-matching',
    metric: 'mean F1',
    higherIsBetter: true,
    score: Number(writer) + i / 1000,
    gitCommit: null,
  });
  leaderboard.close();
}
