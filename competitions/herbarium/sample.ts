import { join } from 'node:path';
import { SAMPLE_SOLUTION_FILE, type SubmissionFormat } from '../../core/contracts/competition.js';
import { hashedUsage } from '../../core/competition/adapter.js';
import { Random } from '../../core/random.js';
import { writeFileAtomic } from '../../core/io/atomic-write.js';
import { writeCsvAtomic } from '../../core/data/csv.js';
import { classSizes, renderPictures, type SamplePicture } from '../../core/samples/labelled.js';
import { cocoLayout, type HerbariumYear } from './layouts.js';

const SPECIES = 36;
const TEST_PER_SPECIES = 2;
const GENERA = ['Carex', 'Miconia', 'Rubus', 'Salix'];
const FAMILIES: Record<string, string> = {
  Carex: 'Cyperaceae',
  Miconia: 'Melastomataceae',
  Rubus: 'Rosaceae',
  Salix: 'Salicaceae',
};
/** Herbarium 2020's metadata is latin-1: its sample names a species with bytes that are not UTF-8. */
const LATIN1_NAME = 'Ranunculus ×hybridus Müll.';

const pad = (value: number, width: number) => String(value).padStart(width, '0');

interface Specimen {
  readonly species: number;
  readonly index: number;
  readonly role: 'train' | 'validation' | 'test';
}

/**
 * Species with 6-9 specimens each, in the year's layout: per species two test specimens, for 2019
 * one validation specimen, the rest train. Species of one genus share a family.
 */
export async function generateHerbariumSample(
  dir: string,
  seed: number,
  year: HerbariumYear,
  submission: SubmissionFormat,
): Promise<void> {
  const random = new Random(seed);
  const sizes = classSizes(random, SPECIES, 6, 9);
  const categories = Array.from({ length: SPECIES }, (_, c) => {
    const genus = GENERA[c % GENERA.length]!;
    return {
      id: c * 3 + 1,
      name: year === 2020 && c === 0 ? LATIN1_NAME : `${genus} sp${c}`,
      family: FAMILIES[genus]!,
      genus,
    };
  });
  const specimens: Specimen[] = categories.flatMap((_, species) =>
    Array.from({ length: sizes[species]! }, (__, index) => ({
      species,
      index,
      role: index < TEST_PER_SPECIES ? 'test' : year === 2019 && index === TEST_PER_SPECIES ? 'validation' : 'train',
    })),
  );
  random.shuffle(specimens);
  const pictures: SamplePicture[] = [];
  const solution: string[][] = [];
  const picture = (path: string, specimen: Specimen) => pictures.push({ path, motifIndex: specimen.species * 8 });
  const addTruth = (id: string, specimen: Specimen) =>
    solution.push([id, String(categories[specimen.species]!.id), hashedUsage({ id, labels: [], extra: {} })]);

  if (year === 2019) {
    // File ids count within each category, so the same id appears in many categories.
    specimens.forEach((specimen, n) => {
      const category = String(categories[specimen.species]!.id);
      if (specimen.role === 'test') {
        picture(join('test', `${n}.jpg`), specimen);
        addTruth(String(n), specimen);
      } else picture(join(specimen.role, category, `${specimen.index}.jpg`), specimen);
    });
    await renderPictures(dir, pictures, random);
  } else {
    const images = { train: [] as object[], test: [] as object[] };
    const annotations: object[] = [];
    specimens.forEach((specimen, n) => {
      const split = specimen.role === 'test' ? 'test' : 'train';
      const category = categories[specimen.species]!;
      const id =
        year === 2022
          ? split === 'test'
            ? `test-${pad(n, 6)}`
            : `${pad(category.id, 5)}__${pad(specimen.index, 3)}`
          : n;
      const file =
        year === 2022
          ? split === 'test'
            ? `${id}.jpg`
            : `${pad(category.id, 5).slice(0, 3)}/${pad(category.id, 5).slice(3)}/${id}.jpg`
          : `images/${split === 'test' ? pad(Math.floor(n / 100), 3) : pad(category.id, 3)}/${n}.jpg`;
      picture(join(cocoLayout(year, split).imageRoot, file), specimen);
      images[split].push(
        year === 2022 ? { image_id: id, file_name: file, license: 0 } : { id, file_name: file, license: 0 },
      );
      if (split === 'train')
        annotations.push(
          year === 2022
            ? { image_id: id, category_id: category.id, genus_id: GENERA.indexOf(category.genus) }
            : { id: n, image_id: id, category_id: category.id },
        );
      else addTruth(String(id), specimen);
    });
    await renderPictures(dir, pictures, random);
    const categoryRecords = categories.map((c) =>
      year === 2022 ? { category_id: c.id, scientificName: c.name, family: c.family, genus: c.genus } : c,
    );
    const encoding = year === 2020 ? 'latin1' : 'utf8';
    await writeFileAtomic(
      join(dir, cocoLayout(year, 'train').metadata),
      Buffer.from(JSON.stringify({ images: images.train, annotations, categories: categoryRecords }), encoding),
    );
    await writeFileAtomic(
      join(dir, cocoLayout(year, 'test').metadata),
      Buffer.from(JSON.stringify(year === 2022 ? images.test : { images: images.test }), encoding),
    );
  }
  solution.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  await writeCsvAtomic(
    join(dir, 'sample_submission.csv'),
    [submission.idColumn, submission.labelColumn],
    solution.map(([id]) => [id!, '0']),
  );
  await writeCsvAtomic(
    join(dir, SAMPLE_SOLUTION_FILE),
    [submission.idColumn, submission.labelColumn, 'Usage'],
    solution,
  );
}
