import type { MetricDefinition, ScoringSpec } from '../../core/contracts/metric.js';
import { meanAveragePrecisionMetric } from '../../core/metrics/average-precision.js';
import { meanF1Metric } from '../../core/metrics/f1.js';
import { gapMetric } from '../../core/metrics/gap.js';
import { multiLabelMacroF1Metric, singleLabelMacroF1Metric } from '../../core/metrics/macro-f1.js';
import { meanTop1ErrorMetric } from '../../core/metrics/top1-error.js';

function spec<T, P>(competition: string, aliases: string[], header: [id: string, prediction: string], metric: MetricDefinition<T, P>): ScoringSpec<T, P> {
  return { competition, aliases, header, idColumn: header[0], predictionColumn: header[1], metric };
}

const gap = gapMetric();
const retrieval = meanAveragePrecisionMetric({ name: 'mAP@100', k: 100, overflow: 'error', emptyTruth: 'ignore' });
const mapAt5 = meanAveragePrecisionMetric({ name: 'MAP@5', k: 5, overflow: 'ignore', emptyTruth: 'invalid' });
const macroF1 = singleLabelMacroF1Metric();

/** The Kaggle competitions simkit scores out of the box; the alias is the `make` target's name. */
export const BUILTIN_SCORING_SPECS: readonly ScoringSpec<any, any>[] = [
  spec('shopee-product-matching', ['shopee'], ['posting_id', 'matches'], meanF1Metric({ maxMatches: 50 })),
  spec('landmark-recognition-2018', [], ['id', 'landmarks'], gap),
  spec('landmark-recognition-2019', [], ['id', 'landmarks'], gap),
  spec('landmark-recognition-2020', [], ['id', 'landmarks'], gap),
  spec('landmark-recognition-2021', ['landmarks'], ['id', 'landmarks'], gap),
  spec('landmark-retrieval-2019', [], ['id', 'images'], retrieval),
  spec('landmark-retrieval-2021', ['landmark-retrieval'], ['id', 'images'], retrieval),
  spec('hotel-id-2021-fgvc8', ['hotels'], ['image', 'hotel_id'], mapAt5),
  spec('hotel-id-2022-fgvc9', [], ['image', 'hotel_id'], mapAt5),
  spec('herbarium-2019-fgvc6', [], ['Id', 'Category'], meanTop1ErrorMetric()),
  spec('herbarium-2020-fgvc7', [], ['Id', 'Predicted'], macroF1),
  spec('herbarium-2021-fgvc8', [], ['Id', 'Predicted'], macroF1),
  spec('herbarium-2022-fgvc9', ['herbarium'], ['Id', 'Predicted'], macroF1),
  spec('humpback-whale-identification', ['whales'], ['Image', 'Id'], mapAt5),
  spec('human-protein-atlas-image-classification', ['protein'], ['Id', 'Predicted'], multiLabelMacroF1Metric(28)),
];
