import type { PostProcessor } from '../../core/contracts/postprocessor.js';
import type { Registration } from '../../core/contracts/registration.js';
import { sparseTopK } from '../../core/data/sparse.js';
import { TfidfVectorizer } from '../../core/data/tfidf.js';
import { UserError } from '../../core/errors.js';
import { appendNeighbours, cachedRows, stateItems } from './match-source.js';

export interface TfidfOptions {
  /** Gallery items whose title cosine reaches this are added. */
  readonly threshold: number;
  /** Title neighbours looked at per query. */
  readonly neighbours: number;
}

/**
 * TF-IDF cosine neighbours of the titles (sublinear tf), fitted on the gallery's titles: for a
 * match competition the matched set itself, as Shopee's winners fitted it on the test titles.
 */
export const tfidf: Registration<PostProcessor, TfidfOptions> = {
  name: 'tfidf',
  description: 'match source: add the gallery items whose TF-IDF title cosine reaches a threshold',
  defaults: { threshold: 0.7, neighbours: 50 },
  create: ({ threshold, neighbours }: TfidfOptions) => {
    return {
      name: 'tfidf',
      models: [],
      apply: (state) => {
        const { queries, gallery } = stateItems(state, 'tfidf');
        if (gallery.length > 0 && !gallery.some((item) => item.text)) {
          throw new UserError(
            'the tfidf post-processor needs titles, but no gallery item has a text',
            'remove tfidf from postProcessors for data without texts',
          );
        }
        const rows = cachedRows(queries, gallery, `tfidf ${neighbours}`, () => {
          const titles = (items: readonly { text?: string }[]) => items.map((item) => item.text ?? '');
          const vectorizer = new TfidfVectorizer({ sublinearTf: true }).fit(titles(gallery));
          const galleryVectors = vectorizer.transform(titles(gallery));
          return sparseTopK(
            queries === gallery ? galleryVectors : vectorizer.transform(titles(queries)),
            galleryVectors,
            neighbours,
          );
        });
        return appendNeighbours(state, rows, threshold);
      },
    };
  },
};
